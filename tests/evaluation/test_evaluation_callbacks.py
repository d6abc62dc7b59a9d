"""`RobustEvaluation` writes robust accuracy into the logs; `RobustEarlyStopping` uses it."""

import keras
import numpy as np
import pytest

import tfadv
import tfadv.evaluation
from tests.evaluation.conftest import small_cnn


@pytest.fixture(scope="module")
def digits(mnist_small):
    (x_train, y_train), (x_test, y_test) = mnist_small
    return (x_train[:256], y_train[:256]), (x_test[:32], y_test[:32])


def _compiled(model):
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def test_robust_evaluation_writes_keys_into_history(digits):
    (x, y), (xv, yv) = digits
    model = _compiled(small_cnn())
    callback = tfadv.evaluation.RobustEvaluation(
        (xv, yv), eps=0.1, protocol=[tfadv.attacks.PGD(eps=0.1, steps=3)], limit=16
    )
    seen = {}

    class Spy(keras.callbacks.Callback):  # a later callback (TensorBoard, a tuner) sees the keys
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = dict(logs)

    history = model.fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=[callback, Spy()])
    assert len(history.history["val_robust_accuracy"]) == 2
    assert len(history.history["val_clean_accuracy"]) == 2
    assert "val_robust_accuracy" in seen[1]
    for robust, clean in zip(
        history.history["val_robust_accuracy"], history.history["val_clean_accuracy"], strict=True
    ):
        assert 0.0 <= robust <= clean <= 1.0
    assert callback.last_report.n_examples == 16


def test_robust_evaluation_on_an_adv_model_keeps_its_clean_accuracy(digits):
    (x, y), (xv, yv) = digits
    adv_model = tfadv.AdvModel(small_cnn(), attack=tfadv.attacks.FGSM(eps=0.1))
    adv_model.compile(optimizer="adam")
    callback = tfadv.evaluation.RobustEvaluation(
        (xv, yv), eps=0.1, protocol=[tfadv.attacks.FGSM(eps=0.1)], every=2
    )
    history = adv_model.fit(
        x, y, epochs=2, batch_size=64, verbose=0, validation_data=(xv, yv), callbacks=[callback]
    )
    # Evaluated at the 2nd epoch only; val_clean_accuracy comes from AdvModel's own validation.
    assert len(history.history["val_robust_accuracy"]) == 1
    assert len(history.history["val_clean_accuracy"]) == 2


class _Scripted(keras.callbacks.Callback):
    """Writes a scripted `val_robust_accuracy` and remembers the weights at each epoch end."""

    def __init__(self, values):
        super().__init__()
        self.values = values
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_robust_accuracy"] = self.values[epoch]
        self.weights.append([w.copy() for w in self.model.get_weights()])


def test_robust_early_stopping_restores_the_most_robust_weights(digits):
    (x, y), _ = digits
    model = _compiled(small_cnn())
    scripted = _Scripted([0.1, 0.5, 0.3, 0.2, 0.1, 0.0])
    stopper = tfadv.evaluation.RobustEarlyStopping(patience=2)
    history = model.fit(x, y, epochs=6, batch_size=64, verbose=0, callbacks=[scripted, stopper])
    assert len(history.history["loss"]) == 4  # best at epoch 1, two epochs of patience
    assert stopper.best_epoch == 1 and stopper.best == 0.5
    for restored, best in zip(model.get_weights(), scripted.weights[1], strict=True):
        np.testing.assert_array_equal(restored, best)


def test_robust_early_stopping_warns_without_the_key(digits):
    (x, y), _ = digits
    model = _compiled(small_cnn())
    with pytest.warns(UserWarning, match="RobustEvaluation"):
        model.fit(x[:64], y[:64], epochs=1, verbose=0,
                  callbacks=[tfadv.evaluation.RobustEarlyStopping()])  # fmt: skip


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: tfadv.evaluation.RobustEarlyStopping(patience=-1), "patience=-1"),
        (lambda: tfadv.evaluation.RobustEarlyStopping(min_delta=-0.1), "min_delta=-0.1"),
        (lambda: tfadv.evaluation.RobustEarlyStopping(monitor=""), "monitor=''"),
        (lambda: tfadv.evaluation.RobustEvaluation((np.zeros((2, 2)), [0, 1]), eps=-1), "eps=-1"),
        (lambda: tfadv.evaluation.RobustEvaluation((np.zeros((2, 2)), [0, 1]), every=0), "every=0"),
    ],
)
def test_callback_bad_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()
