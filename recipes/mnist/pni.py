"""PNI, parametric noise injection (He, Rakin and Fan 2019), on MNIST.

PGD-AT of a compact_cnn whose layers add trainable-scale Gaussian noise to their weights
(PNI-W, layerwise scales); attacked as a randomised model with EOT.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/pni.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/pni.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: He, Rakin, Fan, "Parametric Noise Injection: Trainable Randomness to Improve Deep
Neural Network Robustness against Adversarial Attack", CVPR 2019.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/pni"
    config.method = method_config("pgdat")
    config.model.kwargs = {"width": 1, "pni": True}
    return config
