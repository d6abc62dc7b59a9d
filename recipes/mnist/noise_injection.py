"""PGD-AT of a compact_cnn with Gaussian noise injection at its input (sigma 0.1), on MNIST.

The model adds N(0, 0.1^2) noise to its input in training and at inference, so the report attacks
it as a randomised model (Expectation over Transformation, majority vote).

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/noise_injection.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/noise_injection.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Liu, Cheng, Zhang, Hsieh, "Towards Robust Neural Networks via Random
Self-ensemble", ECCV 2018 (noise layers); Athalye, Carlini, Wagner, ICML 2018 (EOT).
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/noise_injection"
    config.method = method_config("pgdat")
    config.model.kwargs = {"width": 1, "noise_stddev": 0.1}
    return config
