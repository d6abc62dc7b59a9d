"""TRADES-AWP (Wu et al. 2020) of a WRN-34-10 on CIFAR-10.

TRADES (beta 6, KL-PGD with K = 10 steps of 2/255 at eps 8/255) inside adversarial weight
perturbation (gamma 5e-3, from the reference script's 1-based epoch 10: `warmup_epochs` 9); SGD
0.1, momentum 0.9, weight decay 5e-4, batch 128, 200 epochs with the learning rate divided by 10
from the 1-based epoch 100 and by 100 from epoch 150 (boundaries 99 and 149), as in the reference
`trades_AWP/train_trades_cifar.py`.

Target (published, CIFAR-10 test set, eps 8/255):
85.36% clean, 56.17% AutoAttack (AWP README; RobustBench `Wu2020Adversarial`).
This recipe was run here only as a smoke test (`--smoke`: one epoch on random images of CIFAR-10's
shape with a small network, since this machine has neither the data nor a GPU); it has not been
trained to the target here, and no result is claimed.

Command (a GPU machine; the first run downloads CIFAR-10 through TensorFlow Datasets):

    tfadv train --config recipes/cifar10/awp_trades_wrn34.py

Smoke run:

    tfadv train --config recipes/cifar10/awp_trades_wrn34.py --smoke

Reference: Wu, Xia, Wang, "Adversarial Weight Perturbation Helps Robust Generalization",
NeurIPS 2020.
"""

from tfadv.experiment import method_config
from tfadv.experiment.cifar10 import get_config as cifar10_config


def get_config():
    config = cifar10_config()
    config.workdir = "artifacts/cifar10/awp_trades_wrn34"
    config.method = method_config("awp", inner="trades", beta=6.0, gamma=5e-3, warmup_epochs=9)
    config.optimizer.weight_decay = 5e-4
    config.epochs = 200
    config.lr_schedule.boundaries = (99, 149)
    config.lr_schedule.factors = (0.1, 0.01)
    return config
