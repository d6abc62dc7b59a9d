"""BIPARO Table 1 on MNIST: training attack x evaluation attack.

Three trainings of `compact_cnn`: l-inf PGD-10 at eps 0.3 (`mnist/pgd_at.py`), l2 PGD-10 at eps 2.0
(the same recipe with `attack.norm=l2`), and l-inf FGSM training (`mnist/fast_at.py`: Wong et al.'s
RS-FGSM, one step of 1.25 eps from a random start; plain FGSM training from the clean image is not a
method knob here). Each is evaluated under the "standard" protocol (l-inf eps 0.3), and under l-inf
PGD-40 (eps 0.3), l2 PGD-40 (eps 2.0) and l-inf FGSM (eps 0.3), the report's three attacks. The
per-epoch validation (and the kept epoch) uses l-inf PGD-10 at eps 0.3 for every row.

Reduced budget (the default): 3 epochs on the first 2,000 training digits (200 more held out for
validation), epsilon ramped over the first epoch, evaluation on the first 100 test digits:

    tfadv table --config recipes/tables/biparo_table1.py

The same reduced budget at eps 0.1, where its models are robust (the file's argument is the l-inf
radius of training and evaluation and the l2 radii scale with it (x 20 / 3: 0.6667 for 2.0);
measured: `docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/biparo_table1.py:0.1

Full budget (the main job's: 20 epochs on all 10,000 digits, 500 validation, a 5-epoch ramp, the
5,000 test digits):

    tfadv table --config recipes/tables/biparo_table1.py --config.common.epochs=20 \\
        --config.common.data.train_limit=10000 --config.common.data.validation_size=500 \\
        --config.common.eps_schedule.ramp_epochs=5 --config.common.evaluation.limit=5000

Smoke run (one epoch on 128 digits per row; not a result):

    tfadv table --config recipes/tables/biparo_table1.py --smoke

Reference: Bigaud, Papereux, Rolland (BIPARO team), "Adversarial training for image
classification", 2021, Table 1 (CIFAR-10, a basic CNN, 40 epochs).
"""

from tfadv.experiment.table_config import base_config, budget, first_order_evaluations, radii, row


def get_config(eps="0.3"):
    linf, l2 = radii(eps)
    return base_config(
        workdir="artifacts/tables/biparo_table1",
        title="Training attack x evaluation attack (BIPARO Table 1, on MNIST)",
        claim=(
            "PGD training yields good robustness against all first-order attacks, and each "
            "training is most robust against the attack it was trained with (BIPARO report, Table "
            "1)."
        ),
        common=budget(eps=linf),
        rows=(
            row("pgd_linf", "l-inf PGD training", "mnist/pgd_at.py"),
            row(
                "pgd_l2",
                f"l2 PGD training (eps {l2:g})",
                "mnist/pgd_at.py",
                "attack.norm=l2",
                f"attack.eps={l2:g}",
            ),
            row("fgsm_linf", "l-inf FGSM training (RS-FGSM)", "mnist/fast_at.py"),
        ),
        evaluations=first_order_evaluations(linf, l2),
    )
