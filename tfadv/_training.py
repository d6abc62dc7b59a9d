"""Internal pieces of the training loop shared by `AdvModel` and the methods."""

import keras
import tensorflow as tf


def per_example_ce(logits, y, label_smoothing=0.0):
    """Sparse softmax cross-entropy per example, in float32."""
    logits = tf.cast(logits, tf.float32)
    if label_smoothing:
        num_classes = tf.shape(logits)[-1]
        target = tf.one_hot(y, num_classes) * (1.0 - label_smoothing)
        target += label_smoothing / tf.cast(num_classes, tf.float32)
        return tf.nn.softmax_cross_entropy_with_logits(labels=target, logits=logits)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)


def replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


class ProgressCallback(keras.callbacks.Callback):
    """Keeps `AdvModel.epoch_progress` equal to `epoch + batch / steps` (0-based) during `fit`."""

    def __init__(self, adv_model):
        super().__init__()
        self._adv_model = adv_model
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._adv_model.epoch_progress.assign(float(epoch))

    def on_train_batch_begin(self, batch, logs=None):
        steps = (self.params or {}).get("steps")
        fraction = batch / steps if steps else 0.0
        self._adv_model.epoch_progress.assign(float(self._epoch) + fraction)
