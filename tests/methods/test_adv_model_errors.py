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
