"""The CIFAR-10 settings the adversarial-training papers share, as a config file.

The schema's base config (`tfadv.experiment.schema`) with: CIFAR-10 through TensorFlow Datasets
(downloaded on the first run, 1,000 training images held out for validation, pad-crop-flip
augmentation), eps 8/255 without warm-up, PGD-10 training attack (step 2/255), a WRN-34-10, SGD
0.1 with momentum 0.9 and weight decay 2e-4, batch 128, a piecewise learning rate, the "standard"
(AutoAttack-style) protocol plus the papers' PGD-20 line. `--smoke` trains a WRN-10-1 on random
images of CIFAR-10's shape and reports with the "quick" protocol. The recipes under
`recipes/cifar10/` start from it.
"""

from tfadv.experiment.schema import base_config


def get_config():
    """The shared CIFAR-10 config (recipes set the method, epochs and learning-rate steps)."""
    config = base_config()
    config.data.name = "cifar10"
    config.data.validation_size = 1000
    config.data.augment = True  # pad 4, random crop, random horizontal flip
    config.data.download = True
    config.model.name = "wide_resnet"
    config.model.kwargs = {"depth": 34, "width": 10}
    config.attack.eps = 8 / 255
    config.attack.steps = 10
    config.attack.step_size = 2 / 255
    config.eps_schedule.kind = "constant"
    config.batch_size = 128
    config.optimizer.name = "sgd"
    config.optimizer.learning_rate = 0.1
    config.optimizer.momentum = 0.9
    config.optimizer.weight_decay = 2e-4
    config.lr_schedule.name = "piecewise"
    config.validation.step_size = 2 / 255
    config.evaluation.eps = 8 / 255
    config.evaluation.protocol = "standard"  # AutoAttack's APGD-CE, APGD-T and Square
    config.evaluation.pgd_steps = 20  # the papers' PGD-20 line
    config.evaluation.pgd_step_size = 2 / 255
    config.smoke = {
        "data": {"synthetic": True},
        "evaluation": {"protocol": "quick", "pgd_steps": 5},
        "model": {"kwargs": {"depth": 10, "width": 1}},
    }
    return config
