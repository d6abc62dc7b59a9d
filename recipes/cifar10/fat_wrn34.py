"""FAT, friendly adversarial training (Zhang et al. 2020), of a WRN-34-10 on CIFAR-10.

Early-stopped PGD-K-tau (K = 10 steps of 0.007 at eps 8/255); SGD 0.1, momentum 0.9, weight
decay 2e-4, batch 128, 120 epochs, learning rate x0.1 at 60, x0.01 at 90, x0.005 at 110. The
paper's network is Madry's WRN-32-10 (5 units per stage, as `wide_resnet(depth=34)` here) and its
tau grows 0 -> 1 -> 2 over training; the registry's FAT takes one tau, 2 here (its final value).

Target (published, CIFAR-10 test set, eps 8/255):
89.34% clean, 46.13% PGD-20 (FAT README, eps 8/255).
This recipe was run here only as a smoke test (`--smoke`: one epoch on random images of CIFAR-10's
shape with a small network, since this machine has neither the data nor a GPU); it has not been
trained to the target here, and no result is claimed.

Command (a GPU machine; the first run downloads CIFAR-10 through TensorFlow Datasets):

    tfadv train --config recipes/cifar10/fat_wrn34.py

Smoke run:

    tfadv train --config recipes/cifar10/fat_wrn34.py --smoke

Reference: Zhang, Xu, Han, Niu, Cui, Sugiyama, Kankanhalli, "Attacks Which Do Not Kill Training
Make Adversarial Learning Stronger", ICML 2020.
"""

from tfadv.experiment import method_config
from tfadv.experiment.cifar10 import get_config as cifar10_config


def get_config():
    config = cifar10_config()
    config.workdir = "artifacts/cifar10/fat_wrn34"
    config.method = method_config("fat", tau=2)
    config.attack.step_size = 0.007
    config.epochs = 120
    config.lr_schedule.boundaries = (60, 90, 110)
    config.lr_schedule.factors = (0.1, 0.01, 0.005)
    return config
