"""BIPARO Figure 2 on MNIST: robust overfitting, with and without robust early stopping.

PGD-AT of `compact_cnn` (`mnist/pgd_at.py`) under a step learning-rate schedule (Adam 1e-3, times
0.1 after half the epochs and 0.01 after three quarters, the report's 40-epoch drops at 20 and 30),
trained twice with the same seed: once kept at its last epoch (`validation.monitor="last"`: no early
stopping) and once at the epoch of best validation PGD-10 accuracy (robust early stopping, Rice et
al.). `curves.png` plots the validation PGD-10 accuracy (200 held-out training digits, eps 0.3) per
epoch of both rows, the kept epoch starred; the table gives their test accuracy under the
"standard" protocol.

Reduced budget (the default): 8 epochs on the first 1,000 training digits, epsilon ramped over the
first epoch, evaluation on the first 100 test digits (robust overfitting needs long training: at
this budget the curves may not turn down):

    tfadv table --config recipes/tables/biparo_figure2.py

The same reduced budget at eps 0.1, where its models are robust (the file's argument is the l-inf
radius of training and evaluation; measured: `docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/biparo_figure2.py:0.1

Full budget (the report's 40 epochs with drops at 20 and 30, all 10,000 digits, 500 validation,
5,000 test digits):

    tfadv table --config recipes/tables/biparo_figure2.py --config.common.epochs=40 \\
        --config.common.lr_schedule.boundaries='(20, 30)' --config.common.data.train_limit=10000 \\
        --config.common.data.validation_size=500 --config.common.evaluation.limit=5000

Smoke run (one epoch on 128 digits per row; not a result):

    tfadv table --config recipes/tables/biparo_figure2.py --smoke

Reference: BIPARO team, "Adversarial training for image classification", 2021, Figure 2; Rice,
Wong, Kolter, "Overfitting in adversarially robust deep learning", ICML 2020.
"""

from tfadv.experiment.table_config import base_config, budget, radii, row


def get_config(eps="0.3"):
    linf, _ = radii(eps)
    return base_config(
        workdir="artifacts/tables/biparo_figure2",
        title="Robust overfitting and robust early stopping (BIPARO Figure 2, on MNIST)",
        claim=(
            "Past the first learning-rate drop, test robust accuracy falls while training goes on,"
            " and early stopping on robust validation accuracy avoids the loss (BIPARO report, "
            "Figure 2; Rice et al., ICML 2020)."
        ),
        common=budget(
            epochs=8,
            eps=linf,
            train_limit=1000,
            lr_schedule={"name": "piecewise", "boundaries": (4, 6), "factors": (0.1, 0.01)},
        ),
        rows=(
            row(
                "last",
                "no early stopping (last epoch)",
                "mnist/pgd_at.py",
                "validation.monitor=last",
            ),
            row(
                "early_stop",
                "robust early stopping",
                "mnist/pgd_at.py",
                "validation.monitor=val_adv_accuracy",
            ),
        ),
        curves=True,
    )
