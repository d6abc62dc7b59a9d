"""Gaussian-noise training (Cohen et al. 2019) of a ResNet-110 on CIFAR-10, for randomized smoothing.

Trains the base classifier on x + N(0, sigma^2 I) with sigma 0.25 (`--config.method.knobs.sigma=0.5`
for the paper's second level); ResNet-110 (`resnet`, depth 110) behind the reference code's
per-channel normalisation (mean 0.4914 / 0.4822 / 0.4465, std 0.2023 / 0.1994 / 0.2010, applied
after the noise); SGD 0.1, momentum 0.9, weight decay 1e-4, batch 400, 90 epochs with the
learning rate divided by 10 every 30 epochs, the last epoch kept, as in the reference
`code/train.py` and `experiments.MD`.

The certified numbers come from the smoothed classifier, not from this command:
`tfadv.certification.SmoothedClassifier(classifier, sigma=0.25).evaluate(x, y)` on the exported
`classifier.keras` (the paper certifies every 20th test image with n0 100, n 100,000, alpha
0.001). The report this recipe prints is the empirical one of the base classifier (l2, eps 0.5,
"standard" protocol), never mixed with certified numbers.

Target (published, CIFAR-10 test set, certified l2 accuracy of the smoothed ResNet-110 at radius
0 / 0.25 / 0.5 / 0.75, from the CIFAR-10 table in the source of the reference README):
sigma 0.25: 77% / 60% / 42% / 24%; sigma 0.5: 66% / 55% / 42% / 31%.
This recipe was run here only as a smoke test (`--smoke`: one epoch on random images of CIFAR-10's
shape with a ResNet-8, since this machine has neither the data nor a GPU); it has not been trained
or certified to the target here, and no result is claimed.

Command (a GPU machine; the first run downloads CIFAR-10 through TensorFlow Datasets):

    tfadv train --config recipes/cifar10/gaussian_augmentation_resnet110.py

Smoke run:

    tfadv train --config recipes/cifar10/gaussian_augmentation_resnet110.py --smoke

Reference: Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing",
ICML 2019.
"""

from tfadv.experiment import method_config
from tfadv.experiment.cifar10 import get_config as cifar10_config


def get_config():
    config = cifar10_config()
    config.workdir = "artifacts/cifar10/gaussian_augmentation_resnet110"
    config.method = method_config("gaussian_augmentation", sigma=0.25)
    config.model.name = "resnet"
    config.model.kwargs = {
        "depth": 110,
        "mean": (0.4914, 0.4822, 0.4465),
        "std": (0.2023, 0.1994, 0.2010),
    }
    config.optimizer.weight_decay = 1e-4
    config.batch_size = 400
    config.epochs = 90
    config.lr_schedule.boundaries = (30, 60)
    config.lr_schedule.factors = (0.1, 0.01)
    config.validation.monitor = "last"
    config.validation.step_size = None  # 2.5 * eps / steps at the l2 eps
    config.evaluation.norm = "l2"
    config.evaluation.eps = 0.5
    config.evaluation.pgd_step_size = 2.5 * 0.5 / 20
    config.smoke = {
        "data": {"synthetic": True},
        "evaluation": {"protocol": "quick", "pgd_steps": 5},
        "model": {"kwargs": {"depth": 8}},
    }
    return config
