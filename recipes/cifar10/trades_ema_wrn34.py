"""TRADES (Zhang et al. 2019) with weight averaging of a WRN-34-10 on CIFAR-10.

TRADES as in `recipes/cifar10/trades_wrn34.py` (beta 6, KL-PGD with K = 10 steps of 0.007 at eps
8/255; SGD 0.1, momentum 0.9, weight decay 2e-4, batch 128, 76 epochs, learning rate / 10 at
epoch 75), with the exponential moving average of the weights (`optimizer.ema_momentum` 0.995,
Gowal et al.'s decay): validation scores the averaged weights, the kept epoch is chosen on them,
and the evaluated and exported classifier is the average of that epoch.

Target (published, CIFAR-10 test set, eps 8/255): no published run has exactly this setting.
Reference points: TRADES without averaging, WRN-34-10: 84.92% clean, 53.08% AutoAttack (TRADES
README); Gowal et al. (TRADES with EMA 0.995 in their own longer schedule, no extra data),
WRN-34-20: 85.64% clean, 56.82% robust (RobustBench `Gowal2020Uncovering_34_20`). Add
`--config.model.kwargs.width=20` for their network (not their schedule).
This recipe was run here only as a smoke test (`--smoke`: one epoch on random images of CIFAR-10's
shape with a small network, since this machine has neither the data nor a GPU); it has not been
trained to a target here, and no result is claimed.

Command (a GPU machine; the first run downloads CIFAR-10 through TensorFlow Datasets):

    tfadv train --config recipes/cifar10/trades_ema_wrn34.py

Smoke run:

    tfadv train --config recipes/cifar10/trades_ema_wrn34.py --smoke

Reference: Zhang, Yu, Jiao, Xing, El Ghaoui, Jordan, "Theoretically Principled Trade-off between
Robustness and Accuracy", ICML 2019; Gowal, Qin, Uesato, Mann, Kohli, "Uncovering the Limits of
Adversarial Training against Norm-Bounded Adversarial Examples", arXiv:2010.03593.
"""

from tfadv.experiment import method_config
from tfadv.experiment.cifar10 import get_config as cifar10_config


def get_config():
    config = cifar10_config()
    config.workdir = "artifacts/cifar10/trades_ema_wrn34"
    config.method = method_config("trades", beta=6.0)
    config.attack.step_size = 0.007
    config.optimizer.ema_momentum = 0.995
    config.epochs = 76
    config.lr_schedule.boundaries = (75,)
    config.lr_schedule.factors = (0.1,)
    return config
