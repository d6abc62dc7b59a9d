"""Every method trains through `fit` under whichever Keras backend this process runs.

Written with NumPy and `keras` only: `tests/backends/test_backend_tiers.py` runs this file again
under JAX (default tier) and PyTorch (opt in). A method registered for the current backend must
train (finite loss, weights that move, its metrics reported, the training attack's own budget);
one that is not must refuse construction with a clear error.
"""

import keras
import numpy as np
import pytest

import tfadv
from tfadv import AttackBudget
from tfadv.adv_model import METHODS

BACKEND = keras.backend.backend()
TRAINS = [name for name, cls in METHODS.items() if BACKEND in cls.backends]
REFUSES = [name for name, cls in METHODS.items() if BACKEND not in cls.backends]


def _classifier():
    return keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(3),
        ]
    )


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, size=(n, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, size=n).astype("int32")
    return x, y


def _numpy_weights(model):
    return [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]


def test_the_base_method_trains_on_this_backend():
    assert "pgdat" in TRAINS, TRAINS


@pytest.mark.parametrize("name", TRAINS)
def test_method_trains_through_fit(name):
    keras.utils.set_random_seed(0)
    cls = METHODS[name]
    classifier = _classifier()
    if name == "advprop":  # AdvProp trains a classifier with dual batch norm
        classifier = tfadv.layers.convert_to_dual_bn(classifier)
    model = cls.from_knobs(classifier, budget=AttackBudget(eps=0.1, steps=2, seed=1))
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    x, y = _data()
    model.build(x.shape)
    before = _numpy_weights(model)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    logs = history.history
    assert np.isfinite(logs["loss"][-1]), logs
    for metric in ("clean_accuracy", "adv_accuracy", *cls.extra_metrics):
        assert metric in logs, (metric, sorted(logs))
    after = _numpy_weights(model)
    assert any(not np.allclose(b, a) for b, a in zip(before, after)), "no weight moved"
    # The budget's l-inf attack (MAT adds an l2 attack of its own radius, `l2_eps`).
    for attack in model.training_attacks():
        assert attack.norm == "l2" or attack.eps == pytest.approx(0.1), attack
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    assert 0.0 <= scores["clean_accuracy"] <= 1.0


def test_eps_schedule_and_eval_attack_on_this_backend():
    keras.utils.set_random_seed(0)
    model = tfadv.methods.PGDAT(
        _classifier(),
        attack=tfadv.attacks.PGD(eps=0.2, steps=2),
        eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.2, ramp_epochs=2),
        eval_attack=tfadv.attacks.FGSM(eps=0.2),
    )
    model.compile(optimizer="adam")
    x, y = _data()
    history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(x, y), verbose=0)
    assert "val_adv_accuracy" in history.history
    assert float(keras.ops.convert_to_numpy(model.epoch_progress)) == pytest.approx(
        1.5
    )  # the last batch: epoch 1 + 1/2
    predictions = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    assert predictions.shape == (len(x), 3)


def test_bad_data_is_refused_before_training():
    model = tfadv.methods.PGDAT(_classifier(), attack=tfadv.attacks.PGD(eps=0.1, steps=1))
    model.compile(optimizer="adam")
    x, y = _data()
    with pytest.raises(ValueError, match="x"):
        model.fit(x * 4.0, y, epochs=1, verbose=0)


def test_a_method_declared_for_other_backends_refuses_construction():
    # Every registered method trains everywhere today; the refusal itself must still hold for a
    # method that declares fewer backends (an unregistered subclass: the registry is untouched).
    class ElsewhereOnly(tfadv.AdvModel):
        backends = tuple(b for b in ("tensorflow", "jax", "torch") if b != BACKEND)

    with pytest.raises(ValueError, match=f"'ElsewhereOnly'.*Received: backend='{BACKEND}'"):
        ElsewhereOnly(_classifier())


@pytest.mark.skipif(not REFUSES, reason=f"every method trains on {BACKEND}")
@pytest.mark.parametrize("name", REFUSES or ["none"])
def test_methods_not_written_for_this_backend_refuse_construction(name):
    with pytest.raises(ValueError, match=f"Received: backend='{BACKEND}'"):
        METHODS[name].from_knobs(_classifier(), budget=AttackBudget(eps=0.1, steps=2))


def _awp_pair(gamma):
    """PGD-AT and AWP around an identical PGD-AT (same initial weights, attack and seed)."""
    models = []
    for wrap in (False, True):
        keras.utils.set_random_seed(0)
        method = tfadv.methods.PGDAT(
            _classifier(), attack=tfadv.attacks.PGD(eps=0.1, step_size=0.05, steps=2, seed=1)
        )
        models.append(tfadv.methods.AWP(method, gamma=gamma) if wrap else method)
    return models


def test_awp_with_gamma_zero_takes_the_wrapped_methods_step():
    x, y = _data()
    weights = []
    for model in _awp_pair(gamma=0.0):
        model.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.9))
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        weights.append(model.classifier.get_weights())  # batch-norm statistics included
    for plain, awp in zip(*weights, strict=True):
        np.testing.assert_allclose(awp, plain, rtol=1e-5, atol=1e-6)


def test_awp_gradient_is_the_plain_gradient_at_the_perturbed_weights_of_a_linear_model():
    # Mean cross-entropy of a linear softmax model: the ascent gradient, the kernel moved by
    # gamma * ||W|| g / ||g|| (the bias is not perturbed) and the gradient there, in NumPy.
    x, y = _data(8)
    classifier = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    gamma = 0.3
    attack = tfadv.attacks.PGD(eps=0.0, steps=1)
    model = tfadv.methods.AWP(tfadv.AdvModel(classifier, attack=attack), gamma=gamma)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    kernel, bias = (keras.ops.convert_to_numpy(v).copy() for v in classifier.trainable_variables)
    xt, yt = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)
    adv = model.generate_adversarial(xt, yt, 0.0)
    _, grads = model.compute_gradients(xt, yt, adv)

    flat = x.reshape(len(x), -1).astype("float64")

    def numpy_grads(k, b):
        logits = flat @ k + b
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(y)), y] -= 1.0
        return flat.T @ p / len(y), p.mean(0)

    g_kernel, _ = numpy_grads(kernel, bias)
    moved = kernel + gamma * np.linalg.norm(kernel) * g_kernel / np.linalg.norm(g_kernel)
    expected = numpy_grads(moved, bias)
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, rtol=1e-4, atol=1e-6)
    # The weights are left where they were.
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(classifier.trainable_variables[0]), kernel
    )
