"""Closed-form checks on linear models, restarts, targets, early stopping and kappa."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv


def linear_model(w, b):
    model = keras.Sequential([keras.Input((w.shape[0],)), keras.layers.Dense(w.shape[1])])
    model.layers[0].set_weights([w, b])
    return model


def ce_input_grad(w, b, x, y):
    logits = x @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p @ w.T  # d CE / d x


@pytest.fixture
def linear_problem():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 3)).astype("float32")
    b = rng.normal(size=3).astype("float32")
    x = rng.uniform(0.2, 0.8, size=(10, 6)).astype("float32")
    y = rng.integers(0, 3, 10)
    return w, b, x, y


def test_fgsm_linf_closed_form(linear_problem):
    w, b, x, y = linear_problem
    model = linear_model(w, b)
    eps = 0.1
    expected = np.clip(x + eps * np.sign(ce_input_grad(w, b, x, y)), 0, 1)
    got = tfadv.attacks.FGSM(eps=eps)(model, x, y).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_fgsm_l2_closed_form(linear_problem):
    w, b, x, y = linear_problem
    model = linear_model(w, b)
    eps = 0.2  # small enough that x stays inside [0, 1]
    g = ce_input_grad(w, b, x, y)
    expected = x + eps * g / np.linalg.norm(g, axis=1, keepdims=True)
    got = tfadv.attacks.FGSM(eps=eps, norm="l2")(model, x, y).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_pgd_reaches_linf_optimum_of_a_linear_margin():
    """For a binary linear model the worst l-inf perturbation is a corner: x - eps * sign(w1 - w0)."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(8, 2)).astype("float32")
    b = np.zeros(2, "float32")
    x = rng.uniform(0.3, 0.7, size=(12, 8)).astype("float32")
    y = np.zeros(12, dtype="int64")
    eps = 0.2
    model = linear_model(w, b)
    optimum = x + eps * np.sign(w[:, 1] - w[:, 0])  # maximises z_1 - z_0, hence CE of class 0
    got = tfadv.attacks.PGD(eps=eps, step_size=0.05, steps=20)(model, x, y).numpy()
    np.testing.assert_allclose(got, optimum, atol=1e-6)


def test_restarts_never_worse_than_one_run():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((10,)), keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(4)]
    )
    rng = np.random.default_rng(2)
    x = rng.random((200, 10)).astype("float32")
    y = rng.integers(0, 4, 200)
    single = tfadv.attacks.PGD(eps=0.05, steps=3, restarts=1, seed=5)
    multi = tfadv.attacks.PGD(eps=0.05, steps=3, restarts=4, seed=5)  # restart 0 is the single run
    x1, x4 = single(model, x, y).numpy(), multi(model, x, y).numpy()
    logits1, logits4 = model(x1).numpy(), model(x4).numpy()
    wrong1 = logits1.argmax(1) != y
    wrong4 = logits4.argmax(1) != y
    assert np.all(wrong4[wrong1])  # every example broken by one run stays broken
    ce = keras.losses.sparse_categorical_crossentropy
    loss1 = ce(y, logits1, from_logits=True).numpy()
    loss4 = ce(y, logits4, from_logits=True).numpy()
    both_fail = ~wrong1 & ~wrong4
    assert np.all(loss4[both_fail] >= loss1[both_fail] - 1e-5)


def test_targeted_attack_lowers_target_loss():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5)])
    x = np.random.default_rng(3).random((50, 10)).astype("float32")
    target = np.full(50, 3)
    ce = keras.losses.sparse_categorical_crossentropy
    before = ce(target, model(x), from_logits=True).numpy()
    x_adv = tfadv.attacks.PGD(eps=0.2, steps=10, targeted=True)(model, x, target)
    after = ce(target, model(x_adv), from_logits=True).numpy()
    assert np.all(after < before)


def test_cw_and_kl_losses_move_the_input():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5)])
    x = np.random.default_rng(3).random((20, 10)).astype("float32")
    y = np.argmax(model(x).numpy(), axis=1)
    for loss in ("cw", "kl"):
        x_adv = tfadv.attacks.PGD(eps=0.1, steps=10, loss=loss, random_start=loss == "kl")(
            model, x, y
        ).numpy()
        assert np.abs(x_adv - x).max() > 0.05
    x_adv = tfadv.attacks.PGD(eps=0.3, steps=20, loss="cw")(model, x, y)
    assert np.mean(np.argmax(model(x_adv).numpy(), 1) != y) > 0.5


def test_early_stopped_with_tau_k_equals_pgd():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((10,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(4)]
    )
    x = np.random.default_rng(4).random((40, 10)).astype("float32")
    y = np.random.default_rng(5).integers(0, 4, 40)
    es = tfadv.attacks.EarlyStoppedPGD(eps=0.2, step_size=0.03, steps=8, tau=8, omega=0.0, seed=9)
    pgd = tfadv.attacks.PGD(eps=0.2, step_size=0.03, steps=8, seed=9)
    np.testing.assert_allclose(es(model, x, y).numpy(), pgd(model, x, y).numpy(), atol=1e-7)


def _manual_early_stopped(model, x, y, eps, step, steps, tau):
    """A per-example Python transcription of FAT's earlystop loop (no random start, omega 0)."""
    x_adv = x.copy()
    control = np.full(len(x), tau)
    active = np.ones(len(x), bool)
    kappa = np.zeros(len(x))
    evals = np.zeros(len(x))
    for _ in range(steps):
        if not active.any():
            break
        xt = tf.constant(x_adv)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            logits = model(xt, training=False)
            loss = tf.reduce_sum(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
            )
        grad = tape.gradient(loss, xt).numpy()
        pred = logits.numpy().argmax(1)
        for i in range(len(x)):
            if not active[i]:
                continue
            if pred[i] == y[i]:
                kappa[i] += 1
            elif control[i] == 0:
                active[i] = False
                continue
            else:
                control[i] -= 1
            x_adv[i] = np.clip(
                np.clip(x_adv[i] + step * np.sign(grad[i]), x[i] - eps, x[i] + eps), 0, 1
            )
            evals[i] += 1
    return x_adv, kappa, evals


@pytest.mark.parametrize("tau", [0, 2])
def test_early_stopped_matches_step_by_step_count(tau):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((10,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(4)]
    )
    rng = np.random.default_rng(6)
    x = rng.random((40, 10)).astype("float32")
    y = rng.integers(0, 4, 40).astype("int32")
    attack = tfadv.attacks.EarlyStoppedPGD(
        eps=0.3, step_size=0.04, steps=10, tau=tau, random_init="none", omega=0.0
    )
    result = attack.run(model, x, y)
    x_ref, kappa_ref, evals_ref = _manual_early_stopped(model, x, y, 0.3, 0.04, 10, tau)
    np.testing.assert_allclose(result.x_adv.numpy(), x_ref, atol=1e-6)
    np.testing.assert_array_equal(result.info["kappa"].numpy(), kappa_ref)
    np.testing.assert_array_equal(result.info["grad_evals"].numpy(), evals_ref)
    assert kappa_ref.min() < kappa_ref.max()  # the case is not trivial


def test_per_call_tau_and_plain_calls_on_one_instance():
    """Calls with and without the per-call `tau` share the attack (and its compiled function)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(4)])
    x = np.random.default_rng(7).random((12, 10)).astype("float32")
    y = np.random.default_rng(8).integers(0, 4, 12)
    attack = tfadv.attacks.EarlyStoppedPGD(eps=0.2, step_size=0.05, steps=4, tau=1, seed=0)
    plain = attack(model, x, y).numpy()
    np.testing.assert_array_equal(attack(model, x, y, tau=1).numpy(), plain)
    smaller = attack(model, x[:5], y[:5], tau=0).numpy()  # another batch size, with the option
    assert smaller.shape == (5, 10) and np.abs(smaller - x[:5]).max() <= 0.2 + 1e-6
