"""TRADES: reduction to clean training at beta = 0, the loss by hand, the default inner problem."""

import keras
import numpy as np
import pytest

import tfadv
from tfadv.attacks import AttackResult, EarlyStoppedPGD


def small_dense(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(3),
        ]
    )


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 0.9, size=(n, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, n).astype("int32")
    return x, y


def kl_attack(steps=2):
    return EarlyStoppedPGD(
        eps=0.1,
        step_size=0.05,
        steps=steps,
        tau=steps,
        random_init="normal",
        omega=0.0,
        loss="kl",
        seed=3,
    )


def test_trades_with_beta_zero_equals_clean_training():
    x, y = data()
    reference = small_dense()
    classifier = small_dense()
    classifier.set_weights(reference.get_weights())

    reference.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    reference.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)

    model = tfadv.methods.TRADES(classifier, attack=kl_attack(), beta=0.0)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)

    for got, expected in zip(classifier.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-6)
    assert not np.allclose(classifier.get_weights()[0], small_dense().get_weights()[0])


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("beta", [1.0, 6.0])
def test_trades_loss_is_clean_ce_plus_beta_kl(beta):
    x, y = data(8)
    x_adv = np.clip(x + 0.05 * np.sign(np.random.default_rng(1).normal(size=x.shape)), 0, 1)
    x_adv = x_adv.astype("float32")
    classifier = small_dense()
    model = tfadv.methods.TRADES(classifier, attack=kl_attack(), beta=beta)
    clean = classifier(x).numpy()
    adv = AttackResult(x_adv, clean, {"grad_evals": np.zeros(8, "float32")})
    loss, outputs = model.compute_adv_loss(x, y, adv)

    p, q = _softmax(clean.astype("float64")), _softmax(classifier(x_adv).numpy().astype("float64"))
    ce = -np.log(p[np.arange(8), y])
    kl = np.sum(p * (np.log(p) - np.log(q)), axis=1)
    np.testing.assert_allclose(float(loss), np.mean(ce + beta * kl), rtol=1e-5)
    np.testing.assert_allclose(outputs["natural_loss"], ce, rtol=1e-5)
    np.testing.assert_allclose(outputs["robust_loss"], kl, rtol=1e-3, atol=1e-6)


def test_trades_default_inner_problem_is_the_reference_one():
    model = tfadv.methods.TRADES(small_dense())
    attack = model.attack
    assert isinstance(attack, EarlyStoppedPGD)
    assert (attack.eps, attack.step_size, attack.steps) == (0.031, 0.007, 10)
    assert (attack.tau, attack.random_init, attack.omega, attack.loss) == (10, "normal", 0.0, "kl")
    assert model.beta == 6.0


def test_trades_inner_maximisation_increases_the_kl():
    x, y = data(16)
    classifier = small_dense()
    result = kl_attack(steps=5).run(classifier, x, y)
    p = _softmax(classifier(x).numpy())
    q = _softmax(classifier(result.x_adv).numpy())
    kl = np.sum(p * (np.log(p) - np.log(q)), axis=1)
    assert np.all(np.abs(result.x_adv.numpy() - x) <= 0.1 + 1e-6)
    assert kl.mean() > 1e-4
    np.testing.assert_array_equal(result.info["grad_evals"].numpy(), 5.0)


def test_trades_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"Received: beta=-1\.0"):
        tfadv.methods.TRADES(small_dense(), beta=-1.0)
    with pytest.raises(ValueError, match="loss='kl'"):
        tfadv.methods.TRADES(small_dense(), attack=tfadv.attacks.PGD(eps=0.1, steps=2))
