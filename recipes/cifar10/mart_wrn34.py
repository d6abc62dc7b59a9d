"""MART (Wang et al. 2020) of a WRN-34-10 on CIFAR-10.

Boosted cross-entropy on PGD examples plus beta 6 times the KL divergence weighted by the
misclassification of the clean example; PGD-10 with step 0.007 at eps 8/255; SGD 0.1, momentum
0.9, weight decay 2e-4, batch 128, 76 epochs with the learning rate divided by 10 for the last two
(1-based epochs 75 and 76: boundary 74), as in the reference `train_wideresnet.py`. MART's
AutoAttack accuracy is known to fall far below its PGD accuracy: read the "standard" protocol's
worst case, not the PGD-20 line.

Target (published, CIFAR-10 test set, eps 8/255): the paper's WRN-34-10 white-box table could not be
checked from this machine, so no number of it is quoted here. Published numbers that could be
checked (AWP README leaderboard): MART with 500K extra unlabeled images, WRN-28-10: 87.50% clean,
65.04% reported, 56.29% AutoAttack (a different setting from this recipe's); MART-AWP, WRN-34-10:
84.43% clean, 54.23% AutoAttack.
This recipe was run here only as a smoke test (`--smoke`: one epoch on random images of CIFAR-10's
shape with a small network, since this machine has neither the data nor a GPU); it has not been
trained to a target here, and no result is claimed.

Command (a GPU machine; the first run downloads CIFAR-10 through TensorFlow Datasets):

    tfadv train --config recipes/cifar10/mart_wrn34.py

Smoke run:

    tfadv train --config recipes/cifar10/mart_wrn34.py --smoke

Reference: Wang, Zou, Yi, Bailey, Ma, Gu, "Improving Adversarial Robustness Requires Revisiting
Misclassified Examples", ICLR 2020.
"""

from tfadv.experiment import method_config
from tfadv.experiment.cifar10 import get_config as cifar10_config


def get_config():
    config = cifar10_config()
    config.workdir = "artifacts/cifar10/mart_wrn34"
    config.method = method_config("mart", beta=6.0)
    config.attack.step_size = 0.007
    config.epochs = 76
    config.lr_schedule.boundaries = (74,)
    config.lr_schedule.factors = (0.1,)
    return config
