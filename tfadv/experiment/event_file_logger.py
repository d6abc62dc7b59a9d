"""`EventFileLogger`: TensorBoard event files of the epoch logs, without the tensorboard package."""

import keras
import tensorflow as tf


class EventFileLogger(keras.callbacks.Callback):
    """Writes every epoch's logs as TensorBoard scalars (`train/...` and `validation/...`).

    `keras.callbacks.TensorBoard` needs the `tensorboard` package, which TensorFlow 2.21 no longer
    installs; this writes the same event files with `tf.summary.create_file_writer`, at step
    `epoch + 1`, so a resumed run continues the curves.

    Args:
        log_dir: the folder of the event files.

    Example:

    ```python
    model.fit(x, y, epochs=5, callbacks=[tfadv.experiment.EventFileLogger("run/tensorboard")])
    ```
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = str(log_dir)
        self._writer = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(self.log_dir)
        # TensorBoard's scalar plugin tag, as `tensorboard.summary.scalar` writes it.
        self._metadata = tf.compat.v1.SummaryMetadata()
        self._metadata.plugin_data.plugin_name = "scalars"

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:
            self.on_train_begin()
        with self._writer.as_default():
            for key, value in (logs or {}).items():
                name = f"validation/{key[4:]}" if key.startswith("val_") else f"train/{key}"
                tensor = tf.constant(float(value), tf.float32)
                tf.summary.write(name, tensor, step=epoch + 1, metadata=self._metadata)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_config(self):
        return {"log_dir": self.log_dir}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
