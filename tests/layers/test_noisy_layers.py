"""NoisyConv2D / NoisyDense (parametric noise injection): alpha, noise, gradients, switches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfadv.layers import NoisyConv2D, NoisyDense, set_noise_active

LAYERS = {
    "conv": (lambda **kw: NoisyConv2D(6, 3, **kw), (2, 8, 8, 3), 6),
    "dense": (lambda **kw: NoisyDense(6, **kw), (2, 5), 6),
}


def _built(kind, **kwargs):
    make, shape, channels = LAYERS[kind]
    layer = make(**kwargs)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    layer.build(x.shape)
    return layer, x, channels


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("alpha_shape", ["layerwise", "channelwise", "elementwise"])
def test_alpha_shape_and_initial_value(kind, alpha_shape):
    layer, _, channels = _built(kind, alpha_shape=alpha_shape)
    expected = {"layerwise": (), "channelwise": (channels,), "elementwise": layer.kernel.shape}
    assert tuple(layer.alpha.shape) == tuple(expected[alpha_shape])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.alpha), 0.25)
    assert layer.alpha.trainable


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("alpha_shape", ["layerwise", "channelwise"])
def test_alpha_receives_nonzero_gradients(kind, alpha_shape):
    layer, x, _ = _built(kind, alpha_shape=alpha_shape)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(x, training=True)))
    grad_alpha, grad_kernel = tape.gradient(loss, [layer.alpha.value, layer.kernel])
    assert grad_alpha is not None and grad_kernel is not None
    assert np.all(np.abs(keras.ops.convert_to_numpy(grad_alpha)) > 0)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_output_varies_between_calls_also_at_inference(kind):
    layer, x, _ = _built(kind)
    assert not np.allclose(layer(x), layer(x))
    call = tf.function(lambda x: layer(x, training=False))
    assert not np.allclose(call(x), call(x))


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_switched_off_equals_the_plain_layer(kind):
    layer, x, _ = _built(kind)
    plain = keras.layers.Conv2D(6, 3) if kind == "conv" else keras.layers.Dense(6)
    plain.build(x.shape)
    plain.set_weights(layer.get_weights()[:2])
    model = keras.Sequential([keras.Input(x.shape[1:]), layer])
    assert set_noise_active(model, False) == 1
    np.testing.assert_allclose(layer(x, training=True), plain(x), atol=1e-6)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_active_at_inference_false():
    layer, x, _ = _built("dense", active_at_inference=False)
    np.testing.assert_array_equal(layer(x), layer(x))
    assert not np.allclose(layer(x, training=True), layer(x, training=True))


def test_weight_noise_statistics():
    # On the identity matrix a Dense layer returns its (noisy) kernel plus the bias.
    layer = NoisyDense(400, alpha_init=0.5, bias_initializer="zeros")
    layer.build((None, 300))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    noise = keras.ops.convert_to_numpy(layer(np.eye(300, dtype="float32"))) - kernel
    assert abs(noise.mean()) < 0.01 * kernel.std()
    assert noise.std() == pytest.approx(0.5 * kernel.std(ddof=1), rel=0.01)


def test_zero_alpha_means_no_noise():
    layer, x, _ = _built("conv", alpha_init=0.0)
    np.testing.assert_array_equal(layer(x), layer(x))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha_shape": "bad"}, "Received: alpha_shape='bad'"),
        ({"alpha_init": -0.25}, "Received: alpha_init=-0.25"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NoisyDense(3, **kwargs)
    with pytest.raises(ValueError, match=match):
        NoisyConv2D(3, 3, **kwargs)


def test_quantization_is_refused():
    layer, _, _ = _built("dense")
    with pytest.raises(NotImplementedError):
        layer.quantize("int8")


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_get_config(kind):
    layer, _, _ = _built(kind, alpha_init=0.1, alpha_shape="channelwise", seed=4)
    config = layer.get_config()
    assert config["alpha_init"] == 0.1 and config["alpha_shape"] == "channelwise"
    assert config["seed"] == 4 and config["active_at_inference"] is True
    assert type(layer).from_config(config).get_config() == config
