"""Fast-AT (Wong, Rice and Kolter 2020): FGSM with a random start, on MNIST.

One FGSM step of size 1.25 eps (0.375 at eps 0.3, the paper's MNIST alpha) from a uniform random
start in the eps ball.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/fast_at.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/fast_at.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Wong, Rice, Kolter, "Fast is better than free: Revisiting adversarial training",
ICLR 2020.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/fast_at"
    config.method = method_config("fast_at", alpha_ratio=1.25)
    return config
