"""FAT for TRADES (Zhang et al. 2020) on MNIST.

TRADES' loss (beta 1.0) on early-stopped KL-PGD examples (tau 1).

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/fat_trades.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/fat_trades.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Zhang et al., "Attacks Which Do Not Kill Training Make Adversarial Learning
Stronger", ICML 2020 (FAT for TRADES).
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/fat_trades"
    config.method = method_config("fat_trades", beta=1.0, tau=1)
    return config
