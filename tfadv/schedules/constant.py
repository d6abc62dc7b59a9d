"""A constant schedule."""

import keras
from keras import ops

from tfadv.schedules.schedule import Schedule
from tfadv.utils import validation


@keras.saving.register_keras_serializable(package="tfadv")
class Constant(Schedule):
    """The same value at every epoch.

    Args:
        value: float. Defaults to `0.0`.

    Example:

    ```python
    eps = tfadv.schedules.Constant(0.3)
    ```
    """

    def __init__(self, value=0.0):
        self.constant = validation.check_number("value", value)

    def value(self, progress):
        return ops.convert_to_tensor(self.constant, "float32") + 0.0 * progress

    def bounds(self):
        return self.constant, self.constant

    def get_config(self):
        return {"value": self.constant}
