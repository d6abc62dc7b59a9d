"""FAT, friendly adversarial training (Zhang et al. 2020), on MNIST.

Cross-entropy on early-stopped PGD-K-tau examples (tau 1: stop one step after the example is
misclassified). The registry's FAT takes a fixed tau; the paper's CIFAR schedule (0, 1, 2) is not
a knob.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/fat.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/fat.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Zhang, Xu, Han, Niu, Cui, Sugiyama, Kankanhalli, "Attacks Which Do Not Kill Training
Make Adversarial Learning Stronger", ICML 2020.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/fat"
    config.method = method_config("fat", tau=1)
    return config
