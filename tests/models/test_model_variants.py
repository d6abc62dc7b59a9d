"""Builders with the robustness layers; serialisation, mixed precision and MirroredStrategy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tfadv import models
from tfadv.layers import (
    DualBatchNormalization,
    GaussianNoiseInjection,
    NoisyConv2D,
    NoisyDense,
    NonLocalDenoising,
    set_noise_active,
    use_auxiliary_bn,
)
from tfadv.layers._utils import iter_layers

# Tiny members of every family (the first four have batch norm).
TINY = {
    "resnet8": lambda **kw: models.resnet(8, **kw),
    "wrn10_1": lambda **kw: models.wide_resnet(10, 1, **kw),
    "preact_resnet18_w4": lambda **kw: models.preact_resnet18(width=4, **kw),
    "vgg11_w4": lambda **kw: models.vgg11(width=4, **kw),
    "small_cnn": lambda **kw: models.small_cnn(**kw),
    "madry_cnn": lambda **kw: models.madry_cnn(**kw),
}
WITH_BN = ("resnet8", "wrn10_1", "preact_resnet18_w4", "vgg11_w4")
RESIDUAL = ("resnet8", "wrn10_1", "preact_resnet18_w4")


def _images(model, batch=2, seed=0):
    shape = model.input_shape[1:]
    return np.random.default_rng(seed).uniform(size=(batch, *shape)).astype("float32")


def _count(model, cls):
    return sum(isinstance(layer, cls) for layer in iter_layers(model))


@pytest.mark.parametrize("name", WITH_BN)
def test_dual_bn_replaces_every_batch_norm(name):
    plain = TINY[name]()
    dual = TINY[name](dual_bn=True)
    n_bn = _count(plain, keras.layers.BatchNormalization)
    assert n_bn > 0
    assert _count(dual, DualBatchNormalization) == n_bn
    assert _trainable_bn(dual) == 2 * _trainable_bn(plain)
    x = _images(dual)
    with use_auxiliary_bn(dual):
        aux = dual(x, training=False)
    np.testing.assert_allclose(aux, dual(x, training=False), atol=1e-5)  # fresh: same statistics


def _trainable_bn(model):
    return sum(
        int(np.prod(w.shape))
        for w in model.trainable_weights
        if "gamma" in w.path or "beta" in w.path
    )


@pytest.mark.parametrize(
    "name, kwargs", [("resnet8", {"denoise": True}), ("wrn10_1", {}), ("vgg11_w4", {})]
)
def test_converting_a_built_model_preserves_outputs(name, kwargs):
    model = TINY[name](**kwargs)
    x = _images(model, batch=4)
    model(x, training=True)  # non-trivial batch-norm statistics
    dual = tfadv.layers.convert_to_dual_bn(model)
    assert _count(dual, DualBatchNormalization) == _count(model, keras.layers.BatchNormalization)
    assert not any(type(layer) is keras.layers.BatchNormalization for layer in dual.layers)
    np.testing.assert_allclose(dual(x, training=False), model(x, training=False), atol=1e-5)


@pytest.mark.parametrize("name", sorted(TINY))
def test_pni_replaces_every_conv_and_dense(name):
    plain = TINY[name]()
    noisy = TINY[name](pni=True, pni_alpha_shape="channelwise")
    n_conv = _count(plain, keras.layers.Conv2D)
    n_dense = _count(plain, keras.layers.Dense)
    assert _count(noisy, NoisyConv2D) == n_conv and _count(noisy, NoisyDense) == n_dense
    alphas = [w for w in noisy.trainable_weights if w.path.endswith("alpha")]
    assert len(alphas) == n_conv + n_dense


def _unzero_output_layer(model):
    """small_cnn's output layer starts at zero, which hides everything before it."""
    for weight in model.trainable_weights:
        if not np.any(keras.ops.convert_to_numpy(weight)) and weight.path.endswith("kernel"):
            weight.assign(np.random.default_rng(0).normal(size=weight.shape) * 0.1)


@pytest.mark.parametrize("name", ["resnet8", "small_cnn"])
def test_pni_model_is_random_until_switched_off(name):
    model = TINY[name](pni=True)
    _unzero_output_layer(model)
    x = _images(model)
    assert not np.allclose(model(x), model(x))  # random at inference
    set_noise_active(model, False)
    np.testing.assert_array_equal(model(x), model(x))


def test_pni_alphas_receive_gradients():
    model = models.resnet(8, pni=True)
    x = _images(model, batch=4)
    y = np.array([0, 1, 2, 3])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    alphas = [w for w in model.trainable_weights if w.path.endswith("alpha")]
    grads = tape.gradient(loss, [a.value for a in alphas])
    assert len(alphas) == 8 and all(g is not None for g in grads)
    assert sum(float(np.abs(g)) > 0 for g in grads) == len(alphas)


@pytest.mark.parametrize("name", sorted(TINY))
def test_noise_injection_at_the_input(name):
    model = TINY[name](noise_stddev=0.1, mean=0.5, std=0.25)
    assert isinstance(model.layers[1], GaussianNoiseInjection)
    assert model.layers[1].stddev == 0.1
    assert model.layers[2].name == "normalization"  # noise in [0, 1] pixel space, then normalise


@pytest.mark.parametrize("name", ["resnet8", "small_cnn"])
def test_noise_injection_model_predictions(name):
    model = TINY[name](noise_stddev=0.1)
    _unzero_output_layer(model)
    x = _images(model)
    assert not np.allclose(model.predict(x, verbose=0), model.predict(x, verbose=0))
    assert set_noise_active(model, False) == 1
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", ["resnet8", "preact_resnet18_w4"])
@pytest.mark.parametrize("blocks, expected", [("all", "all"), ((1,), 1), ([0, 2], 2)])
def test_denoising_block_placement(name, blocks, expected):
    model = TINY[name](denoise=True, denoise_blocks=blocks)
    stages = 4 if name.startswith("preact") else 3
    per_stage = {"resnet8": 1, "wrn10_1": 1, "preact_resnet18_w4": 2}[name]
    want = {"all": stages * per_stage}.get(expected, expected)
    assert _count(model, NonLocalDenoising) == want


@pytest.mark.parametrize("name", RESIDUAL)
def test_fresh_denoising_blocks_keep_the_network_function(name):
    plain = TINY[name]()
    model = TINY[name](denoise=True)
    assert _count(model, NonLocalDenoising) == (4 if name.startswith("preact") else 3)
    # Fresh denoising blocks are the identity: same function as the plain network.
    weights = {w.path: w for w in model.weights}
    for w in plain.weights:
        weights[w.path].assign(w)
    x = _images(plain)
    np.testing.assert_allclose(model(x, training=False), plain(x, training=False), atol=1e-5)


def test_denoising_options_reach_the_blocks():
    model = models.resnet(8, denoise=True, denoise_embed=False, denoise_softmax=False, dual_bn=True)
    blocks = [layer for layer in model.layers if isinstance(layer, NonLocalDenoising)]
    assert all(not b.embed and not b.softmax and b.dual_bn for b in blocks)


@pytest.mark.parametrize(
    "name, kwargs",
    [(name, {}) for name in sorted(TINY)]
    + [
        (
            "resnet8",
            dict(dual_bn=True, pni=True, noise_stddev=0.05, denoise=True, mean=0.5, std=0.25),
        ),
        ("wrn10_1", dict(dual_bn=True, pni=True, denoise=True, denoise_blocks="all")),
        ("resnet8", dict(shortcut="projection")),
    ],
)
def test_keras_round_trip_safe_mode(name, kwargs, tmp_path):
    model = TINY[name](**kwargs)
    x = _images(model, batch=4)
    model(x, training=True)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    for got, want in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    set_noise_active(model, False)
    set_noise_active(loaded, False)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-5)


@pytest.mark.parametrize("name", sorted(TINY))
def test_mixed_precision_forward(name):
    keras.config.set_dtype_policy("mixed_float16")
    extra = {"dual_bn": True} if name in WITH_BN else {}
    if name in RESIDUAL:
        extra["denoise"] = True
    model = TINY[name](pni=True, noise_stddev=0.05, **extra)
    x = _images(model)
    for training in (False, True):
        logits = model(x, training=training)
        assert logits.dtype == "float32"
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(logits)))
    assert all(w.dtype == "float32" for w in model.weights)
    assert any(layer.compute_dtype == "float16" for layer in model.layers)


def test_mirrored_strategy_forward():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = models.resnet(
            8, input_shape=(8, 8, 3), dual_bn=True, pni=True, noise_stddev=0.05, denoise=True
        )
    x = _images(model, batch=4)
    out = model.predict(x, batch_size=4, verbose=0)
    assert out.shape == (4, 10) and np.all(np.isfinite(out))
