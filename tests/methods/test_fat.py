"""FAT and FAT-TRADES: reduction to PGD-AT / TRADES at tau = K, the tau schedule and resume."""

import math

import keras
import numpy as np
import pytest

import tfadv
from tests.conftest import random_data, tiny_cnn
from tfadv.attacks import PGD, EarlyStoppedPGD
from tfadv.schedules import PiecewiseConstant

EPS, STEP, STEPS, SEED = 0.2, 0.05, 3, 7


def tiny_classifier(seed=0):
    return tiny_cnn(num_classes=4, input_shape=(8, 8, 1), seed=seed)


data = random_data


def early_stopped(**kwargs):
    settings = dict(eps=EPS, step_size=STEP, steps=STEPS, omega=0.0, seed=SEED)
    settings.update(kwargs)
    return EarlyStoppedPGD(**settings)


def one_step(model, x, y):
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    return model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)


def assert_same_weights(a, b):
    for got, expected in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_fat_with_tau_k_equals_pgd_at():
    x, y = data()
    pgd_classifier, fat_classifier = tiny_classifier(), tiny_classifier()
    fat_classifier.set_weights(pgd_classifier.get_weights())
    pgd = tfadv.methods.PGDAT(
        pgd_classifier, attack=PGD(eps=EPS, step_size=STEP, steps=STEPS, seed=SEED)
    )
    fat = tfadv.methods.FAT(fat_classifier, attack=early_stopped(), tau=STEPS)
    pgd_history = one_step(pgd, x, y)
    fat_history = one_step(fat, x, y)
    assert_same_weights(fat_classifier, pgd_classifier)
    assert fat_history.history["grad_evals"] == pgd_history.history["grad_evals"] == [STEPS]
    np.testing.assert_allclose(fat_history.history["loss"], pgd_history.history["loss"], rtol=1e-6)


def test_fat_trades_with_tau_k_equals_trades():
    x, y = data()
    trades_classifier, fat_classifier = tiny_classifier(), tiny_classifier()
    fat_classifier.set_weights(trades_classifier.get_weights())
    kl = dict(random_init="normal", loss="kl")
    trades = tfadv.methods.TRADES(trades_classifier, attack=early_stopped(tau=STEPS, **kl))
    fat = tfadv.methods.FATTRADES(fat_classifier, attack=early_stopped(**kl), tau=math.inf)
    one_step(trades, x, y)
    one_step(fat, x, y)
    assert_same_weights(fat_classifier, trades_classifier)


def test_run_with_tau_overrides_the_attack_tau():
    x, y = data(16)
    classifier = tiny_classifier()
    for tau in (0, 1, STEPS):
        expected = early_stopped(tau=tau).run(classifier, x, y)
        got = early_stopped(tau=0).run(classifier, x, y, tau=tau)
        np.testing.assert_allclose(got.x_adv, expected.x_adv, atol=1e-7)
        np.testing.assert_array_equal(got.info["kappa"], expected.info["kappa"])
        np.testing.assert_array_equal(got.info["grad_evals"], expected.info["grad_evals"])
    attack = early_stopped(tau=2)
    attack(classifier, x, y, tau=0)
    assert attack.tau == 2
    with pytest.raises(ValueError, match=r"Received: tau=-1"):
        attack.run(classifier, x, y, tau=-1)


def test_fat_current_tau_follows_the_schedule_rounded_and_clipped():
    schedule = PiecewiseConstant(boundaries=[1, 2, 3], values=[0, 1.6, 50, math.inf])
    model = tfadv.methods.FAT(tiny_classifier(), attack=early_stopped(), tau=schedule)
    got = []
    for progress in (0.0, 0.99, 1.0, 2.5, 3.0):
        model.epoch_progress.assign(progress)
        got.append(int(model.current_tau()))
    assert got == [0, 0, 2, STEPS, STEPS]


def test_fat_defaults_follow_the_papers():
    fat = tfadv.methods.FAT(tiny_classifier())
    assert (fat.attack.eps, fat.attack.step_size, fat.attack.steps) == (0.031, 0.007, 10)
    assert (fat.attack.random_init, fat.attack.omega) == ("uniform", 0.001)
    assert fat.tau.get_config() == {"boundaries": [50.0, 90.0], "values": [0.0, 1.0, 2.0]}
    fat_trades = tfadv.methods.FATTRADES(tiny_classifier())
    assert (fat_trades.attack.random_init, fat_trades.attack.loss) == ("normal", "kl")
    assert fat_trades.attack.omega == 0.0 and fat_trades.beta == 6.0
    assert fat_trades.tau.get_config()["boundaries"] == [30.0, 50.0, 70.0]
    assert fat_trades.tau.get_config()["values"] == [0.0, 1.0, 2.0, 3.0]


def test_fat_tau_schedule_survives_save_load_and_resume(tmp_path):
    """Epoch 0 uses tau = 0; a reloaded model resumed at epoch 1 uses tau = K (no early stop)."""
    x, y = data(32)
    schedule = PiecewiseConstant(boundaries=[1], values=[0, STEPS])
    model = tfadv.methods.FAT(tiny_classifier(), attack=early_stopped(), tau=schedule)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    first = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert first.history["grad_evals"][0] < STEPS
    assert "mean_kappa" in first.history

    path = tmp_path / "fat.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.tau, PiecewiseConstant)
    assert loaded.tau.get_config() == schedule.get_config()
    resumed = loaded.fit(x, y, batch_size=16, initial_epoch=1, epochs=2, verbose=0)
    assert resumed.history["grad_evals"] == [STEPS]


def test_fat_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"Received: tau=-1"):
        tfadv.methods.FAT(tiny_classifier(), tau=-1)
    with pytest.raises(ValueError, match=r"Received: tau=1\.5"):
        tfadv.methods.FAT(tiny_classifier(), tau=1.5)
    with pytest.raises(ValueError, match=r"Received: tau='fast'"):
        tfadv.methods.FAT(tiny_classifier(), tau="fast")
    with pytest.raises(ValueError, match=r"Received: attack=PGD"):
        tfadv.methods.FAT(tiny_classifier(), attack=PGD(eps=0.1, steps=2))
    with pytest.raises(ValueError, match=r"Received: beta=-1\.0"):
        tfadv.methods.FATTRADES(tiny_classifier(), beta=-1.0)
    with pytest.raises(ValueError, match="loss='kl'"):
        tfadv.methods.FATTRADES(tiny_classifier(), attack=early_stopped())
