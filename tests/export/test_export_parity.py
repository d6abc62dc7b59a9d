"""SavedModel and ONNX exports compute the Keras model: logits, argmax and robustness parity.

Every model kind (Sequential, Functional with in-model normalisation, subclassed, mixed precision,
an `AdvModel`, each family of the zoo at a tiny size) is exported in both formats and checked by
`tfadv.export.verify` with a PGD attack crafted on the Keras model, and the exported files are run
directly to check their serving contract (float32 IO, any batch size, softmax probabilities).
"""

import keras
import numpy as np
import onnxruntime
import pytest
import tensorflow as tf

import tfadv
import tfadv.export
import tfadv.models
from tests.conftest import tiny_cnn

ATOL = 1e-4


def randomize(model, seed=0, scale=0.05):
    """Moves every trainable weight off its initialisation (zero-initialised heads tie logits)."""
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign(value + rng.normal(0.0, scale, value.shape).astype(value.dtype))
    return model


def functional_with_normalization():
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.04, 0.05, 0.06])(inputs)
    x = keras.layers.Conv2D(6, 3, activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5)(x)
    return keras.Model(inputs, outputs, name="normalized")


class SubclassedNet(keras.Model):
    def __init__(self, num_classes=4, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(4, 3, strides=2, activation="relu")
        self.drop = keras.layers.Dropout(0.5)
        self.flatten = keras.layers.Flatten()
        self.head = keras.layers.Dense(num_classes)

    def call(self, x, training=None):
        return self.head(self.drop(self.flatten(self.conv(x)), training=training))


def subclassed():
    model = SubclassedNet(name="subclassed")
    model(np.zeros((1, 10, 10, 2), "float32"))
    return model


def mixed_float16():
    keras.config.set_dtype_policy("mixed_float16")
    model = tiny_cnn()  # its Dense head returns float16 logits
    assert model.outputs[0].dtype == "float16"
    return model


def adv_model():
    attack = tfadv.attacks.PGD(eps=0.1, steps=2, seed=0)
    return tfadv.AdvModel(tiny_cnn(), attack=attack)


BUILDERS = {
    "sequential": tiny_cnn,
    "functional_normalization": functional_with_normalization,
    "subclassed": subclassed,
    "mixed_float16": mixed_float16,
    "adv_model": adv_model,
    "small_cnn": lambda: tfadv.models.small_cnn(),
    "madry_cnn": lambda: tfadv.models.madry_cnn(),
    "resnet": lambda: tfadv.models.resnet(8, input_shape=(16, 16, 3), mean=0.5, std=0.25),
    "preact_resnet18": lambda: tfadv.models.preact_resnet18(width=4, input_shape=(16, 16, 3)),
    "wide_resnet": lambda: tfadv.models.wide_resnet(10, 1, input_shape=(16, 16, 3)),
    "vgg11": lambda: tfadv.models.vgg11(width=4),
}


def input_shape_of(model):
    classifier = getattr(model, "classifier", model)
    inputs = getattr(classifier, "inputs", None)
    if inputs:
        return tuple(inputs[0].shape[1:])
    return tuple(classifier._build_shapes_dict["input_shape"][1:])


def data(shape, num_classes, n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, *shape)).astype("float32")
    y = rng.integers(0, num_classes, size=n).astype("int32")
    return x, y


def keras_logits(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False)).astype("float32")


# The larger zoo members repeat the layer types of the ones above (conv, batch norm, pooling,
# residual adds, dense): the slow tier (`-m slow`).
SLOW_BUILDERS = ("madry_cnn", "preact_resnet18", "vgg11", "small_cnn", "wide_resnet")


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_BUILDERS else n for n in BUILDERS],
)
def test_saved_model_and_onnx_parity(name, tmp_path):
    model = randomize(BUILDERS[name]())
    shape = input_shape_of(model)
    num_classes = keras_logits(model, np.zeros((1, *shape), "float32")).shape[-1]
    x, y = data(shape, num_classes)
    attack = tfadv.attacks.PGD(eps=0.1, steps=3, seed=0)
    reduced_precision = name == "mixed_float16"

    folder = tfadv.export.to_saved_model(model, tmp_path / "saved")
    onnx_path = tfadv.export.to_onnx(model, tmp_path / "model.onnx")
    assert folder == str(tmp_path / "saved" / "1")

    for path in (folder, onnx_path):
        report = tfadv.export.verify(path, model, x, y, attack=attack)
        assert report.passed, str(report)
        assert report.argmax_agreement == 1.0, str(report)
        assert report.clean_accuracy_exported == report.clean_accuracy_keras
        assert report.adv_accuracy_exported == report.adv_accuracy_keras
        assert report.attack == "PGD"
        if reduced_precision:
            # float16 kernels round differently in ONNX Runtime and TensorFlow: the default
            # tolerance widens by 8 float16 ulps at the logits' scale (clean and adversarial).
            assert ATOL < report.tolerance < 0.1
            assert report.max_abs_logit_diff <= report.tolerance
        else:
            assert report.tolerance == ATOL
            assert report.max_abs_logit_diff <= ATOL, str(report)


@pytest.mark.parametrize("name", ["sequential", "mixed_float16", "adv_model"])
def test_exported_files_serve_float32_logits_and_probabilities(name, tmp_path):
    model = randomize(BUILDERS[name]())
    shape = input_shape_of(model)
    folder = tfadv.export.to_saved_model(model, tmp_path / "saved", version=3)
    onnx_path = tfadv.export.to_onnx(model, tmp_path / "out", opset=15)
    assert onnx_path == str(tmp_path / "out" / "model.onnx")

    signature = tf.saved_model.load(folder).signatures["serving_default"]
    assert set(signature.structured_input_signature[1]) == {"images"}
    spec = signature.structured_input_signature[1]["images"]
    assert spec.dtype == tf.float32 and tuple(spec.shape) == (None, *shape)
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert session.get_inputs()[0].type == "tensor(float)"
    assert session.get_inputs()[0].shape[0] == "batch"
    assert [o.name for o in session.get_outputs()] == ["logits", "probabilities"]

    for batch in (1, 5):
        x, _ = data(shape, 2, n=batch, seed=batch)
        expected = keras_logits(model, x)
        saved = signature(images=tf.constant(x))
        onnx_logits, onnx_probabilities = session.run(None, {"images": x})
        for logits, probabilities in (
            (saved["logits"].numpy(), saved["probabilities"].numpy()),
            (onnx_logits, onnx_probabilities),
        ):
            assert logits.dtype == np.float32 and probabilities.dtype == np.float32
            assert logits.shape == (batch, expected.shape[-1])
            np.testing.assert_allclose(
                logits, expected, atol=1e-2 if name == "mixed_float16" else ATOL
            )
            np.testing.assert_allclose(
                probabilities, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), atol=1e-6
            )


def test_adv_model_exports_only_its_classifier(tmp_path):
    model = randomize(adv_model())
    classifier = model.classifier
    folder = tfadv.export.to_saved_model(model, tmp_path / "saved")
    onnx_path = tfadv.export.to_onnx(model, tmp_path / "model.onnx")

    loaded = tf.saved_model.load(folder)
    assert len(loaded.classifier_variables) == len(classifier.variables)
    saved_names = {v.name for v in loaded.classifier_variables}
    assert not any("epoch_progress" in name for name in saved_names)
    graph_def = loaded.signatures["serving_default"].graph.as_graph_def()
    op_types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        op_types |= {node.op for node in function.node_def}
    assert "Conv2D" in op_types
    assert not op_types & {"Sign", "SparseSoftmaxCrossEntropyWithLogits"}  # no attack code
    import onnx

    ops = {node.op_type for node in onnx.load(onnx_path).graph.node}
    assert "Sign" not in ops
    # Same file as exporting the classifier itself.
    x, _ = data(input_shape_of(classifier), 10, n=4)
    direct = tfadv.export.to_onnx(classifier, tmp_path / "direct.onnx")
    a = onnxruntime.InferenceSession(onnx_path).run(["logits"], {"images": x})[0]
    b = onnxruntime.InferenceSession(direct).run(["logits"], {"images": x})[0]
    np.testing.assert_array_equal(a, b)


def test_trained_adv_model_robustness_parity_on_mnist(tmp_path, mnist_small):
    (x_train, y_train), (x_test, y_test) = mnist_small
    model = tfadv.AdvModel(tiny_cnn(), attack=tfadv.attacks.PGD(eps=0.3, steps=2, seed=0))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x_train[:512], y_train[:512], batch_size=64, epochs=1, verbose=0)
    x, y = x_test[:64], y_test[:64]
    attack = tfadv.attacks.PGD(eps=0.3, steps=5, seed=0)

    for path in (
        tfadv.export.to_saved_model(model, tmp_path / "mnist"),
        tfadv.export.to_onnx(model, tmp_path / "mnist.onnx"),
    ):
        report = tfadv.export.verify(path, model, x, y, attack=attack)
        assert report.passed, str(report)
        assert report.max_abs_logit_diff <= ATOL
        assert report.clean_accuracy_keras == report.clean_accuracy_exported > 0.2
        assert report.adv_accuracy_keras == report.adv_accuracy_exported
        assert report.adv_accuracy_keras < report.clean_accuracy_keras
        text = str(report)
        assert "PASSED" in text and "adversarial accuracy" in text and "PGD" in text


def test_verify_with_a_plain_callable_attack_and_without_labels(tmp_path):
    model = randomize(tiny_cnn())
    x, y = data((28, 28, 1), 10)
    path = tfadv.export.to_onnx(model, tmp_path / "m.onnx")

    def fgsm(model, x, y):
        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = keras.losses.sparse_categorical_crossentropy(
                y, model(x, training=False), from_logits=True
            )
        return tf.clip_by_value(x + 0.1 * tf.sign(tape.gradient(loss, x)), 0.0, 1.0)

    report = tfadv.export.verify(path, model, x, y, attack=fgsm)
    assert report.passed and report.attack == "fgsm"
    report = tfadv.export.verify(path, model, x)
    assert report.passed
    assert report.clean_accuracy_keras is None and report.adv_accuracy_keras is None
    assert report.to_dict()["passed"] is True
    assert "clean accuracy" not in str(report)


def test_verify_fails_on_a_different_model(tmp_path):
    model = randomize(tiny_cnn(), seed=0)
    other = randomize(tiny_cnn(), seed=1)
    x, y = data((28, 28, 1), 10)
    path = tfadv.export.to_saved_model(model, tmp_path / "saved")
    report = tfadv.export.verify(path, other, x, y)
    assert not report.passed
    assert report.max_abs_logit_diff > ATOL
    assert "FAILED" in str(report)
    # An explicit atol is used as given.
    assert tfadv.export.verify(path, other, x, atol=1e3).passed


def test_verify_reads_the_highest_version_of_a_serving_folder(tmp_path):
    model = randomize(tiny_cnn(), seed=0)
    newer = randomize(tiny_cnn(), seed=1)
    x, _ = data((28, 28, 1), 10, n=4)
    tfadv.export.to_saved_model(model, tmp_path / "serving", version=1)
    tfadv.export.to_saved_model(newer, tmp_path / "serving", version=2)
    report = tfadv.export.verify(tmp_path / "serving", newer, x)
    assert report.passed and report.path.endswith("2")
