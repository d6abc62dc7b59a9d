"""Bad arguments and bad data raise ValueError/TypeError quoting the received value."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv


def classifier():
    return keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])


@pytest.mark.parametrize(
    "factory, error, message",
    [
        (lambda: tfadv.AdvModel("not a model"), TypeError, "classifier='not a model'"),
        (lambda: tfadv.AdvModel(classifier(), attack="pgd"), TypeError, "attack='pgd'"),
        (lambda: tfadv.AdvModel(classifier(), eps_schedule=0.3), TypeError, "eps_schedule=0.3"),
        (lambda: tfadv.methods.FastAT(classifier(), eps=-0.1), ValueError, "eps=-0.1"),
        (lambda: tfadv.methods.FastAT(classifier(), alpha_ratio=0), ValueError, "alpha_ratio=0"),
        (lambda: tfadv.methods.ALP(classifier(), lambda_=-1), ValueError, "lambda_=-1"),
        (lambda: tfadv.methods.ALP(classifier(), clean_weight=2), ValueError, "clean_weight=2"),
        (lambda: tfadv.methods.CleanAdvMix(classifier(), mode="half"), ValueError, "mode='half'"),
        (
            lambda: tfadv.methods.CleanAdvMix(classifier(), clean_fraction=1.5),
            ValueError,
            "clean_fraction=1.5",
        ),
        (lambda: tfadv.methods.MAT(classifier(), strategy="min"), ValueError, "strategy='min'"),
        (
            lambda: tfadv.methods.MAT(classifier(), l2_attack=tfadv.attacks.PGD()),
            ValueError,
            "l2_attack=PGD",
        ),
        (lambda: tfadv.schedules.LinearRamp(ramp_epochs=0), ValueError, "ramp_epochs=0"),
        (lambda: tfadv.schedules.PiecewiseConstant([5, 2], [0, 1, 2]), ValueError, "boundaries"),
        (lambda: tfadv.schedules.PiecewiseConstant([5], [0]), ValueError, "values=[0.0]"),
    ],
)
def test_bad_arguments(factory, error, message):
    with pytest.raises(
        error, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")
    ):
        factory()


def test_compile_rejects_a_loss():
    with pytest.raises(ValueError, match="loss='mse'"):
        tfadv.methods.PGDAT(classifier()).compile(optimizer="adam", loss="mse")


@pytest.fixture
def model():
    m = tfadv.methods.PGDAT(classifier(), attack=tfadv.attacks.PGD(eps=0.1, steps=1))
    m.compile(optimizer="adam")
    return m


def images(n=8):
    return np.random.default_rng(0).random((n, 6, 6, 1)).astype("float32")


def test_fit_rejects_uint8_scale_pixels(model):
    with pytest.raises(ValueError, match=r"max=2"):
        model.fit(images() * 255, np.zeros(8), verbose=0)


def test_fit_rejects_nan(model):
    x = images()
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(x, np.zeros(8), verbose=0)


def test_fit_rejects_labels_out_of_range(model):
    with pytest.raises(ValueError, match="max=3"):
        model.fit(images(), np.array([0, 1, 2, 3, 0, 1, 2, 0]), verbose=0)


def test_tf_data_errors_surface_as_value_error(model):
    bad = tf.data.Dataset.from_tensor_slices((images() * 3.0, np.zeros(8, "int32"))).batch(4)
    with pytest.raises(ValueError, match="max=2"):
        model.fit(bad, verbose=0)
    bad_labels = tf.data.Dataset.from_tensor_slices((images(), np.full(8, 7, "int32"))).batch(4)
    with pytest.raises(ValueError, match="num_classes=3.*max=7"):
        model.fit(bad_labels, verbose=0)


def test_probability_output_classifier_rejected():
    probs = keras.Sequential([classifier(), keras.layers.Softmax()])
    m = tfadv.methods.PGDAT(probs, attack=tfadv.attacks.PGD(eps=0.1, steps=1))
    m.compile(optimizer="adam")
    with pytest.raises(ValueError, match="logits"):
        m.fit(images(), np.zeros(8), verbose=0)


# ------------------------------------------------------------------ input holes, both data paths
@pytest.mark.parametrize("name", ["pgdat", "trades"])
@pytest.mark.parametrize("path", ["numpy", "tf.data"])
def test_fractional_labels_are_rejected_not_truncated(name, path):
    m = tfadv.methods.get(name).from_knobs(classifier(), budget={"eps": 0.1, "steps": 1})
    m.compile(optimizer="adam")
    y = np.full(8, 1.5, "float32")
    y[0] = 3.5
    data = (images(), y)
    if path == "tf.data":
        data = (tf.data.Dataset.from_tensor_slices(data).batch(4),)
    with pytest.raises(ValueError, match=r"integer class ids.*Received: y"):
        m.fit(*data, verbose=0)


def test_negative_eps_schedule_is_rejected():
    schedule = tfadv.schedules.LinearRamp(0.0, -0.3, ramp_epochs=5)
    with pytest.raises(ValueError, match=r"eps_schedule.*>= 0.*Received: eps_schedule=LinearRamp"):
        tfadv.methods.PGDAT(classifier(), eps_schedule=schedule)
    with pytest.raises(ValueError, match=r"tau.*Received: tau=Piecewise"):
        tfadv.methods.FAT(classifier(), tau=tfadv.schedules.PiecewiseConstant([1], [1, -2]))


@pytest.mark.parametrize("path", ["numpy", "tf.data"])
@pytest.mark.parametrize("call", ["fit", "evaluate"])
def test_one_hot_labels_get_a_clear_error(model, path, call):
    y = np.eye(3, dtype="float32")[np.arange(8) % 3]
    data = (images(), y)
    if path == "tf.data":
        data = (tf.data.Dataset.from_tensor_slices(data).batch(4),)
    with pytest.raises(ValueError, match=r"not one-hot.*Received: y.*shape \(.*3\)"):
        getattr(model, call)(*data, verbose=0)


def test_empty_images_are_named_as_empty_not_softmax():
    attack = tfadv.attacks.PGD(eps=0.1, steps=1)
    with pytest.raises(ValueError, match=r"`x` is empty.*Received: x of shape \(0, 6, 6, 1\)"):
        attack(classifier(), np.zeros((0, 6, 6, 1), "float32"), np.zeros(0, "int64"))


def test_in_graph_logits_check_ignores_an_empty_batch():
    # MAT may give one of its attacks none of a batch's examples: not a probability output.
    from tfadv.utils import validation

    validation.graph_assert_logits(tf.zeros([0, 4]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must output logits"):
        validation.graph_assert_logits(tf.fill([2, 4], 0.25))
