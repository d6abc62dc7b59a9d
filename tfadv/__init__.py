"""tfadv: adversarial training for Keras 3 / TensorFlow image classifiers through `model.fit`."""

from tfadv import (  # noqa: E402
    _quiet,  # noqa: E402, F401  (the CLI's quiet start-up, before TensorFlow loads)
    attacks,
    callbacks,
    certification,
    data,
    distribute,
    evaluation,
    export,
    layers,
    methods,
    models,
    schedules,
)
from tfadv._version import __version__ as __version__
from tfadv.adv_model import AdvModel  # noqa: E402
from tfadv.attack_budget import AttackBudget  # noqa: E402
from tfadv.loss_result import LossResult  # noqa: E402

__all__ = [
    "AdvModel",
    "AttackBudget",
    "LossResult",
    "attacks",
    "callbacks",
    "certification",
    "data",
    "distribute",
    "evaluation",
    "export",
    "layers",
    "methods",
    "models",
    "schedules",
]
