"""tfadv: adversarial training for Keras 3 / TensorFlow image classifiers through `model.fit`.

`import tfadv` imports the public modules, which registers tfadv's Keras classes (layers, attacks,
methods) for `keras.saving.load_model`, and does nothing else.
"""

from tfadv import (
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
from tfadv.adv_model import AdvModel
from tfadv.attack_budget import AttackBudget
from tfadv.loss_result import LossResult

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
