"""FAB-T: closed-form minimal perturbations on linear models, the box, the ball, and compilation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tests.attacks.test_attacks_math import linear_model
from tfadv.attacks._fab_projections import project_l2, project_linf
from tfadv.attacks.fabt import FABT


def minimal_linf(x, w, m):
    """Smallest l-inf step reducing `w.x` by `m > 0` inside [0, 1]: bisection on `lambda`."""
    room = np.where(w > 0, x, 1.0 - x)
    lo, hi = 0.0, 1.0
    for _ in range(60):
        lam = 0.5 * (lo + hi)
        lo, hi = (lo, lam) if np.sum(np.abs(w) * np.minimum(lam, room)) >= m else (lam, hi)
    return hi


def minimal_l2(x, w, m):
    """Smallest l2 step reducing `w.x` by `m > 0` inside [0, 1]: `clip(-a w)`, bisection on `a`."""
    lo, hi = 0.0, 1e6
    for _ in range(200):
        a = 0.5 * (lo + hi)
        lo, hi = (lo, a) if -(w @ np.clip(-a * w, -x, 1.0 - x)) >= m else (a, hi)
    return float(np.linalg.norm(np.clip(-hi * w, -x, 1.0 - x)))


def boundary_distance(norm, x, w_diff, margin):
    """Distance of each row of `x` to `{z: w_diff.z = w_diff.x - margin}` inside the box."""
    solve = minimal_linf if norm == "linf" else minimal_l2
    return np.array([solve(xi, w_diff, mi) for xi, mi in zip(x, margin, strict=True)])


@pytest.fixture
def binary_problem():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(20, 2)).astype("float32")
    b = np.zeros(2, "float32")
    x = rng.uniform(0.3, 0.7, size=(8, 20)).astype("float32")
    y = (x @ w + b).argmax(1)
    return w, b, x, y


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_fabt_finds_the_closed_form_minimal_perturbation_of_a_binary_linear_model(
    binary_problem, norm
):
    w, b, x, y = binary_problem
    model = linear_model(w, b)
    w_diff = np.where(y[:, None] == 0, 1.0, -1.0) * (w[:, 1] - w[:, 0])  # grad of f_other - f_y
    margin = np.abs((x @ w + b)[:, 1] - (x @ w + b)[:, 0])
    expected = [boundary_distance(norm, x[i : i + 1], -w_diff[i], margin[i : i + 1])[0]
                for i in range(len(x))]  # fmt: skip
    result = FABT(eps=5.0, norm=norm, steps=30).run(model, x, y)
    delta = result.x_adv.numpy() - x
    found = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    # FAB approaches the boundary from outside: at most its overshoot fixed point (~0.5%) above.
    assert_near_minimal(found, expected)
    np.testing.assert_allclose(result.info["min_norm"].numpy(), found, rtol=1e-5)
    assert np.all(model(result.x_adv).numpy().argmax(1) != y)


def test_closed_form_without_the_box_is_margin_over_dual_norm():
    """Far from the box faces the answer is `|w.x + b| / ||w||_1` (l-inf) or `/ ||w||_2` (l2)."""
    rng = np.random.default_rng(3)
    w = (0.05 * rng.normal(size=(30, 2))).astype("float32")
    b = np.array([0.0, 0.02], "float32")
    x = rng.uniform(0.45, 0.55, size=(6, 30)).astype("float32")
    y = (x @ w + b).argmax(1)
    model = linear_model(w, b)
    margin = np.abs((x @ w + b) @ np.array([1.0, -1.0]))
    for norm, order in (("linf", 1), ("l2", 2)):
        closed = margin / np.linalg.norm(w[:, 1] - w[:, 0], ord=order)
        assert np.all(closed < 0.4)  # the box is not active
        found = FABT(eps=10.0, norm=norm).run(model, x, y).info["min_norm"].numpy()
        assert_near_minimal(found, closed)


@pytest.fixture
def multiclass_problem():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(12, 4)).astype("float32")
    b = rng.normal(size=4).astype("float32")
    x = rng.uniform(0.2, 0.8, size=(10, 12)).astype("float32")
    logits = x @ w + b
    return linear_model(w, b), w, x, logits, logits.argmax(1)


def assert_near_minimal(found, expected):
    ratio = np.asarray(found) / np.asarray(expected)
    assert np.all(ratio >= 1.0 - 1e-4) and np.all(ratio <= 1.02), ratio


def test_fabt_targets_the_second_class_of_a_multiclass_linear_model(multiclass_problem):
    model, w, x, logits, y = multiclass_problem
    target = np.argsort(-logits, axis=1, kind="stable")[:, 1]
    result = FABT(eps=5.0, norm="linf", n_target_classes=1).run(model, x, y)
    expected = [minimal_linf(x[i], w[:, y[i]] - w[:, target[i]], logits[i, y[i]] - logits[i, target[i]])
                for i in range(len(x))]  # fmt: skip
    assert_near_minimal(result.info["min_norm"].numpy(), expected)
    assert np.all(model(result.x_adv).numpy().argmax(1) == target)


def test_untargeted_fab_takes_the_closest_boundary_over_all_classes(multiclass_problem):
    model, w, x, logits, y = multiclass_problem
    result = FABT(eps=5.0, norm="l2", targeted=False).run(model, x, y)
    closest = [min(minimal_l2(x[i], w[:, y[i]] - w[:, c], logits[i, y[i]] - logits[i, c])
                   for c in range(4) if c != y[i]) for i in range(len(x))]  # fmt: skip
    assert_near_minimal(result.info["min_norm"].numpy(), closest)


def test_fabt_returns_the_clean_image_when_the_boundary_is_beyond_eps(binary_problem):
    w, b, x, y = binary_problem
    model = linear_model(w, b)
    result = FABT(eps=0.01, norm="linf").run(model, x, y)
    np.testing.assert_array_equal(result.x_adv.numpy(), x)
    assert np.all(np.isinf(result.info["min_norm"].numpy()))


@pytest.mark.parametrize("project", [project_linf, project_l2])
def test_projections_land_on_the_hyperplane_inside_the_box(project):
    rng = np.random.default_rng(4)
    t = rng.uniform(0.0, 1.0, size=(64, 50)).astype("float32")
    w = rng.normal(size=(64, 50)).astype("float32")
    b = (np.sum(w * t, 1) + rng.normal(size=64)).astype("float32")
    d = project(tf.constant(t), tf.constant(w), tf.constant(b)).numpy()
    assert np.all(t + d >= -1e-6) and np.all(t + d <= 1 + 1e-6)
    reachable = np.abs(np.sum(w * (t + d), 1) - b) < 1e-3
    assert reachable.mean() > 0.9  # a unit shift of a 50-d hyperplane is almost always reachable
    for i in np.flatnonzero(reachable)[:10]:  # minimal: matches the one-dimensional search
        margin = np.sum(w[i] * t[i]) - b[i]
        sign = np.sign(margin)
        if project is project_linf:
            best = minimal_linf(t[i], sign * w[i], abs(margin))
            assert abs(np.abs(d[i]).max() - best) < 1e-4
        else:
            best = minimal_l2(t[i], sign * w[i], abs(margin))
            assert abs(np.linalg.norm(d[i]) - best) < 1e-3


def test_fabt_on_a_cnn_stays_in_the_ball_and_box_and_compiles_once(mnist_small):
    _, (x_test, y_test) = mnist_small
    from tests.conftest import tiny_cnn

    model = tiny_cnn()
    x, y = x_test[:16], y_test[:16]
    attack = FABT(eps=0.1, norm="linf", steps=5, n_target_classes=2, restarts=2, seed=0)
    for batch in (slice(0, 8), slice(8, 16)):
        x_adv = attack(model, x[batch], y[batch]).numpy()
        assert np.all(np.abs(x_adv - x[batch]) <= 0.1 + 1e-6)
        assert np.all((x_adv >= 0) & (x_adv <= 1))
    assert attack._compiled.experimental_get_tracing_count() == 1
    l2 = FABT(eps=1.0, norm="l2", steps=5, n_target_classes=2)
    x_adv = l2(model, x, y).numpy()
    assert np.all(np.linalg.norm((x_adv - x).reshape(16, -1), axis=1) <= 1.0 + 1e-4)


def test_fabt_config_round_trip_and_errors():
    attack = FABT(eps=0.2, norm="l2", steps=7, n_target_classes=3, targeted=False, seed=1)
    config = attack.get_config()
    assert FABT.from_config(config).get_config() == config
    assert FABT.registry_name == "fabt"
    assert tfadv.attacks.FABT is FABT
    with pytest.raises(ValueError, match="n_target_classes=0"):
        FABT(n_target_classes=0)
    with pytest.raises(TypeError, match="targeted='yes'"):
        FABT(targeted="yes")
    with pytest.raises(ValueError, match="eta=0.5"):
        FABT(eta=0.5)


def autoattack_bisection(keep):
    """AutoAttack's `lb` after `ceil(log2(dim))` halvings over `[0, dim - 1]`, row by row."""
    dim = keep.shape[1]
    steps = int(np.ceil(np.log2(dim))) if dim > 1 else 0
    out = []
    for row in keep:
        lower, upper = 0, dim - 1
        for _ in range(steps):
            middle = (lower + upper) // 2
            lower, upper = (middle, upper) if row[middle] else (lower, middle)
        out.append(lower)
    return np.array(out)


@pytest.mark.parametrize("dim", [1, 2, 3, 7, 64, 784])
def test_projection_boundary_equals_autoattacks_bisection(dim):
    from tfadv.attacks._fab_projections import _last_kept

    rng = np.random.default_rng(dim)
    boundaries = np.concatenate([[0, dim], rng.integers(0, dim + 1, 30)])
    keep = np.arange(dim)[None, :] < boundaries[:, None]  # holds up to a boundary, then fails
    np.testing.assert_array_equal(_last_kept(tf.constant(keep)).numpy(), autoattack_bisection(keep))
    if dim >= 8:  # a rounding blip after the boundary: the first boundary is the one kept
        blip = keep.copy()
        blip[:, -1] = True
        expected = np.clip(np.minimum(boundaries, dim - 1) - 1, 0, dim - 2)
        expected[boundaries == dim] = dim - 2
        np.testing.assert_array_equal(_last_kept(tf.constant(blip)).numpy(), expected)


def reference_fab_run(attack, model, x0, y, target):
    """fra31's FAB loop step by step, eagerly: the gradient at the iterate, the step, a second
    forward pass for the decision, the record and the pull-back. Returns `(x_adv, min_norm)`."""
    ball = attack.threat_model
    x1, adv, res = x0, x0, np.full(len(x0), 1e10, "float32")
    for _ in range(attack.steps):
        x1_tensor = tf.constant(x1)
        with tf.GradientTape() as tape:
            tape.watch(x1_tensor)
            logits = model(x1_tensor)
            if attack.targeted:
                diff = tf.gather(logits, target[:, None], batch_dims=1)[:, 0]
                diff = diff - tf.gather(logits, y[:, None], batch_dims=1)[:, 0]
        w, f = tape.gradient(diff, x1_tensor).numpy(), diff.numpy()
        b = -f + np.sum(w * x1, axis=1)
        d1 = ball.project_onto_hyperplane(x1, w, b).numpy()
        d2 = ball.project_onto_hyperplane(x0, w, b).numpy()
        a1 = np.maximum(ball.norm(d1).numpy(), 1e-8)
        a2 = np.maximum(ball.norm(d2).numpy(), 1e-8)
        alpha = np.clip(a1 / (a1 + a2), 0.0, attack.alpha_max)[:, None]
        x1 = np.clip((x1 + attack.eta * d1) * (1 - alpha) + (x0 + attack.eta * d2) * alpha, 0, 1)
        is_adv = model(x1).numpy().argmax(1) != y
        dist = ball.norm(x1 - x0).numpy()
        better = is_adv & (dist < res)
        adv, res = np.where(better[:, None], x1, adv), np.where(better, dist, res)
        x1 = np.where(is_adv[:, None], x0 + (x1 - x0) * attack.beta, x1).astype("float32")
    return adv, res


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_fabt_run_equals_the_reference_loop_on_a_nonlinear_model(norm):
    """FAB's run, compiled, follows fra31's loop step by step, pull-backs after successes included."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [keras.Input((12,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(4)]
    )
    rng = np.random.default_rng(1)
    x = rng.uniform(0.2, 0.8, size=(24, 12)).astype("float32")
    logits = model(x).numpy()
    y = logits.argmax(1).astype("int32")
    target = np.argsort(-logits, axis=1)[:, 1].astype("int32")
    attack = FABT(eps=1.0, norm=norm, steps=12)
    adv, res = tf.function(attack._single_run, autograph=False)(
        model,
        tf.constant(x),
        tf.constant(y),
        tf.constant(target),
        1.0,
        tf.constant(False),
        attack.seed_key(tf.constant(x), 0),
    )
    expected_adv, expected_res = reference_fab_run(attack, model, x, y, target)
    assert (expected_res < 1e10).all()  # every run succeeds, so the pull-back path is exercised
    np.testing.assert_allclose(res.numpy(), expected_res, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(adv.numpy(), expected_adv, atol=1e-4)
