"""Every registered method (`tfadv.methods.METHODS`) inside the Keras machinery.

Parametrised by the registry: a new method file is enrolled here with no edit. Each method is
built by `from_knobs` at a 2-step budget and trained on Sequential, Functional and subclassed
classifiers, then saved and reloaded as `.keras` with `safe_mode=True` and trained on; resumed with
`BackupAndRestore`; trained under `MirroredStrategy` on two logical CPUs with a mixed precision
policy and two steps per execution.

The default tier pairs each method with one model kind and one precision policy, rotating through
them in registry order (so every kind and policy is exercised by several methods, and a new method
takes the next one); `pytest -m slow` runs the remaining pairs of the full product, and
`MirroredStrategy` and each policy one at a time.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
import tfadv.layers

METHOD_NAMES = tfadv.methods.METHODS.names()
KINDS = ("sequential", "functional", "subclassed")
SHAPE = (10, 10, 1)
BUDGET = tfadv.AttackBudget(eps=0.1, steps=2, seed=0)


def _norm(dual_bn):
    return tfadv.layers.DualBatchNormalization() if dual_bn else keras.layers.BatchNormalization()


@keras.saving.register_keras_serializable(package="tfadv_registry_tests")
class Subclassed(keras.Model):
    def __init__(self, dual_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.dual_bn = dual_bn
        self.conv = keras.layers.Conv2D(4, 3)
        self.norm = _norm(dual_bn)
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(4)

    def call(self, x, training=None):
        return self.dense(self.flatten(keras.ops.relu(self.norm(self.conv(x), training=training))))

    def get_config(self):
        return {**super().get_config(), "dual_bn": self.dual_bn}


def classifier(kind, dual_bn=False):
    if kind == "sequential":
        layers = [keras.Input(SHAPE), keras.layers.Conv2D(4, 3), _norm(dual_bn)]
        layers += [keras.layers.ReLU(), keras.layers.Flatten(), keras.layers.Dense(4)]
        return keras.Sequential(layers)
    if kind == "functional":
        inputs = keras.Input(SHAPE)
        h = keras.layers.ReLU()(_norm(dual_bn)(keras.layers.Conv2D(4, 3)(inputs)))
        return keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(h)))
    model = Subclassed(dual_bn=dual_bn)
    model(np.zeros((1, *SHAPE), "float32"))
    return model


def rotated(names, options):
    """Every `(name, option)` pair; the pairs off the default rotation are marked `slow`."""
    return [
        pytest.param(
            name,
            option,
            marks=() if j == i % len(options) else (pytest.mark.slow,),
            id=f"{name}-{option}",
        )
        for i, name in enumerate(names)
        for j, option in enumerate(options)
    ]


def build(name, kind="functional", **kwargs):
    method = tfadv.methods.get(name)
    dual_bn = bool(method.builder_options.get("dual_bn"))
    return method.from_knobs(classifier(kind, dual_bn), budget=BUDGET, **kwargs)


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, *SHAPE)).astype("float32"), rng.integers(0, 4, n)


def test_registry_lists_every_method_once_with_documented_knobs():
    assert len(METHOD_NAMES) >= 11 and "advprop" in METHOD_NAMES
    for name, cls in tfadv.methods.METHODS.items():
        assert getattr(tfadv.methods, cls.__name__) is cls
        assert tfadv.methods.get(cls.__name__) is cls  # class names resolve too
        for knob_name, knob in cls.knobs.items():
            assert knob.help, (name, knob_name)
            assert knob.check(knob_name, knob.default) == knob.default or knob.default is None


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_from_knobs_rejects_unknown_and_bad_knobs(name):
    with pytest.raises(ValueError, match="Received: no_such_knob=1"):
        build(name, no_such_knob=1)
    with pytest.raises(TypeError, match="Received: budget='big'"):
        tfadv.methods.get(name).from_knobs(classifier("functional"), budget="big")


@pytest.mark.parametrize("name, kind", rotated(METHOD_NAMES, KINDS))
def test_every_method_trains_saves_and_reloads_on_every_model_kind(name, kind, tmp_path):
    # Validation metrics (Keras' `validation_data`) go through the base class's `test_step`, which
    # no method overrides: test_adv_model_keras.py checks them.
    x, y = data()
    model = build(name, kind)
    model.compile(optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    expected = {"loss", "clean_accuracy", "adv_accuracy", "grad_evals", "accuracy"}
    assert expected | set(model.extra_metrics) <= set(history.history), sorted(history.history)
    assert np.isfinite(history.history["loss"][0])
    assert 0.0 <= history.history["adv_accuracy"][0] <= 1.0

    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert type(loaded) is type(model)
    assert type(loaded.classifier) is type(model.classifier)
    config, loaded_config = model.get_config(), loaded.get_config()
    config.pop("classifier"), loaded_config.pop("classifier")
    assert loaded_config == config  # attacks, schedules and method settings round-trip
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)
    assert loaded.compiled  # and with the same optimizer (training on: below, in the slow tier)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


@pytest.mark.slow  # one reload trains on in the default tier: test_adv_model_keras.py, test_awp.py
@pytest.mark.parametrize("name", METHOD_NAMES)
def test_every_method_trains_on_after_reload(name, tmp_path):
    x, y = data(16)
    model = build(name)
    model.compile(optimizer="adam")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    history = loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_backup_and_restore_resumes_the_schedule(name, tmp_path):
    x, y = data(32)

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                raise RuntimeError("interrupted")

    def fit(*callbacks):
        model = build(name, eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.1, ramp_epochs=2))
        model.compile(optimizer="adam")
        backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[backup, *callbacks])
        return model

    with pytest.raises(RuntimeError, match="interrupted"):
        fit(Interrupt())
    epochs_run = []
    resumed = fit(keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, _: epochs_run.append(e)))
    assert epochs_run == [1]  # the finished epoch is not trained again
    assert float(resumed.epoch_progress.numpy()) == pytest.approx(1.5)


POLICIES = ("mixed_float16", "mixed_bfloat16")


def two_replicas():
    return tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


@pytest.mark.parametrize("name, policy", rotated(METHOD_NAMES, POLICIES))
def test_every_method_scales_out_mirrored_mixed_precision_several_steps_per_execution(name, policy):
    # What a multi-GPU or TPU run does at once: two replicas, a mixed precision policy (rotated in
    # registry order; the full product is below, in the slow tier) and two steps per execution.
    keras.config.set_dtype_policy(policy)
    x, y = data(32)
    with two_replicas().scope():
        model = build(name)
        model.compile(optimizer=keras.optimizers.SGD(0.05), steps_per_execution=2)
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert 0.0 <= history.history["clean_accuracy"][-1] <= 1.0
    # 4 batches per epoch, 2 per execution: the last batch of epoch 1 is at 1 + 3/4.
    assert float(model.epoch_progress.numpy()) == 1.75


@pytest.mark.slow  # one by one: test_every_method_scales_out_... runs them together
@pytest.mark.parametrize("name", METHOD_NAMES)
def test_mirrored_strategy_trains_and_aggregates_metrics(name):
    x, y = data(32)
    with two_replicas().scope():
        model = build(name)
        model.compile(optimizer=keras.optimizers.SGD(0.05))
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert 0.0 <= history.history["clean_accuracy"][0] <= 1.0


@pytest.mark.slow  # one by one: test_every_method_scales_out_... runs them together
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", METHOD_NAMES)
def test_mixed_precision_trains_with_finite_loss(name, policy):
    keras.config.set_dtype_policy(policy)
    x, y = data(32)
    model = build(name)
    model.compile(optimizer="adam")
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize(
    "policy, kind",
    [("float32", "functional"), ("mixed_bfloat16", "functional"), ("mixed_bfloat16", "subclassed")],
)
def test_mat_rand_trains_when_a_norm_gets_no_example(policy, kind):
    # One example per batch: every step one of MAT-rand's two shares is empty (what a small
    # per-replica batch meets at random). TensorFlow's CPU bfloat16 convolution gradient rejects an
    # empty batch, so MAT skips the attack of an empty share; the other share trains as usual.
    # A subclassed classifier has no output_shape (the method cannot read its class count).
    keras.config.set_dtype_policy(policy)
    try:
        x, y = data(6)
        model = build("mat", kind, strategy="rand")
        model.compile(optimizer=keras.optimizers.SGD(0.05))
        history = model.fit(x, y, batch_size=1, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert history.history["grad_evals"][0] == BUDGET.steps
        share = history.history["l2_share"][0]
        assert 0.0 <= share <= 1.0
    finally:
        keras.config.set_dtype_policy("float32")
