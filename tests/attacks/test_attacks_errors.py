"""Bad arguments and bad input raise ValueError/TypeError quoting the received value."""

import keras
import numpy as np
import pytest

import tfadv
from tests.conftest import tiny_cnn


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: tfadv.attacks.PGD(eps=-0.1), "eps=-0.1"),
        (lambda: tfadv.attacks.PGD(steps=0), "steps=0"),
        (lambda: tfadv.attacks.PGD(step_size=0.0), "step_size=0.0"),
        (lambda: tfadv.attacks.PGD(norm="l7"), "norm='l7'"),
        (lambda: tfadv.attacks.PGD(loss="hinge"), "loss='hinge'"),
        (lambda: tfadv.attacks.PGD(restarts=0), "restarts=0"),
        (lambda: tfadv.attacks.FGSM(eps=float("nan")), "eps=nan"),
        (lambda: tfadv.attacks.FGSM(step_size=-1.0), "step_size=-1.0"),
        (lambda: tfadv.attacks.PGD(loss="kl", targeted=True), "loss='kl'"),
        (lambda: tfadv.attacks.EarlyStoppedPGD(tau=-1), "tau=-1"),
        (lambda: tfadv.attacks.EarlyStoppedPGD(steps=0), "steps=0"),
        (lambda: tfadv.attacks.EarlyStoppedPGD(random_init="laplace"), "random_init='laplace'"),
    ],
)
def test_bad_arguments(factory, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        factory()


def test_eps_type_error():
    with pytest.raises(TypeError, match="eps='0.3'"):
        tfadv.attacks.PGD(eps="0.3")


@pytest.fixture
def setup():
    model = tiny_cnn()
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    y = np.array([0, 1, 2, 3])
    return model, x, y


def test_nan_images(setup):
    model, x, y = setup
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tfadv.attacks.PGD(steps=1)(model, x, y)


def test_pixels_outside_unit_box(setup):
    model, x, y = setup
    with pytest.raises(ValueError, match=r"\[0, 1\].*max=25"):
        tfadv.attacks.PGD(steps=1)(model, x * 255, y)


def test_labels_out_of_range(setup):
    model, x, y = setup
    with pytest.raises(ValueError, match="labels outside the model's classes.*max=12"):
        tfadv.attacks.PGD(steps=1)(model, x, np.array([0, 1, 2, 12]))
    with pytest.raises(ValueError, match="min=-1"):
        tfadv.attacks.FGSM()(model, x, np.array([0, -1, 2, 3]))


def test_probability_outputs_rejected(setup):
    _, x, y = setup
    model = keras.Sequential([tiny_cnn(), keras.layers.Softmax()])
    with pytest.raises(ValueError, match="logits.*softmax"):
        tfadv.attacks.PGD(steps=1)(model, x, y)


def test_runtime_eps_validated(setup):
    model, x, y = setup
    with pytest.raises(ValueError, match="eps=-1"):
        tfadv.attacks.PGD(steps=1)(model, x, y, eps=-1)
