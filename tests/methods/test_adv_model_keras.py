"""AdvModel and the issue-3 methods inside the Keras machinery: model kinds, data, callbacks, saving,
distribution and mixed precision."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv


@keras.saving.register_keras_serializable(package="tfadv_adv_model_tests")
class SubclassedClassifier(keras.Model):
    def __init__(self, num_classes=4, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.conv = keras.layers.Conv2D(4, 3, activation="relu")
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(num_classes)

    def call(self, x, training=None):
        return self.dense(self.flatten(self.conv(x)))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def sequential():
    return keras.Sequential(
        [
            keras.Input((10, 10, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
        ]
    )


def functional():
    inputs = keras.Input((10, 10, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    h = keras.layers.BatchNormalization()(h)
    outputs = keras.layers.Dense(4)(keras.layers.Flatten()(h))
    return keras.Model(inputs, outputs)


def subclassed():
    return SubclassedClassifier(4)


def attack():
    return tfadv.attacks.PGD(eps=0.1, steps=2, seed=0)


# Variants beyond each method's registry defaults (those are covered, on every model kind, by
# test_method_registry.py).
METHODS = {
    "AdvModel": lambda c: tfadv.AdvModel(c, attack=attack()),
    "PGDAT-l2": lambda c: tfadv.methods.PGDAT(
        c, attack=tfadv.attacks.PGD(eps=1.0, norm="l2", steps=2)
    ),
    "CleanAdvMix-batches": lambda c: tfadv.methods.CleanAdvMix(c, attack=attack(), mode="batches"),
    "CleanAdvMix-examples": lambda c: tfadv.methods.CleanAdvMix(
        c, attack=attack(), mode="examples"
    ),
    "MAT-max": lambda c: tfadv.methods.MAT(c, strategy="max"),
    "MAT-avg": lambda c: tfadv.methods.MAT(c, strategy="avg"),
}


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 10, 10, 1)).astype("float32"), rng.integers(0, 4, n)


@pytest.mark.parametrize("method", METHODS)
def test_every_variant_trains_and_round_trips_its_config(method):
    x, y = data()
    model = METHODS[method](functional())
    model.compile(optimizer="adam")
    history = model.fit(x, y, batch_size=16, epochs=1, validation_data=(x[:16], y[:16]), verbose=0)
    for key in (
        "loss",
        "clean_accuracy",
        "adv_accuracy",
        "grad_evals",
        "val_loss",
        "val_clean_accuracy",
    ):
        assert key in history.history, (key, list(history.history))
    assert np.isfinite(history.history["loss"][0])
    for name in model.extra_metrics:
        assert name in history.history

    # The variant's settings survive serialisation (saving, reloading and training on a reloaded
    # model are run for every registered method in test_method_registry.py).
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert type(restored) is type(model)
    config, restored_config = model.get_config(), restored.get_config()
    config.pop("classifier"), restored_config.pop("classifier")
    assert restored_config == config


def test_subclassed_classifier_saves_inside_adv_model(tmp_path):
    x, y = data(16)
    model = tfadv.methods.PGDAT(subclassed(), attack=attack(), eval_attack=attack())
    model.compile(optimizer="adam")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.eval_attack.get_config() == model.eval_attack.get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    history = loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)  # compiled on load, trains on
    assert np.isfinite(history.history["loss"][0])


def test_tf_data_eval_attack_and_compiled_metrics():
    x, y = data(64)
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    val = tf.data.Dataset.from_tensor_slices((x[:32], y[:32])).batch(16)
    model = tfadv.methods.PGDAT(sequential(), attack=attack(), eval_attack=attack())
    model.compile(optimizer="adam", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=1, verbose=0)
    assert "val_adv_accuracy" in history.history and "accuracy" in history.history
    results = model.evaluate(val, return_dict=True, verbose=0)
    assert results["adv_accuracy"] <= results["clean_accuracy"] + 1e-6


def test_sample_weights_are_used():
    x, y = data(32)
    keras.utils.set_random_seed(0)
    initial = sequential().get_weights()
    weights = []
    for sw in (np.ones(32), np.r_[np.ones(16), np.zeros(16)]):
        c = sequential()
        c.set_weights(initial)
        m = tfadv.methods.PGDAT(c, attack=attack())
        m.compile(optimizer=keras.optimizers.SGD(0.1))
        m.fit(x, y, sample_weight=sw.astype("float32"), batch_size=32, epochs=1, verbose=0)
        weights.append(c.get_weights())
    assert any(np.abs(a - b).max() > 1e-5 for a, b in zip(*weights))


def test_callbacks_checkpoint_and_early_stopping(tmp_path):
    x, y = data(32)
    model = tfadv.methods.PGDAT(sequential(), attack=attack(), eval_attack=attack())
    model.compile(optimizer="adam")
    ckpt = str(tmp_path / "best.keras")
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=5,
        verbose=0,
        validation_data=(x, y),
        callbacks=[
            keras.callbacks.ModelCheckpoint(ckpt, monitor="val_adv_accuracy", mode="max"),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=10.0),
        ],
    )
    assert len(history.history["loss"]) == 2  # stopped by EarlyStopping after patience 0
    assert os.path.exists(ckpt)
    assert isinstance(keras.saving.load_model(ckpt, safe_mode=True), tfadv.methods.PGDAT)


def test_backup_and_restore_resumes(tmp_path):
    x, y = data(32)
    backup = str(tmp_path / "backup")

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("interrupted")

    def build():
        keras.utils.set_random_seed(0)
        return tfadv.methods.PGDAT(
            sequential(), attack=attack(), eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.1, 4)
        )

    model = build()
    model.compile(optimizer="adam")
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(
            x,
            y,
            batch_size=16,
            epochs=4,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup), Interrupt()],
        )
    interrupted_weights = model.classifier.get_weights()

    resumed = build()
    resumed.compile(optimizer="adam")
    epochs_run = []
    spy = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))
    resumed.fit(
        x,
        y,
        batch_size=16,
        epochs=4,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup), spy],
    )
    assert epochs_run == [2, 3]  # resumed after the two finished epochs
    assert float(resumed.epoch_progress.numpy()) == pytest.approx(3.5)
    assert any(
        np.abs(a - b).max() > 0
        for a, b in zip(interrupted_weights, resumed.classifier.get_weights())
    )


def test_backup_restores_the_interrupted_weights(tmp_path):
    x, y = data(32)
    backup = str(tmp_path / "backup")
    seen = {}

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                seen["weights"] = [w.copy() for w in self.model.classifier.get_weights()]
                raise RuntimeError("interrupted")

    model = tfadv.methods.PGDAT(sequential(), attack=attack())
    model.compile(optimizer="adam")
    with pytest.raises(RuntimeError):
        model.fit(
            x,
            y,
            batch_size=16,
            epochs=2,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq="epoch"), Interrupt()],
        )

    restored = {}

    class Capture(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            restored.setdefault("weights", [w.copy() for w in self.model.classifier.get_weights()])

    fresh = tfadv.methods.PGDAT(sequential(), attack=attack())
    fresh.compile(optimizer="adam")
    fresh.fit(
        x,
        y,
        batch_size=16,
        epochs=2,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup), Capture()],
    )
    for a, b in zip(seen["weights"], restored["weights"]):
        np.testing.assert_allclose(a, b)


def test_mirrored_strategy_step_matches_one_device():
    x, y = data(32)
    keras.utils.set_random_seed(0)
    initial = sequential().get_weights()

    def one_step():
        c = sequential()
        c.set_weights(initial)
        m = tfadv.methods.PGDAT(c, attack=tfadv.attacks.PGD(eps=0.1, steps=2, random_start=False))
        m.compile(optimizer=keras.optimizers.SGD(0.1))
        m.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        return m.classifier.get_weights()

    single = one_step()
    strategy = tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        mirrored = one_step()
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.slow  # every method under a mixed policy: test_method_registry.py
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("method", ["MAT-max"])
def test_mixed_precision_trains_with_finite_loss(policy, method):
    keras.config.set_dtype_policy(policy)
    x, y = data(32)
    model = METHODS[method](functional())
    model.compile(optimizer="adam")
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert model.predict(x[:4], verbose=0).dtype in (np.float16, np.float32, "bfloat16")


def test_predict_and_call_forward_to_classifier():
    x, _ = data(8)
    classifier = sequential()
    model = tfadv.methods.PGDAT(classifier, attack=attack())
    np.testing.assert_allclose(
        model.predict(x, verbose=0), classifier.predict(x, verbose=0), atol=1e-6
    )
    np.testing.assert_allclose(model(x).numpy(), classifier(x).numpy(), atol=1e-6)
