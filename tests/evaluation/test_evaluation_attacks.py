"""APGD, APGD-T and Square: strength, math, EOT and arguments."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
import tfadv.evaluation
from tests.evaluation.conftest import AlwaysNoise
from tfadv.attacks.apgd import checkpoint_schedule, dlr_loss, targeted_dlr_loss


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))


def test_apgd_at_least_as_strong_as_pgd20(trained_cnn):
    model, x, y = trained_cnn
    eps = 0.1
    clean = accuracy(model, x, y)
    pgd = accuracy(model, tfadv.attacks.PGD(eps=eps, steps=20, seed=0)(model, x, y), y)
    apgd = accuracy(model, tfadv.attacks.APGD(eps=eps, steps=100, seed=0)(model, x, y), y)
    assert clean > 0.8
    assert pgd < clean
    assert apgd <= pgd + 1.0 / len(x), (apgd, pgd)


def test_apgd_targeted_breaks_what_apgd_ce_leaves(trained_cnn):
    model, x, y = trained_cnn
    eps = 0.1
    ce_adv = tfadv.attacks.APGD(eps=eps, steps=30, seed=0)(model, x, y)
    t_adv = tfadv.attacks.APGDT(eps=eps, steps=30, n_target_classes=3, seed=0)(model, x, y)
    ce_ok = np.argmax(model.predict(ce_adv, verbose=0), 1) == y
    t_ok = np.argmax(model.predict(t_adv, verbose=0), 1) == y
    assert t_ok.mean() < accuracy(model, x, y)
    # The per-example worst case of the two is no higher than either.
    worst = np.mean(ce_ok & t_ok)
    assert worst <= min(ce_ok.mean(), t_ok.mean())


@pytest.mark.parametrize(
    "factory",
    [
        lambda: tfadv.attacks.APGD(eps=0.1, steps=30, restarts=2, seed=0),
        lambda: tfadv.attacks.APGDT(eps=0.1, steps=20, n_target_classes=3, seed=0),
    ],
    ids=["apgd-ce", "apgd-t"],
)
def test_apgd_compaction_breaks_the_same_examples(trained_cnn, factory):
    """Stopping each example at its first misclassified iterate changes no verdict: the examples
    broken, and the points returned for those left, equal those of the reference behaviour (every
    example runs every iteration), for fewer gradient evaluations."""
    model, x, y = trained_cnn
    compact = factory()
    reference = type(compact).from_config({**compact.get_config(), "stop_when_fooled": False})
    assert compact.compacts and not reference.compacts
    got, want = compact.run(model, x, y), reference.run(model, x, y)
    got_x, want_x = got.x_adv.numpy(), want.x_adv.numpy()
    got_ok = np.argmax(model.predict(got_x, verbose=0), 1) == y
    want_ok = np.argmax(model.predict(want_x, verbose=0), 1) == y
    assert 0 < got_ok.sum() < len(y)
    np.testing.assert_array_equal(got_ok, want_ok)
    np.testing.assert_allclose(got_x[got_ok], want_x[want_ok], atol=1e-6)
    assert np.abs(got_x - x).max() <= 0.1 + 1e-6 and got_x.min() >= 0.0 and got_x.max() <= 1.0
    got_evals, want_evals = got.info["grad_evals"].numpy(), want.info["grad_evals"].numpy()
    np.testing.assert_array_equal(got_evals[got_ok], want_evals[got_ok])
    assert got_evals.sum() < 0.8 * want_evals.sum(), (got_evals.sum(), want_evals.sum())


class _NoGradient(keras.layers.Layer):
    def call(self, inputs):
        return tf.stop_gradient(inputs)


@pytest.mark.parametrize("norm, eps", [("linf", 0.2), ("l2", 3.0)])
def test_square_lowers_accuracy_without_gradients(trained_cnn, norm, eps):
    model, x, y = trained_cnn
    x, y = x[:64], y[:64]
    blind = keras.Sequential([keras.Input((28, 28, 1)), _NoGradient(), model])
    with tf.GradientTape() as tape:  # the wrapped model has no input gradient at all
        xt = tf.constant(x)
        tape.watch(xt)
        out = blind(xt)
    assert tape.gradient(out, xt) is None
    square = tfadv.attacks.Square(eps=eps, norm=norm, n_queries=300, seed=0)
    result = square.run(blind, x, y)
    clean = accuracy(model, x, y)
    robust = accuracy(model, result.x_adv.numpy(), y)
    assert robust < clean - 0.2, (clean, robust)
    np.testing.assert_array_equal(result.info["grad_evals"].numpy(), 0.0)
    queries = result.info["queries"].numpy()
    assert queries.min() >= 1 and queries.max() <= 301


def test_eot_averages_gradients_over_draws():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), AlwaysNoise(0.5), keras.layers.Dense(16, "relu"), keras.layers.Dense(4)]
    )
    x = np.random.default_rng(0).random((6, 8)).astype("float32")
    y = np.arange(6) % 4
    assert tfadv.evaluation.detect_randomized(model, x)
    attack = tfadv.attacks.APGD(eps=0.1, steps=2, eot_iter=3, stop_when_fooled=True, seed=0)
    evals = attack.run(model, x, y).info["grad_evals"].numpy()
    # 3 draws per forward pass; an example stops once misclassified (1 start + at most 2 steps).
    assert set(evals) <= {3.0, 6.0, 9.0}, evals
    attack = tfadv.attacks.APGD(eps=0.1, steps=2, eot_iter=3, seed=0)
    # By default with EOT every example runs every step: (1 start + 2 steps) x 3 draws.
    np.testing.assert_array_equal(attack.run(model, x, y).info["grad_evals"].numpy(), 9.0)
    deterministic = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    assert not tfadv.evaluation.detect_randomized(deterministic, x)


def test_dlr_losses_by_hand():
    logits = tf.constant([[4.0, 1.0, 3.0, 0.0, -1.0]])
    y = tf.constant([0])
    # sorted: 4, 3, 1, 0, -1; untargeted: -(4 - 3) / (4 - 1)
    np.testing.assert_allclose(dlr_loss(logits, y).numpy(), [-1.0 / 3.0], rtol=1e-6)
    # targeted at class 2: -(4 - 3) / (4 - (1 + 0) / 2)
    np.testing.assert_allclose(
        targeted_dlr_loss(logits, y, tf.constant([2])).numpy(), [-1.0 / 3.5], rtol=1e-6
    )
    # Scale invariance: the reason DLR defeats saturated softmax heads.
    np.testing.assert_allclose(dlr_loss(1000.0 * logits, y).numpy(), [-1.0 / 3.0], rtol=1e-5)


def test_checkpoint_schedule_matches_autoattack():
    is_checkpoint, window = checkpoint_schedule(100)
    points = np.flatnonzero(is_checkpoint) + 1  # iterations after which the step size is checked
    # p_1 = 22, then windows shrink by 3 down to 6: 22, 19, 16, 13, 10, 7, 6, 6 (AutoAttack).
    np.testing.assert_array_equal(points[:8], [22, 41, 57, 70, 80, 87, 93, 99])
    np.testing.assert_array_equal(window[is_checkpoint][:8], [22, 19, 16, 13, 10, 7, 6, 6])
    assert checkpoint_schedule(5)[0].sum() >= 1


def test_attack_configs_round_trip():
    for attack in (
        tfadv.attacks.APGD(eps=0.2, norm="l2", steps=7, loss="dlr", eot_iter=2, seed=1),
        tfadv.attacks.APGDT(eps=0.2, steps=7, n_target_classes=4, restarts=2),
        tfadv.attacks.Square(eps=0.1, n_queries=50, p_init=0.5, loss="ce"),
    ):
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(attack)
        )
        assert type(restored) is type(attack)
        assert restored.get_config() == attack.get_config()


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: tfadv.attacks.APGD(eps=-1.0), "eps=-1.0"),
        (lambda: tfadv.attacks.APGD(loss="cw"), "loss='cw'"),
        (lambda: tfadv.attacks.APGD(rho=0.0), "rho=0.0"),
        (lambda: tfadv.attacks.APGD(momentum=1.5), "momentum=1.5"),
        (lambda: tfadv.attacks.APGD(eot_iter=0), "eot_iter=0"),
        (lambda: tfadv.attacks.APGD(steps=0), "steps=0"),
        (lambda: tfadv.attacks.APGDT(n_target_classes=0), "n_target_classes=0"),
        (lambda: tfadv.attacks.Square(n_queries=0), "n_queries=0"),
        (lambda: tfadv.attacks.Square(p_init=1.5), "p_init=1.5"),
        (lambda: tfadv.attacks.Square(loss="dlr"), "loss='dlr'"),
        (lambda: tfadv.attacks.Square(norm="l1"), "norm='l1'"),
    ],
)
def test_bad_attack_arguments(factory, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        factory()


@pytest.mark.parametrize("cls", [tfadv.attacks.APGD, tfadv.attacks.APGDT])
def test_stop_when_fooled_must_be_none_or_a_bool(cls):
    with pytest.raises(TypeError, match="stop_when_fooled='yes'"):
        cls(stop_when_fooled="yes")
