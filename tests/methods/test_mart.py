"""MART: the loss on hand-computed logits, its reductions, the default inner problem."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tfadv.attacks import AttackResult, EarlyStoppedPGD


class FixedLogits(keras.Model):
    """Returns a fixed logit row per input image, picked by the image's first pixel."""

    def __init__(self, table, **kwargs):
        super().__init__(**kwargs)
        self.table = tf.constant(table, tf.float32)

    def call(self, x, training=None):
        index = tf.cast(tf.round(tf.reshape(x, [tf.shape(x)[0], -1])[:, 0] * 10.0), tf.int32)
        return tf.gather(self.table, index)


def numpy_mart(clean, adv, y, beta):
    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    p_nat, p_adv = softmax(clean), softmax(adv)
    rows = np.arange(len(y))
    wrong = p_adv.copy()
    wrong[rows, y] = -1.0
    runner_up = wrong.max(axis=1)
    bce = -np.log(p_adv[rows, y]) - np.log(1.0001 - runner_up + 1e-12)
    kl = (p_nat * (np.log(p_nat) - np.log(p_adv + 1e-12))).sum(axis=1)
    return np.mean(bce + beta * kl * (1.0000001 - p_nat[rows, y])), np.mean(bce)


TABLE = np.array(
    [[2.0, 0.5, -1.0], [0.1, 0.3, 0.2], [-1.0, 3.0, 0.0], [1.0, 1.0, 4.0], [0.0, -2.0, 2.5]],
    "float32",
)


def batch():
    # Clean images pick rows 0..2, their adversarial counterparts rows 2..4.
    x = np.zeros((3, 2, 2, 1), "float32") + np.array([0.0, 0.1, 0.2])[:, None, None, None]
    x_adv = x + 0.2
    return x, x_adv.astype("float32"), np.array([0, 2, 1], "int32")


@pytest.mark.parametrize("beta", [0.0, 6.0])
def test_loss_matches_hand_computed_logits(beta):
    x, x_adv, y = batch()
    model = tfadv.methods.MART(FixedLogits(TABLE), beta=beta)
    adv = AttackResult(tf.constant(x_adv), None, {"grad_evals": tf.zeros(3)})
    result = model.compute_adv_loss(tf.constant(x), tf.constant(y), adv)
    expected, bce_only = numpy_mart(TABLE[[0, 1, 2]], TABLE[[2, 3, 4]], y, beta)
    np.testing.assert_allclose(float(result.loss), expected, rtol=1e-5)
    np.testing.assert_allclose(np.mean(result.extras["bce_loss"]), bce_only, rtol=1e-5)
    if beta == 0.0:  # beta = 0 is the boosted cross-entropy alone
        np.testing.assert_allclose(float(result.loss), bce_only, rtol=1e-6)


def test_without_perturbation_the_kl_term_vanishes():
    x, _, y = batch()
    model = tfadv.methods.MART(FixedLogits(TABLE), beta=6.0)
    adv = AttackResult(tf.constant(x), None, {"grad_evals": tf.zeros(3)})
    result = model.compute_adv_loss(tf.constant(x), tf.constant(y), adv)
    np.testing.assert_allclose(result.extras["robust_loss"], 0.0, atol=1e-6)
    np.testing.assert_allclose(float(result.loss), np.mean(result.extras["bce_loss"]), rtol=1e-5)


def test_default_attack_and_knobs():
    model = tfadv.methods.MART(FixedLogits(TABLE))
    assert isinstance(model.attack, EarlyStoppedPGD) and model.attack.loss == "ce"
    assert model.attack.random_init == "normal" and model.attack.tau == model.attack.steps
    assert model.beta == 6.0
    built = tfadv.methods.MART.from_knobs(
        FixedLogits(TABLE), budget=tfadv.AttackBudget(eps=0.1, steps=3), beta=2.0
    )
    assert built.beta == 2.0 and built.attack.steps == 3 and built.attack.tau == 3
    with pytest.raises(ValueError, match="Received: beta=-1"):
        tfadv.methods.MART(FixedLogits(TABLE), beta=-1)
