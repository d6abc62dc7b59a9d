"""GAIRAT (Zhang et al. 2021) of a WRN-34-10 on CIFAR-10.

PGD-10 (step 0.007, eps 8/255) whose losses are reweighted (lambda -1) from epoch 61 of 120
(`begin_epoch` 60, 0-based); SGD 0.1, momentum 0.9, weight decay 2e-4, batch 128, learning rate
/10 at 60, /100 at 90, /200 at 110. The paper's network is WRN-32-10 (as `depth=34` here).
GAIRAT's PGD robustness is known not to survive AutoAttack (its authors, in their repository's
issue 1): read the "standard" protocol's worst case, not the PGD-20 line.

Target (published, CIFAR-10 test set, eps 8/255):
85.75% clean, 57.81% PGD-20 at the best checkpoint (GAIRAT README).
This recipe was run here only as a smoke test (`--smoke`: one epoch on random images of CIFAR-10's
shape with a small network, since this machine has neither the data nor a GPU); it has not been
trained to the target here, and no result is claimed.

Command (a GPU machine; the first run downloads CIFAR-10 through TensorFlow Datasets):

    tfadv train --config recipes/cifar10/gairat_wrn34.py

Smoke run:

    tfadv train --config recipes/cifar10/gairat_wrn34.py --smoke

Reference: Zhang, Zhu, Niu, Han, Sugiyama, Kankanhalli, "Geometry-aware Instance-reweighted
Adversarial Training", ICLR 2021.
"""

from tfadv.experiment import method_config
from tfadv.experiment.cifar10 import get_config as cifar10_config


def get_config():
    config = cifar10_config()
    config.workdir = "artifacts/cifar10/gairat_wrn34"
    config.method = method_config("gairat", lambda_=-1.0, begin_epoch=60)
    config.attack.step_size = 0.007
    config.epochs = 120
    config.lr_schedule.boundaries = (60, 90, 110)
    config.lr_schedule.factors = (0.1, 0.01, 0.005)
    return config
