"""TRADES (Zhang et al. 2019) on MNIST.

Clean cross-entropy plus beta times the KL divergence to the prediction on a KL-maximising
PGD example (beta 1.0, the value of TRADES' MNIST script).

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/trades.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/trades.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Zhang, Yu, Jiao, Xing, El Ghaoui, Jordan, "Theoretically Principled Trade-off between
Robustness and Accuracy", ICML 2019.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/trades"
    config.method = method_config("trades", beta=1.0)
    return config
