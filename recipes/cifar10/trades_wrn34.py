"""TRADES (Zhang et al. 2019) of a WRN-34-10 on CIFAR-10.

beta 6, KL-PGD with K = 10 steps of 0.007 at eps 0.031 (8/255); SGD 0.1, momentum 0.9, weight
decay 2e-4, batch 128, 76 epochs with the learning rate divided by 10 at epoch 75.

Target (published, CIFAR-10 test set, eps 8/255):
84.92% clean, 56.61% PGD-20, AutoAttack 53.08% (TRADES README).
This recipe was run here only as a smoke test (`--smoke`: one epoch on random images of CIFAR-10's
shape with a small network, since this machine has neither the data nor a GPU); it has not been
trained to the target here, and no result is claimed.

Command (a GPU machine; the first run downloads CIFAR-10 through TensorFlow Datasets):

    tfadv train --config recipes/cifar10/trades_wrn34.py

Smoke run:

    tfadv train --config recipes/cifar10/trades_wrn34.py --smoke

Reference: Zhang, Yu, Jiao, Xing, El Ghaoui, Jordan, "Theoretically Principled Trade-off between
Robustness and Accuracy", ICML 2019.
"""

from tfadv.experiment import method_config
from tfadv.experiment.cifar10 import get_config as cifar10_config


def get_config():
    config = cifar10_config()
    config.workdir = "artifacts/cifar10/trades_wrn34"
    config.method = method_config("trades", beta=6.0)
    config.attack.step_size = 0.007
    config.epochs = 76
    config.lr_schedule.boundaries = (75,)
    config.lr_schedule.factors = (0.1,)
    return config
