"""Every tfadv layer: `.keras` round trip, tf.function, mixed precision, MirroredStrategy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tfadv.layers import set_noise_active

# name -> (factory, input shape without batch). Every public layer class must appear here.
LAYERS = {
    "DualBatchNormalization": (lambda: tfadv.layers.DualBatchNormalization(), (4, 4, 3)),
    "GaussianNoiseInjection": (lambda: tfadv.layers.GaussianNoiseInjection(0.1), (4, 4, 3)),
    "NoisyConv2D": (
        lambda: tfadv.layers.NoisyConv2D(4, 3, padding="same", alpha_shape="channelwise"),
        (4, 4, 3),
    ),
    "NoisyDense": (lambda: tfadv.layers.NoisyDense(5), (6,)),
    "NonLocalDenoising": (lambda: tfadv.layers.NonLocalDenoising(), (4, 4, 6)),
    "NonLocalDenoising_dual_dot": (
        lambda: tfadv.layers.NonLocalDenoising(embed=False, softmax=False, dual_bn=True),
        (4, 4, 6),
    ),
}


def test_every_public_layer_is_covered():
    classes = {
        name for name in tfadv.layers.__all__ if isinstance(getattr(tfadv.layers, name), type)
    }
    assert classes <= set(LAYERS)


def _model(name):
    factory, shape = LAYERS[name]
    inputs = keras.Input(shape)
    return keras.Model(inputs, factory()(inputs))


def _data(name, batch=4):
    shape = LAYERS[name][1]
    return np.random.default_rng(0).uniform(size=(batch, *shape)).astype("float32")


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_keras_round_trip_safe_mode(name, tmp_path):
    model = _model(name)
    x = _data(name)
    model(x, training=True)  # move the batch-norm statistics away from their initial values
    for weight in model.trainable_weights:  # and every trainable weight (alpha included)
        weight.assign(weight + 0.1)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    layer, restored = model.layers[-1], loaded.layers[-1]
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()
    for got, want in zip(restored.get_weights(), layer.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    set_noise_active(model, False)
    set_noise_active(loaded, False)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_tf_function_training_and_inference(name):
    model = _model(name)
    x = tf.constant(_data(name))
    step = tf.function(lambda x, training: model(x, training=training))
    for training in (True, False):
        out = step(x, training)
        assert out.shape[0] == x.shape[0]
        assert np.all(np.isfinite(out))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_mixed_precision(name):
    keras.config.set_dtype_policy("mixed_float16")
    model = _model(name)
    x = _data(name)
    for training in (True, False):
        out = model(x, training=training)
        assert out.dtype == "float16"
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))
    assert all(w.dtype == "float32" for w in model.weights)


def test_mixed_precision_gradients_reach_alpha():
    keras.config.set_dtype_policy("mixed_float16")
    layer = tfadv.layers.NoisyConv2D(4, 3)
    x = _data("NoisyConv2D")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.cast(layer(x, training=True), "float32"))
    grad = tape.gradient(loss, layer.alpha.value)
    assert layer.alpha.dtype == "float32" and grad is not None
    assert np.isfinite(keras.ops.convert_to_numpy(grad)) and float(grad) != 0.0


@pytest.mark.filterwarnings("ignore:Gradients do not exist")  # the unused auxiliary batch norms
def test_all_layers_train_with_fit_under_mirrored_strategy():
    # Forward and backward passes in replica context (batch-norm updates, seed generators), the
    # all-reduce of the gradients, then a distributed predict.
    # ReductionToOneDevice: the default collective all-reduce fails when a second strategy trains
    # another model in the same process (TensorFlow issue #62790).
    strategy = tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    with strategy.scope():
        inputs = keras.Input((4, 4, 3))
        x = tfadv.layers.GaussianNoiseInjection(0.05)(inputs)
        x = tfadv.layers.NoisyConv2D(4, 3, padding="same")(x)
        x = tfadv.layers.DualBatchNormalization()(x)
        x = tfadv.layers.NonLocalDenoising(dual_bn=True)(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        model = keras.Model(inputs, tfadv.layers.NoisyDense(3)(x))
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    x = np.random.default_rng(0).uniform(size=(8, 4, 4, 3)).astype("float32")
    y = np.arange(8) % 3
    alphas = [w for w in model.trainable_weights if w.path.endswith("alpha")]
    before = [float(keras.ops.convert_to_numpy(a)) for a in alphas]
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [float(keras.ops.convert_to_numpy(a)) for a in alphas]
    assert all(a != b for a, b in zip(after, before, strict=True))
    assert model.predict(x, batch_size=4, verbose=0).shape == (8, 3)
