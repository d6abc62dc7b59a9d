"""A piecewise-constant schedule over whole epochs."""

import math

import keras
from keras import ops

from tfadv.schedules.schedule import Schedule
from tfadv.utils import validation


@keras.saving.register_keras_serializable(package="tfadv")
class PiecewiseConstant(Schedule):
    """A value that changes at epoch boundaries: `values[i]` from epoch `boundaries[i - 1]` on.

    Epochs are 0-based here (Keras' convention). The papers count epochs from 1: FAT's "tau = 0 for epochs
    <= 50, 1 for <= 90, 2 afterwards" is `PiecewiseConstant(boundaries=[50, 90], values=[0, 1, 2])`.
    Values may be `inf` (GAIRAT's lambda before reweighting begins).

    Args:
        boundaries: list of increasing epoch numbers (0-based) at which the value changes.
            Defaults to `()`.
        values: list with one more entry than `boundaries`. Defaults to `(0.0,)`.

    Example:

    ```python
    tau = tfadv.schedules.PiecewiseConstant(boundaries=[50, 90], values=[0, 1, 2])
    ```
    """

    def __init__(self, boundaries=(), values=(0.0,)):
        boundaries = [
            validation.check_number(f"boundaries[{i}]", b, minimum=0.0)
            for i, b in enumerate(boundaries)
        ]
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"`boundaries` must be increasing. Received: boundaries={boundaries}")
        values = [float(v) for v in values]
        if any(math.isnan(v) for v in values):
            raise ValueError(f"`values` must not contain NaN. Received: values={values}")
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "`values` must have one more entry than `boundaries`. Received: "
                f"boundaries={boundaries}, values={values}"
            )
        self.boundaries = boundaries
        self.values = values

    def value(self, progress):
        table = ops.convert_to_tensor(self.values, "float32")
        if not self.boundaries:
            return table[0] + 0.0 * progress
        passed = ops.floor(progress) >= ops.convert_to_tensor(self.boundaries, "float32")
        return ops.take(table, ops.sum(ops.cast(passed, "int32")))

    def bounds(self):
        return min(self.values), max(self.values)

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}
