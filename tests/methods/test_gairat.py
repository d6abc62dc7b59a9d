"""GAIRAT and GAIR-FAT: the weight function, the weighted loss, the begin epoch, the schedules."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tests.conftest import random_data, tiny_cnn
from tfadv.attacks import PGD, AttackResult, EarlyStoppedPGD
from tfadv.methods._gair import gair_weights
from tfadv.schedules import PiecewiseConstant

EPS, STEP, STEPS, SEED = 0.2, 0.05, 4, 11


def tiny_classifier(seed=0):
    return tiny_cnn(num_classes=4, input_shape=(8, 8, 1), seed=seed)


data = random_data


def full_pgd(**kwargs):
    settings = dict(eps=EPS, step_size=STEP, steps=STEPS, tau=STEPS, omega=0.0, seed=SEED)
    settings.update(kwargs)
    return EarlyStoppedPGD(**settings)


@pytest.mark.parametrize("lam", [-1.0, 0.0, 2.0])
@pytest.mark.parametrize("num_steps", [10, 7])
def test_gair_weights_have_mean_one_and_favour_small_kappa(lam, num_steps):
    kappa = tf.range(num_steps + 1, dtype=tf.float32)
    normalised, raw = gair_weights(kappa, num_steps, lam)
    normalised, raw = normalised.numpy(), raw.numpy()
    np.testing.assert_allclose(normalised.mean(), 1.0, rtol=1e-6)
    assert np.all(np.diff(normalised) < 0)  # strictly decreasing in kappa
    expected = (1 + np.tanh(lam + 5 * (1 - 2 * np.arange(num_steps + 1) / num_steps))) / 2
    np.testing.assert_allclose(raw, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(normalised, expected * len(expected) / expected.sum(), rtol=1e-5)


def test_gair_weights_for_k_10_match_the_reference_formula():
    """GAIR.py: `(tanh(lam + (floor(K/2) - kappa) * 5 / floor(K/2)) + 1) / 2`, K = 10."""
    kappa = np.array([0, 1, 3, 3, 5, 9, 10], "float64")
    expected = (np.tanh(-1.0 + (5 - kappa) * 5 / 5) + 1) / 2
    expected = expected * len(kappa) / expected.sum()
    got, _ = gair_weights(kappa.astype("float32"), 10, -1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_gair_weights_edge_cases():
    kappa = tf.constant([0.0, 2.0, 4.0])
    ones, raw = gair_weights(kappa, 4, math.inf)  # lambda = inf: no reweighting
    np.testing.assert_allclose(ones, 1.0, rtol=1e-6)
    np.testing.assert_allclose(raw, 1.0)
    extreme, _ = gair_weights(kappa, 4, -200.0)  # every raw weight underflows, still finite
    assert np.all(np.isfinite(extreme)) and abs(float(np.mean(extreme)) - 1.0) < 1e-5
    sigmoid, _ = gair_weights(kappa, 4, 0.0, "sigmoid")
    raw_sigmoid = 1 / (1 + np.exp(-(5 * (1 - 2 * np.array([0, 2, 4]) / 4))))
    np.testing.assert_allclose(sigmoid, raw_sigmoid * 3 / raw_sigmoid.sum(), rtol=1e-5)
    discrete, _ = gair_weights(kappa, 4, 0.0, "discrete")
    raw_discrete = (5 - np.array([0, 2, 4])) / 5
    np.testing.assert_allclose(discrete, raw_discrete * 3 / raw_discrete.sum(), rtol=1e-5)


def _fake_result(x, classifier, kappa):
    return AttackResult(
        tf.constant(x),
        classifier(x),
        {"grad_evals": tf.fill([len(x)], float(STEPS)), "kappa": tf.constant(kappa)},
    )


def test_gairat_loss_is_the_weighted_cross_entropy_after_the_begin_epoch():
    x, y = data(8)
    classifier = tiny_classifier()
    model = tfadv.methods.GAIRAT(classifier, attack=full_pgd(), lambda_=-1.0, begin_epoch=2)
    kappa = np.array([0, 1, 2, 3, 4, 4, 2, 0], "float32")
    adv = _fake_result(x, classifier, kappa)
    ce = keras.losses.sparse_categorical_crossentropy(y, classifier(x), from_logits=True).numpy()

    model.epoch_progress.assign(1.9)  # before the begin epoch: plain mean CE
    loss, outputs = model.compute_adv_loss(x, y, adv)
    np.testing.assert_allclose(float(loss), ce.mean(), rtol=1e-6)
    np.testing.assert_allclose(outputs["mean_weight"], 1.0)

    model.epoch_progress.assign(2.0)
    loss, outputs = model.compute_adv_loss(x, y, adv)
    w = (1 + np.tanh(-1.0 + 5 * (1 - 2 * kappa.astype("float64") / STEPS))) / 2
    np.testing.assert_allclose(float(loss), np.mean(w * 8 / w.sum() * ce), rtol=1e-5)
    np.testing.assert_allclose(outputs["mean_weight"], w, rtol=1e-5)
    np.testing.assert_array_equal(outputs["mean_kappa"], kappa)


def test_gairat_before_its_begin_epoch_equals_pgd_at():
    x, y = data()
    pgd_classifier, gair_classifier = tiny_classifier(), tiny_classifier()
    gair_classifier.set_weights(pgd_classifier.get_weights())
    pgd = tfadv.methods.PGDAT(
        pgd_classifier, attack=PGD(eps=EPS, step_size=STEP, steps=STEPS, seed=SEED)
    )
    gairat = tfadv.methods.GAIRAT(gair_classifier, attack=full_pgd(), begin_epoch=1)
    for model in (pgd, gairat):
        model.compile(optimizer=keras.optimizers.SGD(0.5))
    pgd.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    history = gairat.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for got, expected in zip(
        gair_classifier.get_weights(), pgd_classifier.get_weights(), strict=True
    ):
        np.testing.assert_allclose(got, expected, atol=1e-6)
    assert history.history["mean_weight"] == [1.0]
    assert history.history["grad_evals"] == [STEPS]
    assert 0.0 <= history.history["mean_kappa"][0] <= STEPS


def test_gairfat_weights_start_at_the_begin_epoch_and_lambda_follows_its_schedule():
    lam = PiecewiseConstant(boundaries=[3], values=[math.inf, -2.0])
    model = tfadv.methods.GAIRFAT(
        tiny_classifier(),
        attack=full_pgd(tau=0),
        tau=PiecewiseConstant(boundaries=[1], values=[0, 2]),
        lambda_=lam,
        begin_epoch=2,
    )
    kappa = tf.constant([0.0, 2.0, 4.0])
    model.epoch_progress.assign(1.0)
    assert int(model.current_tau()) == 2
    np.testing.assert_array_equal(model.compute_weights(kappa)[0], 1.0)
    model.epoch_progress.assign(2.0)  # reweighting on, lambda still inf: weights 1
    np.testing.assert_allclose(model.compute_weights(kappa)[0], 1.0, rtol=1e-6)
    model.epoch_progress.assign(3.0)
    weights, _ = model.compute_weights(kappa)
    np.testing.assert_allclose(weights, gair_weights(kappa, STEPS, -2.0)[0], rtol=1e-6)
    assert weights[0] > weights[1] > weights[2]


def test_gair_defaults_follow_the_papers():
    gairat = tfadv.methods.GAIRAT(tiny_classifier())
    assert (gairat.lambda_, gairat.begin_epoch) == (-1.0, 59)
    assert gairat.weight_function == "tanh"
    assert (gairat.attack.steps, gairat.attack.tau, gairat.attack.omega) == (10, 10, 0.0)
    gairfat = tfadv.methods.GAIRFAT(tiny_classifier())
    assert (gairfat.lambda_, gairfat.begin_epoch) == (0.0, 59)
    assert gairfat.attack.omega == 0.0
    assert gairfat.tau.get_config()["values"] == [0.0, 3.0, 6.0]
    assert gairfat.tau.get_config()["boundaries"] == [40.0, 70.0]


def test_gair_schedules_survive_save_and_load(tmp_path):
    lam = PiecewiseConstant(boundaries=[2], values=[math.inf, -0.5])
    model = tfadv.methods.GAIRAT(
        tiny_classifier(),
        attack=full_pgd(),
        lambda_=lam,
        begin_epoch=1,
        weight_function="sigmoid",
    )
    path = tmp_path / "gairat.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert json.dumps(loaded.get_config()) == json.dumps(model.get_config())
    assert loaded.lambda_.get_config() == lam.get_config()
    for progress in (0.0, 1.5, 2.0):
        loaded.epoch_progress.assign(progress)
        model.epoch_progress.assign(progress)
        assert float(loaded.current_lambda()) == float(model.current_lambda())


def test_gairat_rejects_bad_arguments():
    classifier = tiny_classifier()
    with pytest.raises(ValueError, match=r"Received: weight_function='relu'"):
        tfadv.methods.GAIRAT(classifier, weight_function="relu")
    with pytest.raises(ValueError, match=r"Received: begin_epoch=-1"):
        tfadv.methods.GAIRAT(classifier, begin_epoch=-1)
    with pytest.raises(ValueError, match=r"Received: lambda_=nan"):
        tfadv.methods.GAIRAT(classifier, lambda_=float("nan"))
    with pytest.raises(ValueError, match=r"Received: lambda_=-inf"):
        tfadv.methods.GAIRFAT(classifier, lambda_=-math.inf)
    with pytest.raises(ValueError, match=r"Received: attack.tau=0, attack.steps=4"):
        tfadv.methods.GAIRAT(classifier, attack=full_pgd(tau=0))
    with pytest.raises(ValueError, match=r"Received: attack=PGD"):
        tfadv.methods.GAIRAT(classifier, attack=PGD(eps=0.1, steps=2))
