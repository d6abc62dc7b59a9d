"""The attacks' invariants under whichever Keras backend this process runs (TensorFlow by default).

Written with NumPy and `keras` only, so the same file runs on every backend:
`tests/backends/test_backend_tiers.py` runs it again under JAX (default tier) and PyTorch (opt-in
`-m torch_backend`) in a separate process. Every attack registered for the current backend is
picked up; an attack not written for it must refuse construction with a clear error.
"""

import keras
import numpy as np
import pytest

from tests.backends._cross_backend_pgd import build_model
from tfadv import backend
from tfadv.attacks import ATTACKS, FGSM, PGD, _ops

BACKEND = keras.backend.backend()
EPS = {"linf": 0.3, "l2": 2.0}
PORTED = [name for name, cls in ATTACKS.items() if BACKEND in cls.backends]
NOT_PORTED = [name for name, cls in ATTACKS.items() if BACKEND not in cls.backends]


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _conv_model():
    keras.utils.set_random_seed(1)
    return build_model()


def _linear_model(features=16, classes=3):
    rng = np.random.default_rng(7)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(classes)]
    )
    weights = rng.normal(size=(features, classes)).astype("float32")
    bias = rng.normal(size=(classes,)).astype("float32")
    model.layers[-1].set_weights([weights, bias])
    return model, weights, bias


def _batch(shape, classes, n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, *shape)).astype("float32")
    y = rng.integers(0, classes, size=n).astype("int32")
    return x, y


def _norms(delta):
    flat = delta.reshape(len(delta), -1)
    return {"linf": np.abs(flat).max(axis=1), "l2": np.sqrt((flat**2).sum(axis=1))}


def test_some_attack_runs_on_this_backend():
    assert {"fgsm", "pgd"} <= set(PORTED), PORTED


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("name", PORTED)
def test_perturbation_stays_in_the_ball_and_the_box(name, norm):
    cls = ATTACKS[name]
    if norm not in cls.norms:
        pytest.skip(f"{name} has no {norm} threat model")
    model = _conv_model()
    x, y = _batch((8, 8, 1), 10)
    result = cls.default_instance(EPS[norm], norm=norm, seed=3).run(model, x, y)
    x_adv = _numpy(result.x_adv)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert _norms(x_adv - x)[norm].max() <= EPS[norm] * (1 + 1e-5) + 1e-6
    assert _numpy(result.info["grad_evals"]).shape == (len(x),)
    assert _numpy(result.clean_logits).shape == (len(x), 10)


@pytest.mark.parametrize("name", PORTED)
def test_seeded_attack_is_deterministic(name):
    model = _conv_model()
    x, y = _batch((8, 8, 1), 10)
    attack = ATTACKS[name].default_instance(0.3, seed=5)
    np.testing.assert_array_equal(_numpy(attack(model, x, y)), _numpy(attack(model, x, y)))


def _ce_input_gradient(x, y, weights, bias):
    """d CE / d x of a linear softmax model, in closed form: W (p - onehot(y))."""
    logits = x.reshape(len(x), -1) @ weights + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(x)), y] -= 1.0
    return (p @ weights.T).reshape(x.shape)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_fgsm_is_the_closed_form_step_on_a_linear_model(norm):
    model, weights, bias = _linear_model()
    x, y = _batch((4, 4, 1), 3, n=16)
    eps = {"linf": 0.1, "l2": 0.5}[norm]
    grad = _ce_input_gradient(x, y, weights, bias)
    if norm == "linf":
        expected = np.clip(x + eps * np.sign(grad), 0.0, 1.0)
    else:
        unit = grad / np.sqrt((grad.reshape(len(x), -1) ** 2).sum(axis=1)).reshape(-1, 1, 1, 1)
        expected = np.clip(x + eps * unit, 0.0, 1.0)
    x_adv = _numpy(FGSM(eps=eps, norm=norm)(model, x, y))
    np.testing.assert_allclose(x_adv, expected, atol=1e-5)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_one_pgd_step_from_the_centre_is_fgsm(norm):
    model = _conv_model()
    x, y = _batch((8, 8, 1), 10)
    eps = EPS[norm]
    pgd = PGD(eps=eps, norm=norm, steps=1, step_size=eps, random_start=False)
    np.testing.assert_allclose(
        _numpy(pgd(model, x, y)), _numpy(FGSM(eps=eps, norm=norm)(model, x, y)), atol=1e-6
    )


def test_fgsm_does_not_lower_a_convex_loss():
    """CE of a linear model is convex in x: a clipped step along sign(grad) cannot lower it."""
    model, weights, bias = _linear_model()
    x, y = _batch((4, 4, 1), 3, n=32)
    x_adv = _numpy(FGSM(eps=0.2)(model, x, y))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    clean = _numpy(loss(y, model(x)))
    adversarial = _numpy(loss(y, model(x_adv)))
    assert np.all(adversarial >= clean - 1e-5)


@pytest.mark.parametrize("name", PORTED)
def test_bad_inputs_are_refused_with_the_argument_named(name):
    model = _conv_model()
    x, y = _batch((8, 8, 1), 10)
    attack = ATTACKS[name].default_instance(0.3, seed=0)
    with pytest.raises(ValueError, match="x"):
        attack(model, x * 3.0, y)
    with pytest.raises((ValueError, TypeError), match="y"):
        attack(model, x, np.eye(10, dtype="float32")[y])


@pytest.mark.skipif(not NOT_PORTED, reason=f"every attack runs on {BACKEND}")
@pytest.mark.parametrize("name", NOT_PORTED or ["none"])
def test_attacks_not_written_for_this_backend_refuse_construction(name):
    with pytest.raises(ValueError, match=f"Received: backend='{BACKEND}'"):
        ATTACKS[name](eps=0.3)


def test_unseeded_keys_differ_between_the_iterations_of_a_long_compiled_loop():
    # Past `backend.UNROLL_LIMIT` steps JAX traces a loop body once: the salt (the step) must
    # still make every iteration's unseeded key different.
    steps = backend.UNROLL_LIMIT + 6
    model = build_model()
    x = keras.ops.ones((2, 8, 8, 1))

    def keys(images):
        def body(i, seen):
            key = _ops.seed_key(None, images, i + 1)
            return keras.ops.slice_update(seen, (i, 0), keras.ops.reshape(key, (1, 2)))

        return backend.fori_loop(0, steps, body, keras.ops.zeros((steps, 2), "int32"))

    drawn = keras.ops.convert_to_numpy(backend.compiled_call(keys, model)(x))
    assert len({tuple(row) for row in drawn}) == steps, drawn
