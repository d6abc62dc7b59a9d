"""Weight averaging: the closed-form EMA of the trajectory, validation and early stopping on it."""

import keras
import numpy as np
import pytest

import tfadv
from tfadv.attacks import PGD
from tfadv.callbacks import WeightAveraging

MOMENTUM = 0.8


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3, 3, 1)).astype("float32"), rng.integers(0, 3, n).astype("int32")


def linear_model(seed=0):
    keras.utils.set_random_seed(seed)
    classifier = keras.Sequential(
        [keras.Input((3, 3, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    model = tfadv.methods.PGDAT(classifier, attack=PGD(eps=0.05, step_size=0.05, steps=1, seed=0))
    model.compile(optimizer=keras.optimizers.SGD(0.5, use_ema=True, ema_momentum=MOMENTUM))
    return model


class Trajectory(keras.callbacks.Callback):
    """Records the raw weights after every step."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([w.numpy().copy() for w in self.model.classifier.trainable_weights])


def closed_form_ema(steps):
    # a_1 = w_1, a_t = m a_{t-1} + (1 - m) w_t  =>  a_T = m^(T-1) w_1 + sum_{t>1} (1-m) m^(T-t) w_t
    total = len(steps)
    averaged = []
    for k in range(len(steps[0])):
        value = MOMENTUM ** (total - 1) * steps[0][k]
        for t in range(1, total):
            value = value + (1 - MOMENTUM) * MOMENTUM ** (total - 1 - t) * steps[t][k]
        averaged.append(value)
    return averaged


def test_final_classifier_holds_the_closed_form_ema_and_validation_sees_it():
    x, y = data()
    model, trajectory = linear_model(), Trajectory()
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=2,
        shuffle=False,
        verbose=0,
        validation_data=(x, y),
        callbacks=[trajectory, WeightAveraging()],
    )
    assert len(trajectory.steps) == 8
    expected = closed_form_ema(trajectory.steps)
    for got, want in zip(model.classifier.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # The last validation ran on the averaged weights, which the model now holds.
    val_loss = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)
    # The raw trajectory was not disturbed by the swaps: training resumed from raw weights.
    raw_last = trajectory.steps[-1]
    assert max(np.abs(a - b).max() for a, b in zip(raw_last, expected)) > 1e-4


def test_robust_early_stopping_selects_and_restores_averaged_weights():
    x, y = data()
    model, trajectory = linear_model(), Trajectory()
    averages = []

    class RecordAverage(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            averages.append([w.numpy().copy() for w in self.model.classifier.trainable_weights])

    stopping = tfadv.evaluation.RobustEarlyStopping(patience=5)
    callbacks = [
        trajectory,
        WeightAveraging(),
        RecordAverage(),
        tfadv.evaluation.RobustEvaluation((x, y), eps=0.05, limit=8),
        stopping,
    ]
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=callbacks)
    for epoch, recorded in enumerate(averages):  # callbacks after it saw the averages
        expected = closed_form_ema(trajectory.steps[: 4 * (epoch + 1)])
        for got, want in zip(recorded, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for got, want in zip(
        model.classifier.get_weights(), averages[stopping.best_epoch], strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_needs_an_ema_optimizer():
    x, y = data(8)
    model = linear_model()
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="use_ema"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[WeightAveraging()])
    with pytest.raises(TypeError, match="Received: swap_on_epoch=1"):
        WeightAveraging(swap_on_epoch=1)
