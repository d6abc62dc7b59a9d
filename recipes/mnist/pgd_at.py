"""PGD-AT (Madry et al. 2018) on MNIST for 20 epochs: the main job's recipe, trained longer.

PGD adversarial training: the loss is the cross-entropy on PGD examples only. The main job's
(`recipes/mnist/default.py`) `compact_cnn`, PGD budget eps 0.3 / 10 steps / step 0.075, Adam 1e-3
with cosine decay, batch 64, the epoch kept by validation PGD-10 accuracy, with 20 epochs (the
epsilon ramped over the first 5) instead of 15 (ramped over 4), and a PGD-100 line (step 0.01)
after the "quick" protocol for comparison with hand-written loops.

Command (from the repository root):

    tfadv train --config recipes/mnist/pgd_at.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/pgd_at.py --smoke

Measured numbers (with the command that made them): `recipes/README.md`.

Reference: Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to
Adversarial Attacks", ICLR 2018.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/pgd_at"
    config.method = method_config("pgdat")
    config.epochs = 20
    config.eps_schedule.ramp_epochs = 5.0
    config.evaluation.pgd_steps = 100
    return config
