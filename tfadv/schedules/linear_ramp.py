"""A linear warm-up ramp."""

import keras
from keras import ops

from tfadv.schedules.schedule import Schedule
from tfadv.utils import validation


@keras.saving.register_keras_serializable(package="tfadv")
class LinearRamp(Schedule):
    """Ramps a value linearly from `start` to `end` over `ramp_epochs`, then holds `end`.

    The ramp is per batch (progress is fractional), beginning at `begin_epoch`. Used as an epsilon warm-up:
    a small CNN trained at eps 0.3 on MNIST from the first step stays at chance, while ramping eps over
    the first epochs trains (MultiRobustness's `start_small`, METHODS.md 8.1, is a one-epoch version).

    Args:
        start: float, the value at `begin_epoch`. Defaults to `0.0`.
        end: float, the value after the ramp. Defaults to `0.3`.
        ramp_epochs: float > 0, the length of the ramp in epochs. Defaults to `5`.
        begin_epoch: float >= 0, when the ramp starts (the value is `start` before). Defaults to `0`.

    Example:

    ```python
    schedule = tfadv.schedules.LinearRamp(start=0.0, end=0.3, ramp_epochs=5)
    model = tfadv.methods.PGDAT(classifier, eps_schedule=schedule)
    ```
    """

    def __init__(self, start=0.0, end=0.3, ramp_epochs=5, begin_epoch=0):
        self.start = validation.check_number("start", start)
        self.end = validation.check_number("end", end)
        self.ramp_epochs = validation.check_number(
            "ramp_epochs", ramp_epochs, minimum=0.0, strict=True
        )
        self.begin_epoch = validation.check_number("begin_epoch", begin_epoch, minimum=0.0)

    def value(self, progress):
        fraction = ops.clip((progress - self.begin_epoch) / self.ramp_epochs, 0.0, 1.0)
        return self.start + (self.end - self.start) * fraction

    def bounds(self):
        return min(self.start, self.end), max(self.start, self.end)

    def get_config(self):
        return {
            "start": self.start,
            "end": self.end,
            "ramp_epochs": self.ramp_epochs,
            "begin_epoch": self.begin_epoch,
        }
