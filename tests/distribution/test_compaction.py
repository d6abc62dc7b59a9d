"""The early-stopped attack steps only its active examples, with the results of the masked loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tfadv.attacks import _ops


def masked_reference(attack, model, x, y, eps, tau):
    """The uncompacted loop: the whole batch is stepped while any example is active, then masked."""
    x, y = tf.constant(x), tf.constant(y)
    clean_logits = _ops.model_logits(model, x)
    x_adv = attack._start(x, eps)
    n = x.shape[0]
    control, active = np.full(n, tau), np.ones(n, bool)
    kappa, grad_evals = np.zeros(n, "float32"), np.zeros(n, "float32")
    for i in range(attack.steps):
        if not active.any():
            break
        _, logits, grad = attack.value_and_grad(model, x_adv, y, clean_logits)
        wrong = np.argmax(logits.numpy(), -1) != y.numpy()
        kappa += active & ~wrong
        stop = active & wrong & (control == 0)
        control = np.where(active & wrong & (control > 0), control - 1, control)
        active = active & ~stop
        stepped = attack.threat_model.step(x_adv, grad, attack.step_size)
        if attack.omega > 0:
            stepped += _ops.normal(tf.shape(x), attack.seed_key(x, i + 1), attack.omega)
        stepped = attack.project(stepped, x, eps)
        x_adv = _ops.select(tf.constant(active), stepped, x_adv)
        grad_evals += active
    return x_adv.numpy(), kappa, grad_evals


def model_and_data():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((12,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(3)]
    )
    rng = np.random.default_rng(0)
    return model, rng.random((24, 12)).astype("float32"), rng.integers(0, 3, 24).astype("int32")


@pytest.mark.parametrize("loss", ["ce", "kl"])
@pytest.mark.parametrize("tau", [0, 1])
def test_compacted_attack_equals_the_masked_loop(tau, loss):
    model, x, y = model_and_data()
    attack = tfadv.attacks.EarlyStoppedPGD(
        eps=0.2, step_size=0.05, steps=6, tau=tau, omega=0.001, loss=loss, seed=3
    )
    result = attack.run(model, x, y)
    x_adv, kappa, grad_evals = masked_reference(attack, model, x, y, 0.2, tau)
    # Equal up to float32 rounding (the reference runs eagerly, the attack as one graph).
    np.testing.assert_allclose(result.x_adv.numpy(), x_adv, rtol=0, atol=2.0**-23)
    np.testing.assert_array_equal(result.info["kappa"].numpy(), kappa)
    np.testing.assert_array_equal(result.info["grad_evals"].numpy(), grad_evals)
    assert grad_evals.min() < grad_evals.max()  # some examples stopped before others


def test_compacted_attack_under_xla_without_retracing():
    model, x, y = model_and_data()
    # No random draws: XLA's stateless generator differs from the CPU kernel's.
    attack = tfadv.attacks.EarlyStoppedPGD(
        eps=0.2, step_size=0.05, steps=6, tau=1, random_init="none", omega=0.0
    )
    expected = attack.run(model, x, y).x_adv.numpy()
    compiled = tf.function(lambda x, y: attack.run(model, x, y).x_adv, jit_compile=True)
    np.testing.assert_allclose(compiled(x, y).numpy(), expected, atol=1e-6)
    compiled(x[:20], y[:20])  # another batch size, fine
    traced = tf.function(lambda x, y, tau: attack.run(model, x, y, tau=tau).x_adv)
    for tau in range(3):  # the active set changes size every step: no retracing
        traced(x, y, tf.constant(tau))
    assert traced.experimental_get_tracing_count() == 1
