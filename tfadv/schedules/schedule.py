"""Base class of epoch-driven hyperparameter schedules."""

from keras import ops


class Schedule:
    """A hyperparameter as a function of training progress, measured in epochs.

    `AdvModel` keeps the progress (`epoch + batch / steps_per_epoch`, 0-based) in its `epoch_progress`
    variable, which the compiled `train_step` computes before every batch from a per-epoch anchor (no
    host round trip per batch; exact with any `steps_per_execution` and under `tf.distribute`);
    methods evaluate their schedules on it inside the step. Because a callback re-anchors the progress
    at the epoch number Keras passes to it, a run resumed with `keras.callbacks.BackupAndRestore`
    (or `initial_epoch`) continues the schedule where it stopped.

    Subclasses implement `value(progress)` with TensorFlow ops and `get_config`.
    """

    def __call__(self, progress):
        return self.value(ops.cast(progress, "float32"))

    def value(self, progress):
        raise NotImplementedError(f"{type(self).__name__} must implement `value(progress)`.")

    def bounds(self):
        """`(lowest, highest)` value the schedule ever takes (used to validate it up front)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `bounds()`.")

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
