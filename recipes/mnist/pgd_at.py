"""PGD-AT (Madry et al. 2018) on MNIST, under its recipe name (same config as the default).

PGD adversarial training: the loss is the cross-entropy on PGD examples only.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 5-epoch epsilon ramp, Adam 1e-3 with cosine decay, 20 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol + PGD-100 on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/pgd_at.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/pgd_at.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to
Adversarial Attacks", ICLR 2018.
"""

from tfadv.experiment import method_config
from tfadv.experiment.defaults import get_config as main_job


def get_config():
    config = main_job()
    config.workdir = "artifacts/mnist/pgd_at"
    config.method = method_config("pgdat")
    return config
