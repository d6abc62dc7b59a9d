"""AdvProp (Xie et al. 2020) on MNIST, with a dual-batch-norm ResNet-8.

Clean and PGD examples through separate batch-norm statistics (the method's builder option
`dual_bn=True`, which the runner passes to the builder), mean of the two losses; the clean
batch norm serves at test time. A ResNet (depth 8) replaces compact_cnn, which has no batch norm.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/advprop.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/advprop.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Xie, Tan, Gong, Wang, Yuille, Le, "Adversarial Examples Improve Image Recognition",
CVPR 2020.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/advprop"
    config.method = method_config("advprop", combine="mean")
    config.model.name = "resnet"
    config.model.kwargs = {"depth": 8}
    return config
