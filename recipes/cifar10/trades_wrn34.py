"""TRADES (Zhang et al. 2019) of a WRN-34-10 on CIFAR-10.

beta 6, KL-PGD with K = 10 steps of 0.007 at eps 0.031 (8/255); SGD 0.1, momentum 0.9, weight
decay 2e-4, batch 128, 76 epochs with the learning rate divided by 10 at epoch 75.

Target (published, CIFAR-10 test set, eps 8/255): 84.92% clean, 56.61% PGD-20, AutoAttack 53.08% (TRADES README).
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
from tfadv.experiment.defaults import get_config as main_job


def get_config():
    config = main_job()
    config.workdir = "artifacts/cifar10/trades_wrn34"
    config.data.name = "cifar10"
    config.data.validation_size = 1000
    config.data.augment = True  # pad 4, random crop, random horizontal flip
    config.data.download = True
    config.model.name = "wide_resnet"
    config.model.kwargs = {"depth": 34, "width": 10}
    config.method = method_config("trades", beta=6.0)
    config.attack.steps = 10
    config.attack.step_size = 0.007
    config.epochs = 76
    config.optimizer.weight_decay = 2e-4
    config.lr_schedule.name = "piecewise"
    config.lr_schedule.boundaries = (75,)
    config.lr_schedule.factors = (0.1,)
    config.attack.eps = 8 / 255
    config.evaluation.eps = 8 / 255
    config.evaluation.protocol = "standard"  # AutoAttack's APGD-CE, APGD-T and Square
    config.evaluation.pgd_steps = 20  # the papers' PGD-20 line
    config.evaluation.pgd_step_size = 2 / 255
    config.validation.step_size = 2 / 255
    config.eps_schedule.kind = "constant"
    config.batch_size = 128
    config.optimizer.name = "sgd"
    config.optimizer.learning_rate = 0.1
    config.optimizer.momentum = 0.9
    config.smoke = {
        "data": {"synthetic": True},
        "evaluation": {"protocol": "quick", "pgd_steps": 5},
        "model": {"kwargs": {"depth": 10, "width": 1}},
    }
    return config
