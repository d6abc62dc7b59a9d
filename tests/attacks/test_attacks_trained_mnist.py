"""Attacks against a small CNN trained for one epoch on the embedded MNIST digits."""

import keras
import numpy as np
import pytest

import tfadv


@pytest.fixture(scope="module")
def trained(mnist_small):
    (x_train, y_train), (x_test, y_test) = mnist_small
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=1, batch_size=64, verbose=0)
    return model, x_test[:300], y_test[:300]


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))


def test_robust_accuracy_falls_with_eps_and_vanishes(trained):
    model, x, y = trained
    clean = accuracy(model, x, y)
    assert clean > 0.85
    accs = [clean]
    for eps in (0.05, 0.1, 0.2, 0.5):
        x_adv = tfadv.attacks.PGD(eps=eps, steps=20, seed=0)(model, x, y)
        accs.append(accuracy(model, x_adv, y))
    assert all(a >= b for a, b in zip(accs, accs[1:])), accs
    assert accs[1] < clean
    assert accs[-1] <= 0.02, accs


def test_pgd_stronger_than_fgsm(trained):
    model, x, y = trained
    fgsm = accuracy(model, tfadv.attacks.FGSM(eps=0.1)(model, x, y), y)
    pgd = accuracy(model, tfadv.attacks.PGD(eps=0.1, steps=20)(model, x, y), y)
    assert pgd <= fgsm


def test_early_stopped_tau_k_equals_pgd_on_cnn(trained):
    model, x, y = trained
    es = tfadv.attacks.EarlyStoppedPGD(eps=0.1, step_size=0.02, steps=10, tau=10, omega=0.0, seed=1)
    pgd = tfadv.attacks.PGD(eps=0.1, step_size=0.02, steps=10, seed=1)
    np.testing.assert_allclose(es(model, x, y).numpy(), pgd(model, x, y).numpy(), atol=1e-6)


def test_kappa_and_budget_on_cnn(trained):
    model, x, y = trained
    result = tfadv.attacks.EarlyStoppedPGD(eps=0.2, step_size=0.02, steps=10, tau=0).run(
        model, x, y
    )
    kappa = result.info["kappa"].numpy()
    evals = result.info["grad_evals"].numpy()
    assert kappa.min() >= 0 and kappa.max() <= 10
    assert evals.mean() < 10  # early stopping saves gradient steps
    # With tau = 0 an example steps exactly while it is still correctly classified: kappa == steps.
    np.testing.assert_array_equal(kappa, evals)
    assert (kappa < 10).any() and (kappa > 0).any()
