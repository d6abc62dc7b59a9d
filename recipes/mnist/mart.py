"""MART (Wang et al. 2020) on MNIST.

Boosted cross-entropy on PGD examples plus beta times the KL divergence weighted by the
misclassification of the clean example (1 - p_y(x)); beta 6.0, the paper's CIFAR-10 value (no
MNIST value was found in the reference code). Evaluate it with the "standard" protocol: MART is
known to lose most under AutoAttack.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/mart.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/mart.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Wang, Zou, Yi, Bailey, Ma, Gu, "Improving Adversarial Robustness Requires Revisiting
Misclassified Examples", ICLR 2020.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/mart"
    config.method = method_config("mart", beta=6.0)
    return config
