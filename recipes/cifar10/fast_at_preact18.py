"""Fast-AT (Wong, Rice and Kolter 2020) of a PreAct-ResNet-18 on CIFAR-10.

FGSM from a uniform random start, step 10/255 (1.25 eps) at eps 8/255; SGD, momentum 0.9,
weight decay 5e-4, batch 128, 15 epochs. The paper's cyclic learning rate (0 -> 0.2 -> 0,
linear) is approximated by a linear warm-up to 0.2 over 7.5 epochs and a cosine decay to 0
(`lr_schedule.name = "cosine"`, `warmup_epochs = 7.5`); the paper also trains in mixed
precision, this recipe in float32.

Target (published, CIFAR-10 test set, eps 8/255):
86.06% clean, 46.06% PGD (Fast-AT README; AutoAttack 43.21%).
This recipe was run here only as a smoke test (`--smoke`: one epoch on random images of CIFAR-10's
shape with a small network, since this machine has neither the data nor a GPU); it has not been
trained to the target here, and no result is claimed.

Command (a GPU machine; the first run downloads CIFAR-10 through TensorFlow Datasets):

    tfadv train --config recipes/cifar10/fast_at_preact18.py

Smoke run:

    tfadv train --config recipes/cifar10/fast_at_preact18.py --smoke

Reference: Wong, Rice, Kolter, "Fast is better than free: Revisiting adversarial training", ICLR
2020.
"""

from tfadv.experiment import method_config
from tfadv.experiment.cifar10 import get_config as cifar10_config


def get_config():
    config = cifar10_config()
    config.workdir = "artifacts/cifar10/fast_at_preact18"
    config.model.name = "preact_resnet18"
    config.model.kwargs = {"width": 64}
    config.method = method_config("fast_at", alpha_ratio=1.25)
    config.epochs = 15
    config.optimizer.learning_rate = 0.2  # the cyclic schedule's peak
    config.optimizer.weight_decay = 5e-4
    config.lr_schedule.name = "cosine"
    config.lr_schedule.alpha = 0.0
    config.lr_schedule.warmup_epochs = 7.5
    config.smoke.model = {"kwargs": {"width": 8}}
    config.smoke.lr_schedule = {"warmup_epochs": 0.5}  # the smoke run has one epoch
    return config
