"""PGD-AT (Madry et al. 2018) of a WRN-34-10 on CIFAR-10.

PGD-10 (step 2/255, random start) at eps 8/255; SGD 0.1, momentum 0.9, weight decay 2e-4,
batch 128, 200 epochs with the learning rate divided by 10 at epochs 100 and 150 (Madry's 80k
steps, in epochs), the epoch kept by validation PGD-10 accuracy (early stopping in the manner
of Rice et al. 2020).

Target (published, CIFAR-10 test set, eps 8/255):
87.3% clean, 45.8% PGD-20 (Madry et al.; AutoAttack 44.04% on the released model).
This recipe was run here only as a smoke test (`--smoke`: one epoch on random images of CIFAR-10's
shape with a small network, since this machine has neither the data nor a GPU); it has not been
trained to the target here, and no result is claimed.

Command (a GPU machine; the first run downloads CIFAR-10 through TensorFlow Datasets):

    tfadv train --config recipes/cifar10/pgd_at_wrn34.py

Smoke run:

    tfadv train --config recipes/cifar10/pgd_at_wrn34.py --smoke

Reference: Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to
Adversarial Attacks", ICLR 2018.
"""

from tfadv.experiment import method_config
from tfadv.experiment.cifar10 import get_config as cifar10_config


def get_config():
    config = cifar10_config()
    config.workdir = "artifacts/cifar10/pgd_at_wrn34"
    config.method = method_config("pgdat")
    config.epochs = 200
    config.lr_schedule.boundaries = (100, 150)
    config.lr_schedule.factors = (0.1, 0.01)
    return config
