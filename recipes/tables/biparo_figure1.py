"""BIPARO Figure 1 on MNIST: training epsilon against a fixed attack epsilon, plotted.

PGD-AT of `compact_cnn` (`mnist/pgd_at.py`) at training eps 0.1, 0.2, 0.3 and 0.4 (a sweep of
`attack.eps`, one row each), every model kept at its last epoch (so that every radius gets the same
training; no validation split is held out) and evaluated at the fixed radius 0.3 under the
"standard" protocol; `sweep.png` plots worst-case (solid) and clean (dashed) accuracy against the
training eps. `recipes/tuning/mnist_tune.py` asks the same question with Keras Tuner and a grid of
test radii.

Reduced budget (the default): 3 epochs on the first 2,000 training digits, epsilon ramped over the
first epoch, evaluation on the first 100 test digits:

    tfadv table --config recipes/tables/biparo_figure1.py

The same reduced budget at eps 0.1, where its models are robust (the file's argument is the l-inf
radius of training and evaluation and the swept training radii with it (1/3 to 4/3 of it); measured:
`docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/biparo_figure1.py:0.1

Full budget (20 epochs on all 10,000 digits, a 5-epoch ramp, 5,000 test digits):

    tfadv table --config recipes/tables/biparo_figure1.py --config.common.epochs=20 \\
        --config.common.data.train_limit=10000 --config.common.eps_schedule.ramp_epochs=5 \\
        --config.common.evaluation.limit=5000

Smoke run (one epoch on 128 digits per row; not a result):

    tfadv table --config recipes/tables/biparo_figure1.py --smoke

Reference: BIPARO team, "Adversarial training for image classification", 2021, Figure 1 (CIFAR-10,
PGD l-inf attack at eps 0.03).
"""

from tfadv.experiment.table_config import base_config, budget, radii, row


def get_config(eps="0.3"):
    linf, _ = radii(eps)
    return base_config(
        workdir="artifacts/tables/biparo_figure1",
        title=(
            f"Training epsilon against a fixed attack epsilon {linf:g} (BIPARO Figure 1, on MNIST)"
        ),
        claim=(
            "The most efficient training epsilon is the attack's, and over-estimating it is less "
            "damaging than under-estimating it (BIPARO report, Figure 1)."
        ),
        common=budget(eps=linf, data={"validation_size": 0}, validation={"monitor": "last"}),
        rows=(row("pgd_at", "PGD-AT", "mnist/pgd_at.py"),),
        # a third of the radius to four thirds of it: 0.1, 0.2, 0.3, 0.4 at 0.3
        sweep={
            "field": "attack.eps",
            "points": tuple(round(linf * k / 3, 4) for k in (1, 2, 3, 4)),
        },
    )
