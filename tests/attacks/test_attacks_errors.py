"""Bad arguments raise ValueError/TypeError quoting the received value.

Bad inputs (NaN, pixels outside [0, 1], labels outside the classes, a negative call radius) are
checked for every registered attack in `test_attacks_invariants.py`.
"""

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
        (lambda: tfadv.attacks.Square(p_init=0.0), "p_init=0.0"),
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


def test_probability_outputs_rejected(setup):
    _, x, y = setup
    model = keras.Sequential([tiny_cnn(), keras.layers.Softmax()])
    with pytest.raises(ValueError, match="logits.*softmax"):
        tfadv.attacks.PGD(steps=1)(model, x, y)
