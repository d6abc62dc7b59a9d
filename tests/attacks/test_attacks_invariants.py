"""Invariants every exported attack must keep; a new attack is enrolled by exporting it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tests.conftest import tiny_cnn

EPS = {"linf": 0.1, "l2": 1.0}


def make_attack(name, norm="linf", seed=None):
    cls = getattr(tfadv.attacks, name)
    eps = EPS[norm]
    if name == "EarlyStoppedPGD":
        if norm != "linf":
            pytest.skip("EarlyStoppedPGD is an l-inf attack (FAT)")
        return cls(eps=eps, step_size=eps / 4, steps=5, tau=1, seed=seed)
    if name == "FGSM":
        return cls(eps=eps, norm=norm, random_start=True, seed=seed)
    if name == "APGD":
        return cls(eps=eps, norm=norm, steps=5, restarts=2, seed=seed)
    if name == "APGDT":
        return cls(eps=eps, norm=norm, steps=5, n_target_classes=2, seed=seed)
    if name == "Square":
        return cls(eps=eps, norm=norm, n_queries=20, restarts=2, seed=seed)
    return cls(eps=eps, norm=norm, steps=5, restarts=2, seed=seed)


@pytest.fixture(scope="module")
def model_and_data():
    keras.utils.set_random_seed(1)
    model = tiny_cnn()
    rng = np.random.default_rng(1)
    x = rng.random((16, 28, 28, 1)).astype("float32")
    x[:4] = 0.0  # pixels at the box edges
    x[4:8] = 1.0
    y = rng.integers(0, 10, 16)
    return model, x, y


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("name", tfadv.attacks.ATTACKS)
def test_eps_ball_and_box(name, norm, model_and_data):
    model, x, y = model_and_data
    attack = make_attack(name, norm)
    x_adv = attack(model, x, y).numpy()
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    delta = (x_adv - x).reshape(len(x), -1)
    norms = np.abs(delta).max(axis=1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert norms.max() <= EPS[norm] * (1 + 1e-5) + 1e-6
    assert norms.max() > 0.5 * EPS[norm]  # it actually moved


@pytest.mark.parametrize("name", tfadv.attacks.ATTACKS)
def test_deterministic_under_seed(name, model_and_data):
    model, x, y = model_and_data
    a = make_attack(name, seed=7)(model, x, y).numpy()
    b = make_attack(name, seed=7)(model, x, y).numpy()
    c = make_attack(name, seed=8)(model, x, y).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", tfadv.attacks.ATTACKS)
def test_no_retracing_across_batches(name, model_and_data):
    model, x, y = model_and_data
    attack = make_attack(name)

    @tf.function
    def step(xb, yb):
        return attack(model, xb, yb)

    for i in range(3):
        step(tf.constant(x + 0.0 * i), tf.constant(y))
    assert step.experimental_get_tracing_count() == 1
    # The eager entry point compiles once too.
    for _ in range(3):
        attack(model, x, y)
    assert attack._compiled.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("name", tfadv.attacks.ATTACKS)
def test_no_gradient_flows_out(name, model_and_data):
    model, x, y = model_and_data
    attack = make_attack(name)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        x_adv = attack(model, xt, y)
        total = tf.reduce_sum(x_adv)
    assert tape.gradient(total, xt) is None


@pytest.mark.parametrize("name", tfadv.attacks.ATTACKS)
def test_uses_inference_mode(name):
    """Dropout would make the attack's forward passes random; the attack must run training=False."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16),
            keras.layers.Dropout(0.9),
            keras.layers.Dense(3),
        ]
    )
    x = np.random.default_rng(0).random((8, 6)).astype("float32")
    y = np.zeros(8, dtype="int32")
    attack = make_attack(name, seed=0)
    np.testing.assert_array_equal(attack(model, x, y).numpy(), attack(model, x, y).numpy())


@pytest.mark.parametrize("name", tfadv.attacks.ATTACKS)
def test_config_round_trip(name):
    attack = make_attack(name, seed=3)
    config = attack.get_config()
    clone = type(attack).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(attack))
    assert type(restored) is type(attack) and restored.get_config() == config


@pytest.mark.parametrize("name", tfadv.attacks.ATTACKS)
def test_float32_gradients_under_mixed_precision(name):
    keras.config.set_dtype_policy("mixed_float16")
    model = tiny_cnn()
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    y = np.arange(8) % 10
    x_adv = make_attack(name)(model, x, y)
    assert x_adv.dtype == tf.float32
    assert np.all(np.isfinite(x_adv.numpy()))
    assert np.abs(x_adv.numpy() - x).max() > 0.05
