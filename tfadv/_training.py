"""Internal pieces of the training loop shared by `AdvModel` and the methods."""

import keras
import tensorflow as tf
from keras import ops

from tfadv import backend


def per_example_ce(logits, y, label_smoothing=0.0):
    """Sparse softmax cross-entropy per example, in float32."""
    logits = ops.cast(logits, "float32")
    if label_smoothing:
        num_classes = ops.shape(logits)[-1]
        target = ops.one_hot(y, num_classes) * (1.0 - label_smoothing)
        target += label_smoothing / ops.cast(num_classes, "float32")
        return ops.categorical_crossentropy(target, logits, from_logits=True)
    return ops.sparse_categorical_crossentropy(y, logits, from_logits=True)


def replicas():
    """The replicas a `tf.distribute` strategy splits the batch over (1 on other backends, whose
    `keras.distribution` averages the loss over the global batch itself)."""
    if backend.name() != "tensorflow":
        return 1
    return tf.distribute.get_strategy().num_replicas_in_sync


#: `progress_state` outside `fit`: steps -1 means "leave `epoch_progress` as assigned".
_IDLE = (0, -1, 0)


def progress_variable(name="progress_state", value=_IDLE, dtype=None):
    """A non-trainable variable the compiled step writes: `epoch_progress` or `progress_state`.

    `progress_state` is the integer `(epoch, steps_per_epoch, batch_in_epoch)` (int64 on
    TensorFlow; int32 elsewhere: JAX has no int64 without `jax_enable_x64`): `ProgressCallback`
    assigns it once per epoch (from the host); `advance_progress` derives the float32
    `epoch_progress` from it and counts the batch inside the graph. Aggregation
    `"only_first_replica"`: every replica computes the same value, so the first one's write is kept
    (the optimizer's `iterations` counter works the same way under `tf.distribute`).
    """
    if dtype is None:
        dtype = "int64" if backend.name() == "tensorflow" else "int32"
    return keras.Variable(
        list(value) if isinstance(value, tuple) else value,
        trainable=False,
        dtype=dtype,
        aggregation="only_first_replica",
        name=name,
    )


def advance_progress(epoch_progress, state):
    """In the step: `epoch_progress = epoch + batch / steps`, then counts the batch. No host round trip.

    Exact per batch whatever `steps_per_execution` is (the counter lives in the graph) and after a
    resume (the callback re-anchors it at every epoch). Outside `fit` (steps < 0) `epoch_progress`
    keeps the value it was given. Our own counter rather than `optimizer.iterations`: a
    `LossScaleOptimizer` does not count the steps it skips on overflow.
    """
    state_value = ops.convert_to_tensor(state)
    epoch, steps, batch = state_value[0], state_value[1], state_value[2]
    fraction = ops.divide_no_nan(ops.cast(batch, "float32"), ops.cast(steps, "float32"))
    progress = ops.where(
        steps >= 0, ops.cast(epoch, "float32") + fraction, ops.convert_to_tensor(epoch_progress)
    )
    epoch_progress.assign(progress)
    state.assign(ops.stack([epoch, steps, batch + 1]))
    return progress


class ProgressCallback(keras.callbacks.Callback):
    """Anchors `AdvModel.epoch_progress` once per epoch; the compiled step advances it per batch.

    At the start of epoch `e` (0-based) it assigns `progress_state = (e, steps, 0)` and
    `epoch_progress = e`; each training batch then sets `epoch_progress = e + batch / steps` inside
    the graph (`advance_progress`). `stop` (called when `fit` returns or raises) hands
    `epoch_progress` back to the user: it keeps its last value and is no longer overwritten.
    """

    def __init__(self, adv_model):
        super().__init__()
        self._adv_model = adv_model

    def on_epoch_begin(self, epoch, logs=None):
        steps = (self.params or {}).get("steps") or 0
        self._adv_model.progress_state.assign([int(epoch), int(steps), 0])
        self._adv_model.epoch_progress.assign(float(epoch))

    @staticmethod
    def stop(adv_model):
        adv_model.progress_state.assign(list(_IDLE))
