"""MAT, mixed multi-norm adversarial training (Tramer and Boneh 2019), on MNIST.

Each batch trains on l-inf PGD (eps 0.3) or l2 PGD (eps 2.0) examples, picked at random
(strategy "rand"); the report is l-inf at eps 0.3.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/mat.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/mat.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Tramer, Boneh, "Adversarial Training and Robustness for Multiple Perturbations",
NeurIPS 2019.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/mat"
    config.method = method_config("mat", l2_eps=2.0, strategy="rand")
    return config
