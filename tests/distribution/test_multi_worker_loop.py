"""The loop that replaces `fit` under MultiWorkerMirroredStrategy (keras-team/keras#20585).

`tfadv.experiment.distributed.fit_multi_worker` runs under any strategy; here under
`MirroredStrategy` on the two logical CPU devices of `tests/conftest.py`, against `fit`.
"""

import _tiny
import keras
import ml_collections
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tfadv.experiment import distributed


def _tiny_model():
    attack = tfadv.attacks.PGD(eps=0.1, step_size=0.05, steps=1, seed=0)
    model = tfadv.methods.PGDAT(_tiny.classifier(), attack, eval_attack=attack)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.build((None, *_tiny.SHAPE))
    model.optimizer.build(model.trainable_variables)
    return model


class _Logs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs, self.tests = [], 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, dict(logs)))

    def on_test_end(self, logs=None):
        self.tests += 1


@pytest.mark.slow
def test_multi_worker_loop_logs_what_fit_logs_on_two_replicas():
    """The loop that replaces `fit` under MultiWorkerMirroredStrategy, run under MirroredStrategy."""
    x, y = _tiny.data(40)
    data = {"train": (x[:32], y[:32]), "validation": (x[32:], y[32:]), "train_size": 32}
    config = ml_collections.ConfigDict({"batch_size": 8, "seed": 0, "verbose": 0, "epochs": 3})
    strategy = tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"])
    with strategy.scope():
        model = _tiny_model()
    logs = _Logs()
    distributed.fit_multi_worker(model, config, data, [logs], initial_epoch=1)
    reference = _tiny_model()
    fitted = reference.fit(
        x[:32], y[:32], batch_size=8, epochs=1, validation_data=data["validation"]
    )
    assert [epoch for epoch, _ in logs.epochs] == [1, 2] and logs.tests == 2
    assert set(logs.epochs[-1][1]) == set(fitted.history)
    assert "val_adv_accuracy" in logs.epochs[-1][1]
    # 4 global batches per epoch; the last one of epoch 2 runs at progress 2 + 3/4.
    assert float(model.epoch_progress.numpy()) == 2.75
    # The validation metrics are global: the clean accuracy of the trained classifier on all 8.
    logits = model.classifier(x[32:], training=False).numpy()
    clean = float(np.mean(np.argmax(logits, -1) == y[32:]))
    assert logs.epochs[-1][1]["val_clean_accuracy"] == pytest.approx(clean)
