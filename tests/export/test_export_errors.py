"""What cannot be exported fails with a `ValueError` that names the fix."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv.export
from tests.conftest import tiny_cnn


class Unbuilt(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(3, 3)
        self.flatten = keras.layers.Flatten()
        self.head = keras.layers.Dense(4)

    def call(self, x):
        return self.head(self.flatten(self.conv(x)))


@keras.saving.register_keras_serializable(package="tfadv_export_tests")
class LogGamma(keras.layers.Layer):
    """Uses an op (Lgamma) that tf2onnx cannot convert."""

    def call(self, x):
        return tf.math.lgamma(x + 1.0)


def lgamma_model():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, activation="relu")(inputs)
    x = LogGamma(name="log_gamma")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x), name="with_lgamma")


EXPORTERS = {
    "saved_model": lambda model, tmp, **kw: tfadv.export.to_saved_model(model, tmp / "sm", **kw),
    "onnx": lambda model, tmp, **kw: tfadv.export.to_onnx(model, tmp / "m.onnx", **kw),
}


@pytest.mark.parametrize("fmt", list(EXPORTERS))
def test_unbuilt_subclassed_model_asks_for_input_shape(fmt, tmp_path):
    with pytest.raises(ValueError, match=r"input_shape=\(28, 28, 1\)"):
        EXPORTERS[fmt](Unbuilt(), tmp_path)
    model = Unbuilt()
    path = EXPORTERS[fmt](model, tmp_path, input_shape=(10, 10, 2))
    assert model.built
    x = np.random.default_rng(0).uniform(size=(4, 10, 10, 2)).astype("float32")
    assert tfadv.export.verify(path, model, x).passed


@pytest.mark.parametrize("fmt", list(EXPORTERS))
def test_unknown_spatial_dimensions_ask_for_input_shape(fmt, tmp_path):
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)
    outputs = keras.layers.Dense(5)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    with pytest.raises(ValueError, match=r"unknown input dimensions.*input_shape=\(height, width"):
        EXPORTERS[fmt](model, tmp_path)
    # A leading batch dimension is tolerated.
    path = EXPORTERS[fmt](model, tmp_path, input_shape=(None, 12, 12, 3))
    x = np.random.default_rng(0).uniform(size=(3, 12, 12, 3)).astype("float32")
    assert tfadv.export.verify(path, model, x).passed


@pytest.mark.parametrize("bad", [(0, 28, 1), "28,28,1", (28.5, 28, 1), (), (True, 2, 1)])
def test_bad_input_shape(bad, tmp_path):
    with pytest.raises(ValueError, match="Received: input_shape="):
        tfadv.export.to_saved_model(tiny_cnn(), tmp_path, input_shape=bad)


def test_input_shape_the_model_cannot_take(tmp_path):
    with pytest.raises(ValueError, match="cannot be called on float32 images of shape"):
        tfadv.export.to_onnx(tiny_cnn(), tmp_path / "m.onnx", input_shape=(32, 32, 3))


@pytest.mark.parametrize("bad", [0, 13, 19, 99, "17", 17.0, True, None])
def test_bad_opset(bad, tmp_path):
    with pytest.raises(ValueError, match=r"between 14 and 18.*Received: opset="):
        tfadv.export.to_onnx(tiny_cnn(), tmp_path / "m.onnx", opset=bad)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "1", True, None])
def test_bad_version(bad, tmp_path):
    with pytest.raises(ValueError, match="positive integer.*Received: version="):
        tfadv.export.to_saved_model(tiny_cnn(), tmp_path, version=bad)


def test_existing_version_is_not_overwritten(tmp_path):
    model = tiny_cnn()
    tfadv.export.to_saved_model(model, tmp_path, version=1)
    with pytest.raises(ValueError, match="already exists.*new `version=`"):
        tfadv.export.to_saved_model(model, tmp_path, version=1)
    assert tfadv.export.to_saved_model(model, tmp_path, version=2).endswith("2")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="must be a folder"):
        tfadv.export.to_saved_model(model, tmp_path / "file")


def test_bad_stochastic_flag(tmp_path):
    with pytest.raises(ValueError, match="Received: stochastic="):
        tfadv.export.to_onnx(tiny_cnn(), tmp_path / "m.onnx", stochastic="yes")


def test_unsupported_op_names_layer_op_and_fix(tmp_path):
    model = lgamma_model()
    with pytest.raises(ValueError) as info:
        tfadv.export.to_onnx(model, tmp_path / "m.onnx")
    message = str(info.value)
    assert "'Lgamma'" in message
    assert "layer 'log_gamma' (LogGamma)" in message
    assert "tfadv.export.to_saved_model" in message and "opset=" in message
    assert not (tmp_path / "m.onnx").exists()
    # The SavedModel route runs every TensorFlow op.
    path = tfadv.export.to_saved_model(model, tmp_path / "sm")
    x = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    assert tfadv.export.verify(path, model, x).passed


def test_conversion_failure_is_a_value_error(tmp_path, monkeypatch):
    import tf2onnx

    def broken(*args, **kwargs):
        raise RuntimeError("boom in a handler")

    monkeypatch.setattr(tf2onnx.convert, "from_function", broken)
    with pytest.raises(ValueError, match="tf2onnx could not convert.*boom.*to_saved_model"):
        tfadv.export.to_onnx(tiny_cnn(), tmp_path / "m.onnx")


def test_multi_output_and_multi_input_models(tmp_path):
    inputs = keras.Input((4, 4, 1))
    flat = keras.layers.Flatten()(inputs)
    two_heads = keras.Model(inputs, [keras.layers.Dense(2)(flat), keras.layers.Dense(3)(flat)])
    with pytest.raises(ValueError, match="returns 2 outputs"):
        tfadv.export.to_saved_model(two_heads, tmp_path)
    a, b = keras.Input((4, 4, 1)), keras.Input((4, 4, 1))
    two_inputs = keras.Model([a, b], keras.layers.Dense(2)(keras.layers.Flatten()(a + b)))
    with pytest.raises(ValueError, match="has 2 inputs"):
        tfadv.export.to_onnx(two_inputs, tmp_path / "m.onnx")


def test_not_a_model(tmp_path):
    with pytest.raises(TypeError, match="must be a `keras.Model`"):
        tfadv.export.to_saved_model(lambda x: x, tmp_path)


def test_softmax_output_warns(tmp_path):
    model = keras.Sequential([tiny_cnn(), keras.layers.Softmax()])
    with pytest.warns(UserWarning, match="softmax probabilities rather than logits"):
        tfadv.export.to_saved_model(model, tmp_path)


def test_verify_argument_errors(tmp_path):
    model = tiny_cnn()
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    y = np.array([0, 1, 2, 3])
    path = tfadv.export.to_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="needs labels"):
        tfadv.export.verify(path, model, x, attack=lambda m, x, y: x)
    with pytest.raises(ValueError, match="must be a callable"):
        tfadv.export.verify(path, model, x, y, attack="pgd")
    with pytest.raises(ValueError, match=r"scaled to \[0, 1\]"):
        tfadv.export.verify(path, model, x * 255.0)
    with pytest.raises(ValueError, match=r"one integer label per image"):
        tfadv.export.verify(path, model, x, y[:2])
    with pytest.raises(ValueError, match="shaped like `x`"):
        tfadv.export.verify(path, model, x, y, attack=lambda m, x, y: x[:2])
    with pytest.raises(ValueError, match="Received: atol="):
        tfadv.export.verify(path, model, x, atol=-1.0)
    with pytest.raises(ValueError, match="No exported model"):
        tfadv.export.verify(tmp_path / "missing.onnx", model, x)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="must be an `.onnx` file or a SavedModel"):
        tfadv.export.verify(tmp_path / "notes.txt", model, x)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="TF-Serving base folder"):
        tfadv.export.verify(tmp_path / "empty", model, x)
    with pytest.raises(ValueError, match="exported from another model"):
        tfadv.export.verify(path, tiny_cnn(num_classes=3), x)
