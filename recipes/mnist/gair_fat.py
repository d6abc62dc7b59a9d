"""GAIR-FAT (Zhang et al. 2021) on MNIST: GAIRAT's reweighting on FAT's early-stopped PGD.

Early-stopped PGD-K-tau (tau 1) with GAIR weights (lambda -1) from epoch 8 of 15 (half-way).

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/gair_fat.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/gair_fat.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Zhang et al., "Geometry-aware Instance-reweighted Adversarial Training", ICLR 2021.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/gair_fat"
    config.method = method_config("gair_fat", tau=1, lambda_=-1.0, begin_epoch=7)
    config.smoke.method = {"knobs": {"begin_epoch": 0}}  # reweight in the one smoke epoch
    return config
