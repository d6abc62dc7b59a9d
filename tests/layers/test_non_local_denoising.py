"""NonLocalDenoising: identity when fresh, the non-local means computed by hand."""

import keras
import numpy as np
import pytest

from tfadv.layers import DualBatchNormalization, NonLocalDenoising, use_auxiliary_bn

VARIANTS = [(True, True), (True, False), (False, True), (False, False)]


@pytest.mark.parametrize("embed, softmax", VARIANTS)
@pytest.mark.parametrize("training", [True, False])
def test_fresh_block_is_exactly_the_identity(embed, softmax, training, rng):
    layer = NonLocalDenoising(embed=embed, softmax=softmax)
    x = rng.normal(size=(3, 5, 6, 8)).astype("float32")
    np.testing.assert_array_equal(layer(x, training=training), x)


def _numpy_block(layer, x, embed, softmax):
    n, h, w, c = x.shape
    flat = x.reshape(n, h * w, c)
    if embed:
        theta = flat @ keras.ops.convert_to_numpy(layer.theta.kernel)[0, 0]
        phi = flat @ keras.ops.convert_to_numpy(layer.phi.kernel)[0, 0]
    else:
        theta = phi = flat
    scores = theta @ phi.transpose(0, 2, 1)
    if softmax:
        scores = scores / np.sqrt(theta.shape[-1])
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights = scores / scores.sum(axis=-1, keepdims=True)
    else:
        weights = scores / (h * w)
    y = weights @ flat
    y = y @ keras.ops.convert_to_numpy(layer.conv.kernel)[0, 0]
    gamma, beta, mean, var = layer.bn.get_weights()
    y = (y - mean) / np.sqrt(var + layer.epsilon) * gamma + beta
    return x + y.reshape(n, h, w, c)


@pytest.mark.parametrize("embed, softmax", VARIANTS)
def test_matches_the_non_local_means_formula(embed, softmax, rng):
    layer = NonLocalDenoising(embed=embed, softmax=softmax)
    x = rng.normal(size=(2, 4, 3, 6)).astype("float32")
    layer.build(x.shape)
    if embed:  # larger embeddings than the N(0, 0.01^2) init, so the softmax is not uniform
        for conv in (layer.theta, layer.phi):
            conv.kernel.assign(rng.normal(size=conv.kernel.shape).astype("float32"))
    gamma, beta, mean, var = layer.bn.get_weights()
    layer.bn.set_weights([np.full_like(gamma, 1.5), beta + 0.1, mean, var])
    got = keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_allclose(got, _numpy_block(layer, x, embed, softmax), rtol=1e-4, atol=1e-4)
    assert not np.allclose(got, x)


def test_embedding_width_and_initialisation():
    layer = NonLocalDenoising()
    layer.build((None, 8, 8, 64))
    assert layer.theta.kernel.shape == (1, 1, 64, 32)
    assert layer.phi.kernel.shape == (1, 1, 64, 32)
    assert layer.conv.kernel.shape == (1, 1, 64, 64)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.bn.gamma), 0.0)
    assert np.std(keras.ops.convert_to_numpy(layer.theta.kernel)) == pytest.approx(0.01, rel=0.2)


def test_unknown_spatial_size():
    inputs = keras.Input((None, None, 4))
    model = keras.Model(inputs, NonLocalDenoising()(inputs))
    x = np.ones((2, 3, 5, 4), dtype="float32")
    assert model(x).shape == (2, 3, 5, 4)


def test_dual_bn_variant_is_routed(rng):
    layer = NonLocalDenoising(dual_bn=True)
    x = rng.normal(size=(2, 3, 3, 4)).astype("float32")
    layer(x)
    assert isinstance(layer.bn, DualBatchNormalization)
    with use_auxiliary_bn(layer):
        assert layer.bn.use_auxiliary
    assert not layer.bn.use_auxiliary


def test_rejects_non_image_inputs():
    with pytest.raises(ValueError, match="4D"):
        NonLocalDenoising()(np.ones((2, 3), dtype="float32"))


def test_invalid_arguments():
    with pytest.raises(TypeError, match="Received: softmax='yes'"):
        NonLocalDenoising(softmax="yes")
    with pytest.raises(ValueError, match="Received: momentum=2"):
        NonLocalDenoising(momentum=2)


def test_get_config():
    layer = NonLocalDenoising(embed=False, softmax=False, dual_bn=True, name="nl")
    config = layer.get_config()
    assert config["embed"] is False and config["softmax"] is False and config["dual_bn"] is True
    assert NonLocalDenoising.from_config(config).get_config() == config
