"""Clean/adversarial mixing on MNIST: a share of the batches stays clean.

Mode "batches": 5% of the batches are trained clean, the rest on PGD examples (the mode the
previous `tfadv train --method clean_adv_mix` used).

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/clean_adv_mix.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/clean_adv_mix.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Goodfellow, Shlens, Szegedy, "Explaining and Harnessing Adversarial Examples",
ICLR 2015 (the mixed clean/adversarial objective).
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/clean_adv_mix"
    config.method = method_config("clean_adv_mix", mode="batches")
    return config
