"""Gaussian-noise training (Cohen et al. 2019) on MNIST, the base of randomized smoothing.

Trains on x + N(0, sigma^2) with sigma 0.5; certify the trained classifier with
`tfadv.certification.SmoothedClassifier(classifier, sigma=0.5).evaluate(x, y)` (certified l2
radii; `benchmarks/certification.py` measures certified accuracy). The report this recipe prints is
the empirical one (the base classifier under the "quick" protocol), never mixed with certified
numbers.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/gaussian_augmentation.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/gaussian_augmentation.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing",
ICML 2019.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/gaussian_augmentation"
    config.method = method_config("gaussian_augmentation", sigma=0.5)
    return config
