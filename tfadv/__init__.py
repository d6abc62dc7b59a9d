"""tfadv: adversarial training for Keras 3 / TensorFlow image classifiers through `model.fit`."""

__version__ = "0.1.0"

from tfadv import attacks  # noqa: E402,F401
from tfadv import schedules  # noqa: E402,F401
from tfadv.adv_model import AdvModel  # noqa: E402,F401
from tfadv import methods  # noqa: E402,F401
