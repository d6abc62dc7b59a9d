"""tfadv: adversarial training for Keras 3 / TensorFlow image classifiers through `model.fit`."""

__version__ = "0.1.0"

from tfadv import (  # noqa: E402
    attacks,
    data,
    distribute,
    evaluation,
    export,
    layers,
    methods,
    models,
    schedules,
)
from tfadv.adv_model import AdvModel  # noqa: E402
from tfadv.attack_budget import AttackBudget  # noqa: E402
from tfadv.loss_result import LossResult  # noqa: E402

__all__ = [
    "AdvModel",
    "AttackBudget",
    "LossResult",
    "attacks",
    "data",
    "distribute",
    "evaluation",
    "export",
    "layers",
    "methods",
    "models",
    "schedules",
]
