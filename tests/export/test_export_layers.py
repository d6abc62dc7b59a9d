"""Robustness layers in exports: noise off by default, on with `stochastic=True`; dual BN main."""

import json
import os

import keras
import numpy as np
import onnxruntime
import pytest
import tensorflow as tf

import tfadv.export
import tfadv.layers
import tfadv.models


def randomize(model, seed=0, scale=0.1):
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        if "seed" in weight.path or not np.issubdtype(value.dtype, np.floating):
            continue
        noise = rng.normal(0.0, scale, value.shape).astype(value.dtype)
        weight.assign(np.abs(value + noise) if "variance" in weight.path else value + noise)
    return model


def noisy_model(active_at_inference=True):
    inputs = keras.Input((8, 8, 1))
    x = tfadv.layers.GaussianNoiseInjection(0.2, active_at_inference=active_at_inference)(inputs)
    x = tfadv.layers.NoisyConv2D(4, 3, active_at_inference=active_at_inference)(x)
    x = tfadv.layers.DualBatchNormalization(name="dual_bn")(x)
    x = keras.layers.Flatten()(x)
    outputs = tfadv.layers.NoisyDense(3, active_at_inference=active_at_inference)(x)
    return randomize(keras.Model(inputs, outputs, name="noisy"))


def images(n=8, shape=(8, 8, 1), seed=0):
    return np.random.default_rng(seed).uniform(size=(n, *shape)).astype("float32")


def run_saved_model(folder, x):
    signature = tf.saved_model.load(folder).signatures["serving_default"]
    return lambda: signature(images=tf.constant(x))["logits"].numpy()


def run_onnx(path, x):
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return lambda: session.run(["logits"], {"images": x})[0]


def noise_switches(model):
    return [
        (layer.name, layer.noise_active, layer.active_at_inference)
        for layer in model._flatten_layers()
        if hasattr(layer, "noise_active")
    ]


def test_noise_is_off_in_a_default_export_and_the_model_is_left_as_it_was(tmp_path):
    model = noisy_model()
    x = images()
    before = noise_switches(model)
    assert len(before) == 3
    # The Keras model is random at inference...
    assert not np.allclose(model(x, training=False), model(x, training=False))
    folder = tfadv.export.to_saved_model(model, tmp_path / "sm")
    onnx_path = tfadv.export.to_onnx(model, tmp_path / "m.onnx")
    # ...and still is after exporting: the switches were restored.
    assert noise_switches(model) == before
    assert not np.allclose(model(x, training=False), model(x, training=False))

    tfadv.layers.set_noise_active(model, False)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    tfadv.layers.set_noise_active(model, True)
    for run in (run_saved_model(folder, x), run_onnx(onnx_path, x)):
        first, second = run(), run()
        np.testing.assert_array_equal(first, second)
        np.testing.assert_allclose(first, expected, atol=1e-4)
        report = tfadv.export.verify(folder, model, x)
        assert report.passed, str(report)
    assert noise_switches(model) == before


@pytest.mark.parametrize("active_at_inference", [True, False])
def test_stochastic_export_samples_fresh_noise(active_at_inference, tmp_path):
    model = noisy_model(active_at_inference)
    x = images()
    before = noise_switches(model)
    folder = tfadv.export.to_saved_model(model, tmp_path / "sm", stochastic=True)
    onnx_path = tfadv.export.to_onnx(model, tmp_path / "m.onnx", stochastic=True)
    assert noise_switches(model) == before

    tfadv.layers.set_noise_active(model, False)
    clean = keras.ops.convert_to_numpy(model(x, training=False))
    for run in (run_saved_model(folder, x), run_onnx(onnx_path, x)):
        draws = np.stack([run() for _ in range(3)])
        assert np.all(np.isfinite(draws))
        assert not np.allclose(draws[0], draws[1])
        assert not np.allclose(draws[0], clean)

    with open(os.path.join(folder, "assets.extra", "tfadv_export.json")) as f:
        assert json.load(f)["stochastic"] is True
    meta = onnxruntime.InferenceSession(onnx_path).get_modelmeta().custom_metadata_map
    assert meta["tfadv.stochastic"] == "true"
    for path in (folder, onnx_path):
        with pytest.raises(ValueError, match="stochastic=True"):
            tfadv.export.verify(path, model, x)


def test_only_weight_noise_stays_random_in_onnx(tmp_path):
    """Weight noise has a static shape: its draws must not be constant-folded into one sample."""
    inputs = keras.Input((6, 6, 1))
    x = tfadv.layers.NoisyConv2D(2, 3)(inputs)
    outputs = tfadv.layers.NoisyDense(2)(keras.layers.Flatten()(x))
    model = randomize(keras.Model(inputs, outputs))
    x = images(shape=(6, 6, 1))
    run = run_onnx(tfadv.export.to_onnx(model, tmp_path / "m.onnx", stochastic=True), x)
    assert not np.allclose(run(), run())


def test_dual_batch_norm_exports_its_main_branch(tmp_path):
    model = noisy_model()
    tfadv.layers.set_noise_active(model, False)
    x = images()
    main = keras.ops.convert_to_numpy(model(x, training=False))
    with tfadv.layers.use_auxiliary_bn(model):
        auxiliary = keras.ops.convert_to_numpy(model(x, training=False))
        assert not np.allclose(main, auxiliary)
        # Exported from inside the auxiliary context: still the main branch.
        folder = tfadv.export.to_saved_model(model, tmp_path / "sm")
        onnx_path = tfadv.export.to_onnx(model, tmp_path / "m.onnx")
        assert model.get_layer("dual_bn").use_auxiliary is True
    for run in (run_saved_model(folder, x), run_onnx(onnx_path, x)):
        np.testing.assert_allclose(run(), main, atol=1e-4)


def test_zoo_model_with_dual_bn_pni_and_noise(tmp_path):
    model = randomize(
        tfadv.models.resnet(
            8, input_shape=(16, 16, 3), dual_bn=True, pni=True, noise_stddev=0.1, mean=0.5, std=0.25
        )
    )
    x = images(shape=(16, 16, 3))
    y = np.arange(8) % 10
    attack = tfadv.attacks.PGD(eps=0.05, steps=2, seed=0)
    for path in (
        tfadv.export.to_saved_model(model, tmp_path / "sm"),
        tfadv.export.to_onnx(model, tmp_path / "m.onnx"),
    ):
        report = tfadv.export.verify(path, model, x, y, attack=attack)
        assert report.passed, str(report)
        assert report.max_abs_logit_diff <= 1e-4


class DuckNoise(keras.layers.Layer):
    """A noise layer tfadv does not know, with the same switch as the tfadv ones."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.noise_active = True
        self.seed_generator = keras.random.SeedGenerator(1)

    def call(self, x, training=None):
        if not self.noise_active:
            return x
        return x + keras.random.normal(keras.ops.shape(x), stddev=0.5, seed=self.seed_generator)


def test_duck_typed_noise_switch_is_honoured(tmp_path):
    inputs = keras.Input((4, 4, 1))
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(DuckNoise()(inputs)))
    model = keras.Model(inputs, outputs)
    x = images(shape=(4, 4, 1))
    path = tfadv.export.to_onnx(model, tmp_path / "m.onnx")
    run = run_onnx(path, x)
    np.testing.assert_array_equal(run(), run())
    assert model.layers[1].noise_active is True
    assert tfadv.export.verify(path, model, x).passed


class AlwaysRandom(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1)

    def call(self, x):
        return x + keras.random.uniform(keras.ops.shape(x), seed=self.seed_generator)


def test_unswitchable_randomness_warns(tmp_path):
    inputs = keras.Input((4, 4, 1))
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(AlwaysRandom(name="jitter")(inputs)))
    model = keras.Model(inputs, outputs)
    with pytest.warns(UserWarning, match=r"still samples random numbers.*layer 'jitter'"):
        folder = tfadv.export.to_saved_model(model, tmp_path / "sm")
    run = run_saved_model(folder, images(shape=(4, 4, 1)))
    assert not np.allclose(run(), run())
