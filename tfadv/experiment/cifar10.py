"""The CIFAR-10 settings the adversarial-training papers share: the base of `recipes/cifar10/`.

`--smoke` trains a WRN-10-1 on random images of CIFAR-10's shape and reports with "quick".
"""

from tfadv.experiment.schema import base_config


def get_config():
    """The shared CIFAR-10 config (recipes set the method, epochs and learning-rate steps)."""
    config = base_config()
    config.update({
        # TensorFlow Datasets downloads it; pad 4, random crop, random horizontal flip.
        "data": {"name": "cifar10", "validation_size": 1000, "augment": True, "download": True},
        "model": {"name": "wide_resnet", "kwargs": {"depth": 34, "width": 10}},
        "attack": {"eps": 8 / 255, "steps": 10, "step_size": 2 / 255},
        "eps_schedule": {"kind": "constant"},
        "batch_size": 128,
        "optimizer": {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "weight_decay": 2e-4},
        "lr_schedule": {"name": "piecewise"},
        "validation": {"step_size": 2 / 255},
        # "standard": AutoAttack's APGD-CE, APGD-T and Square; with the papers' PGD-20 line.
        "evaluation": {"eps": 8 / 255, "protocol": "standard", "pgd_steps": 20,
                       "pgd_step_size": 2 / 255},
        "smoke": {"data": {"synthetic": True}, "evaluation": {"protocol": "quick", "pgd_steps": 5},
                  "model": {"kwargs": {"depth": 10, "width": 1}}},
    })  # fmt: skip
    return config
