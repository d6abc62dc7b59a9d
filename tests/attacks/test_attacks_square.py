"""Square: AutoAttack's window schedule, the l2 update of the references, no retracing."""

import math

import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tests.conftest import tiny_cnn
from tfadv.attacks import _square_search


def autoattack_side(it, n_queries, p_init, h, w, norm, rescale):
    """fra31/auto-attack `square.py`: `p_selection` and the window side of each norm."""
    if rescale:
        it = int(it / n_queries * 10000)
    p = p_init
    for k, boundary in enumerate((10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)):
        if it > boundary:
            p = p_init / 2 ** (k + 1)
    side = int(round(math.sqrt(p * h * w)))
    if norm == "linf":
        return max(side, 1)
    side = max(side, 3)
    return side + 1 if side % 2 == 0 else side


ITERATIONS = sorted(
    set(range(0, 5000, 37))
    | {b + d for b in (10, 50, 200, 500, 1000, 2000, 4000) for d in (0, 1)}
    | {300, 4500, 4999}
)


@pytest.mark.parametrize("rescale", [False, True])
@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("size", [28, 32])
def test_window_side_matches_autoattack(size, norm, rescale):
    square = tfadv.attacks.Square(eps=0.1, norm=norm, n_queries=5000, rescale_schedule=rescale)
    got = square.window_side(tf.constant(ITERATIONS), size, size).numpy()
    expected = [autoattack_side(i, 5000, 0.8, size, size, norm, rescale) for i in ITERATIONS]
    np.testing.assert_array_equal(got, expected)


def test_default_schedule_is_autoattacks():
    """AutoAttack builds Square with `resc_schedule=False`: side 10 at iteration 300 on 32x32."""
    square = tfadv.attacks.Square(eps=0.03, n_queries=5000)
    assert not square.rescale_schedule
    assert int(square.window_side(300, 32, 32)) == 10
    assert int(square.window_side(4500, 32, 32)) == 3
    rescaled = tfadv.attacks.Square(eps=0.03, n_queries=5000, rescale_schedule=True)
    assert int(rescaled.window_side(300, 32, 32)) == 7
    assert int(rescaled.window_side(4500, 32, 32)) == 1


def reference_l2_update(x, x_best, eps, eta, mask1, mask2):
    """The l2 step of both references (NHWC here): window norms over height and width."""
    c = x.shape[-1]
    delta = x_best - x
    norm_image = np.sqrt((delta**2).sum(axis=(1, 2, 3), keepdims=True))
    norm_windows = np.sqrt(
        ((delta * np.maximum(mask1, mask2)) ** 2).sum(axis=(1, 2, 3), keepdims=True)
    )
    norm_window_1 = np.sqrt(((delta * mask1) ** 2).sum(axis=(1, 2), keepdims=True))
    new = eta + delta * mask1 / (1e-12 + norm_window_1)
    new_norm = np.sqrt(((new * mask1) ** 2).sum(axis=(1, 2), keepdims=True))
    new = (
        new
        / (1e-12 + new_norm)
        * np.sqrt(np.maximum(eps**2 - norm_image**2, 0) / c + norm_windows**2)
    )
    delta = delta * (1 - mask2)
    delta = delta * (1 - mask1) + new * mask1
    delta = delta / np.sqrt((delta**2).sum(axis=(1, 2, 3), keepdims=True))
    return np.clip(x + delta * eps, 0.0, 1.0)


def _window(n, h, w, top, left, side):
    mask = np.zeros((n, h, w, 1), "float32")
    mask[:, top : top + side, left : left + side] = 1.0
    return mask


def test_l2_update_matches_the_references_and_keeps_the_norm():
    rng = np.random.default_rng(0)
    n, h, w, c, eps = 3, 12, 12, 3, 0.5
    x = rng.uniform(0.3, 0.7, (n, h, w, c)).astype("float32")
    delta = rng.normal(size=(n, h, w, c)).astype("float32")
    x_best = x + eps * delta / np.linalg.norm(delta.reshape(n, -1), axis=1)[:, None, None, None]
    mask1, mask2 = _window(n, h, w, 2, 3, 5), _window(n, h, w, 6, 1, 5)
    eta = mask1 * rng.normal(size=(n, h, w, c)).astype("float32")
    got = _square_search.l2_update(x, x_best, eps, eta, mask1, mask2).numpy()
    np.testing.assert_allclose(
        got, reference_l2_update(x, x_best, eps, eta, mask1, mask2), atol=1e-6
    )
    change = got - x
    np.testing.assert_allclose(np.linalg.norm(change.reshape(n, -1), axis=1), eps, rtol=1e-5)
    # Per-channel normalisation: every channel of the new window carries the same energy.
    window_norms = np.sqrt(((change * mask1) ** 2).sum(axis=(1, 2)))
    np.testing.assert_allclose(window_norms, window_norms[:, :1].repeat(c, axis=1), rtol=1e-5)


@pytest.mark.parametrize("norm, eps", [("l2", 0.5), ("linf", 0.05)])
def test_proposals_stay_on_the_boundary(norm, eps):
    rng = np.random.default_rng(1)
    x = tf.constant(rng.uniform(0.3, 0.7, (4, 10, 10, 3)).astype("float32"))
    search = _square_search.SEARCHES[norm]
    keys = tf.unstack(tf.random.experimental.stateless_split([3, 4], 6))
    x_best = search.start(x, eps, keys[0])
    for side in (3, 5, 9):
        x_best = search.propose(search.context(x, eps), x_best, eps, tf.constant(side), keys)
        delta = (x_best - x).numpy().reshape(4, -1)
        norms = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
        np.testing.assert_allclose(norms, eps, rtol=1e-5)


def test_no_retracing_during_an_evaluation():
    """Shrinking batches of still-robust examples and a call radius, as `tfadv.evaluation` runs it."""
    model = tiny_cnn()
    x = np.random.default_rng(2).random((24, 28, 28, 1)).astype("float32")
    y = np.arange(24) % 10
    square = tfadv.attacks.Square(eps=0.1, n_queries=10, seed=0)
    for eps in (0.1, 0.2):
        for n in (24, 17, 9, 2):
            result = square.run(model, x[:n], y[:n], eps=eps)
            assert result.x_adv.shape == (n, 28, 28, 1)
    assert square._compiled.experimental_get_tracing_count() == 1
