"""TRADES-AWP (Wu et al. 2020) on MNIST.

TRADES (beta 1.0, its MNIST value) inside adversarial weight perturbation: each step the
weights are moved by gamma (5e-3, the reference TRADES-AWP value) times their norm towards a
higher adversarial loss, the gradient is taken there, and the unperturbed weights are updated.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/awp_trades.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/awp_trades.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Wu, Xia, Wang, "Adversarial Weight Perturbation Helps Robust Generalization",
NeurIPS 2020.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/awp_trades"
    config.method = method_config("awp", inner="trades", beta=1.0, gamma=5e-3)
    return config
