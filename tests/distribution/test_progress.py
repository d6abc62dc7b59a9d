"""The epoch progress is computed inside the compiled step: exact per batch, any `steps_per_execution`."""

import _tiny
import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv

METHOD_NAMES = tfadv.methods.METHODS.names()
BUDGET = tfadv.AttackBudget(eps=0.1, steps=2, seed=0)


def build(name, classifier=None):
    method = tfadv.methods.get(name)
    if method.builder_options.get("dual_bn"):
        classifier = keras.Sequential(
            [
                keras.Input(_tiny.SHAPE),
                keras.layers.Conv2D(3, 3),
                tfadv.layers.DualBatchNormalization(),
                keras.layers.Flatten(),
                keras.layers.Dense(4),
            ]
        )
    return method.from_knobs(classifier or _tiny.classifier(), budget=BUDGET)


class Recorder(tfadv.schedules.Schedule):
    """An eps schedule that records, from inside the step, the progress it is evaluated at."""

    def __init__(self):
        self.seen = []

    def value(self, progress):
        def record(p):
            self.seen.append(float(p))
            return p

        recorded = tf.ensure_shape(tf.py_function(record, [progress], tf.float32), [])
        return 0.0 * recorded + 0.1

    def bounds(self):
        return 0.1, 0.1

    def get_config(self):
        return {}


@pytest.mark.slow  # with two replicas and mixed precision in test_method_registry.py
@pytest.mark.parametrize("name", METHOD_NAMES)
def test_steps_per_execution_two_trains_every_method_with_exact_progress(name):
    x, y = _tiny.data(16)
    model = build(name)
    model.compile(optimizer="sgd", steps_per_execution=2)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    # 4 batches per epoch, run 2 per execution: the last batch of epoch 1 is at 1 + 3/4 (a
    # per-execution callback would have stopped at 1 + 2/4).
    assert float(model.epoch_progress.numpy()) == 1.75


@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_schedule_sees_every_batch_progress(steps_per_execution):
    x, y = _tiny.data(24)
    recorder = Recorder()
    model = tfadv.methods.PGDAT(
        _tiny.classifier(), attack=tfadv.attacks.PGD(eps=0.1, steps=1), eps_schedule=recorder
    )
    model.compile(optimizer="sgd", steps_per_execution=steps_per_execution)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    expected = [epoch + batch / 6 for epoch in range(2) for batch in range(6)]
    np.testing.assert_allclose(recorder.seen, expected, rtol=0, atol=1e-6)


def test_initial_epoch_anchors_the_progress():
    x, y = _tiny.data(16)
    recorder = Recorder()
    model = tfadv.methods.PGDAT(
        _tiny.classifier(), attack=tfadv.attacks.PGD(eps=0.1, steps=1), eps_schedule=recorder
    )
    model.compile(optimizer="sgd", steps_per_execution=2)
    model.fit(x, y, batch_size=8, epochs=4, initial_epoch=3, verbose=0)
    assert recorder.seen == [3.0, 3.5]


def test_progress_assigned_by_hand_is_kept_outside_fit():
    x, y = _tiny.data(8)
    model = tfadv.methods.PGDAT(_tiny.classifier(), attack=tfadv.attacks.PGD(eps=0.1, steps=1))
    model.compile(optimizer="sgd")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert float(model.epoch_progress.numpy()) == 0.5
    model.epoch_progress.assign(7.25)
    model.train_on_batch(x, y)
    assert float(model.epoch_progress.numpy()) == 7.25


def test_mirrored_strategy_with_steps_per_execution_keeps_one_progress():
    x, y = _tiny.data(32)
    strategy = tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    with strategy.scope():
        model = tfadv.methods.PGDAT(
            _tiny.classifier(),
            attack=tfadv.attacks.PGD(eps=0.1, steps=1),
            eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.1, ramp_epochs=1),
        )
        model.compile(optimizer="sgd", steps_per_execution=2)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    values = strategy.experimental_local_results(model.epoch_progress.value)
    assert [float(v) for v in values] == [0.75, 0.75]


def test_jit_compile_defaults_to_off_on_cpu_and_is_overridable():
    x, y = _tiny.data(8)
    model = tfadv.methods.PGDAT(_tiny.classifier(), attack=tfadv.attacks.PGD(eps=0.1, steps=2))
    model.compile(optimizer="sgd")
    if not tf.config.list_physical_devices("GPU"):
        assert model.jit_compile is False  # Keras' "auto": no XLA on a CPU-only machine
    model.compile(optimizer="sgd", jit_compile=True, steps_per_execution=2)
    assert model.jit_compile is True
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # the whole step, attack included, in XLA
    assert float(model.epoch_progress.numpy()) == 0.5
