"""GaussianNoiseInjection: noise statistics, on at inference, the switches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfadv.layers import GaussianNoiseInjection, set_noise_active


@pytest.mark.parametrize("training", [True, False])
def test_noise_statistics_match_stddev(training):
    layer = GaussianNoiseInjection(0.3)
    x = np.full((400, 500), 0.5, dtype="float32")
    noise = keras.ops.convert_to_numpy(layer(x, training=training)) - x
    assert abs(noise.mean()) < 0.003  # 200,000 samples: standard error 0.0007
    assert noise.std() == pytest.approx(0.3, rel=0.01)


def test_fresh_noise_every_call_also_in_tf_function():
    layer = GaussianNoiseInjection(0.1)
    x = tf.zeros((4, 10))
    call = tf.function(lambda x: layer(x, training=False))
    first, second = call(x), call(x)
    assert not np.allclose(first, second)
    assert not np.allclose(layer(x), layer(x))


def test_active_at_inference_false_is_identity_at_inference_only():
    layer = GaussianNoiseInjection(0.1, active_at_inference=False)
    x = np.random.default_rng(0).uniform(size=(4, 10)).astype("float32")
    np.testing.assert_array_equal(layer(x, training=False), x)
    np.testing.assert_array_equal(layer(x), x)
    assert not np.allclose(layer(x, training=True), x)


def test_set_noise_active_gives_deterministic_predictions():
    model = keras.Sequential(
        [keras.Input((10,)), GaussianNoiseInjection(0.2), keras.layers.Dense(3)]
    )
    x = np.random.default_rng(0).uniform(size=(8, 10)).astype("float32")
    assert not np.allclose(model.predict(x, verbose=0), model.predict(x, verbose=0))

    assert set_noise_active(model, False) == 1
    first = model.predict(x, verbose=0)  # the cached predict function was re-traced
    np.testing.assert_array_equal(first, model.predict(x, verbose=0))
    np.testing.assert_array_equal(model(x, training=True), model(x, training=True))

    set_noise_active(model, True)
    assert not np.allclose(model.predict(x, verbose=0), first)


def test_output_is_not_clipped():
    layer = GaussianNoiseInjection(0.5)
    x = np.full((100, 100), 0.99, dtype="float32")
    y = keras.ops.convert_to_numpy(layer(x))
    assert y.max() > 1.0 and y.min() < 0.0


def test_zero_stddev_is_identity():
    x = np.ones((2, 3), dtype="float32")
    np.testing.assert_array_equal(GaussianNoiseInjection(0.0)(x, training=True), x)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"stddev": -0.1}, "Received: stddev=-0.1"),
        ({"stddev": float("nan")}, "Received: stddev=nan"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianNoiseInjection(**kwargs)


def test_invalid_switch_type():
    with pytest.raises(TypeError, match="active_at_inference"):
        GaussianNoiseInjection(0.1, active_at_inference="no")
    with pytest.raises(TypeError, match="Received: active=1"):
        set_noise_active(keras.Sequential([GaussianNoiseInjection()]), 1)


def test_get_config():
    layer = GaussianNoiseInjection(0.2, active_at_inference=False, seed=3, name="noise")
    config = layer.get_config()
    assert config["stddev"] == 0.2
    assert config["active_at_inference"] is False
    assert config["seed"] == 3
    assert GaussianNoiseInjection.from_config(config).get_config() == config
