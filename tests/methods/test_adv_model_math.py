"""Exact checks of AdvModel's train_step against hand computation and plain Keras training."""

import keras
import numpy as np
import pytest

import tfadv


def linear_classifier(w, b):
    model = keras.Sequential([keras.Input((w.shape[0],)), keras.layers.Dense(w.shape[1])])
    model.layers[0].set_weights([w, b])
    return model


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def test_one_fgsm_training_step_matches_hand_computation():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 3)).astype("float32")
    b = rng.normal(size=3).astype("float32")
    x = rng.uniform(0.2, 0.8, size=(8, 5)).astype("float32")
    y = rng.integers(0, 3, 8)
    eps, lr = 0.1, 0.5

    # By hand: FGSM example, then one SGD step on the mean cross-entropy at it.
    p = softmax(x @ w + b)
    p[np.arange(8), y] -= 1.0
    x_adv = np.clip(x + eps * np.sign(p @ w.T), 0, 1)
    p_adv = softmax(x_adv @ w + b)
    p_adv[np.arange(8), y] -= 1.0
    grad_w = x_adv.T @ p_adv / 8
    grad_b = p_adv.mean(0)
    w_expected, b_expected = w - lr * grad_w, b - lr * grad_b

    model = tfadv.AdvModel(linear_classifier(w, b), attack=tfadv.attacks.FGSM(eps=eps))
    model.compile(optimizer=keras.optimizers.SGD(lr))
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    w_got, b_got = model.classifier.layers[0].get_weights()
    np.testing.assert_allclose(w_got, w_expected, atol=1e-5)
    np.testing.assert_allclose(b_got, b_expected, atol=1e-5)


def small_cnn():
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(5),
        ]
    )


def small_cnn_without_bn():
    """ALP and weighted mixing feed one concatenated clean + adversarial batch (Kannan et al.'s code),
    so batch-norm statistics differ from PGD-AT's; their reductions are exact without batch norm."""
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(5),
        ]
    )


def data(n=32):
    rng = np.random.default_rng(1)
    return rng.random((n, 12, 12, 1)).astype("float32"), rng.integers(0, 5, n)


def plain_fit(classifier, x, y):
    classifier.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    classifier.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return classifier.get_weights()


def adv_fit(method, x, y):
    method.compile(optimizer=keras.optimizers.SGD(0.1))
    method.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return method.classifier.get_weights()


def test_pgdat_with_eps_zero_is_plain_training():
    x, y = data()
    keras.utils.set_random_seed(0)
    reference = small_cnn()
    initial = reference.get_weights()
    expected = plain_fit(reference, x, y)
    classifier = small_cnn()
    classifier.set_weights(initial)
    got = adv_fit(tfadv.methods.PGDAT(classifier, attack=tfadv.attacks.PGD(eps=0.0, steps=3)), x, y)
    for a, b in zip(expected, got):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_alp_with_lambda_zero_is_pgdat():
    x, y = data()
    keras.utils.set_random_seed(0)
    initial = small_cnn_without_bn().get_weights()
    results = []
    for make in (
        lambda c, a: tfadv.methods.PGDAT(c, attack=a),
        lambda c, a: tfadv.methods.ALP(
            c, attack=a, lambda_=0.0, clean_weight=0.0, label_smoothing=0.0
        ),
    ):
        classifier = small_cnn_without_bn()
        classifier.set_weights(initial)
        results.append(adv_fit(make(classifier, tfadv.attacks.PGD(eps=0.1, steps=3, seed=1)), x, y))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_alp_pairing_term_changes_the_update():
    x, y = data()
    keras.utils.set_random_seed(0)
    initial = small_cnn_without_bn().get_weights()
    results = []
    for lam in (0.0, 1.0):
        classifier = small_cnn_without_bn()
        classifier.set_weights(initial)
        attack = tfadv.attacks.PGD(eps=0.1, steps=3, seed=1)
        results.append(adv_fit(tfadv.methods.ALP(classifier, attack=attack, lambda_=lam), x, y))
    assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(*results))


@pytest.mark.parametrize(
    "make",
    [
        lambda c, a: tfadv.methods.CleanAdvMix(c, attack=a, mode="weighted", clean_weight=0.0),
        lambda c, a: tfadv.methods.CleanAdvMix(c, attack=a, mode="examples", clean_fraction=0.0),
        lambda c, a: tfadv.methods.CleanAdvMix(c, attack=a, mode="batches", clean_fraction=0.0),
    ],
)
def test_mixing_without_clean_data_is_pgdat(make):
    x, y = data()
    keras.utils.set_random_seed(0)
    initial = small_cnn_without_bn().get_weights()
    results = []
    for build in (lambda c, a: tfadv.methods.PGDAT(c, attack=a), make):
        classifier = small_cnn_without_bn()
        classifier.set_weights(initial)
        results.append(
            adv_fit(build(classifier, tfadv.attacks.PGD(eps=0.1, steps=3, seed=1)), x, y)
        )
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_mixing_fully_clean_is_plain_training():
    x, y = data()
    keras.utils.set_random_seed(0)
    reference = small_cnn()
    initial = reference.get_weights()
    expected = plain_fit(reference, x, y)
    for mode in ("examples", "batches"):
        classifier = small_cnn()
        classifier.set_weights(initial)
        method = tfadv.methods.CleanAdvMix(
            classifier, attack=tfadv.attacks.PGD(eps=0.3, steps=2), mode=mode, clean_fraction=1.0
        )
        got = adv_fit(method, x, y)
        for a, b in zip(expected, got):
            np.testing.assert_allclose(a, b, atol=1e-5)
        assert method.get_metrics_result()["grad_evals"] == 0.0


def test_eps_schedule_ramps_during_fit():
    x, y = data(64)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(self.model.current_eps()))

    model = tfadv.methods.PGDAT(
        small_cnn(),
        attack=tfadv.attacks.PGD(eps=0.3, steps=2),
        eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.3, ramp_epochs=2),
    )
    model.compile(optimizer="sgd")
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[Spy()])
    # Progress after batch b of epoch e is e + b/4 (the callback runs before the batch).
    np.testing.assert_allclose(seen[:4], [0.0, 0.0375, 0.075, 0.1125], atol=1e-6)
    np.testing.assert_allclose(seen[-1], 0.3, atol=1e-6)
