"""The Square attack's search steps (internal): window schedule, starts and proposals per norm.

`Square` holds no `if norm == ...` branch: it looks up the search of its threat model in `SEARCHES`
(`LinfSearch` or `L2Search`), which sizes the square window, draws the start, prepares the
per-example `context` that proposals need (computed once, gathered with the examples still
searching) and proposes the next candidate. Images are NHWC; randomness comes from stateless keys
(`tfadv.attacks._ops`).
"""

import tensorflow as tf
from keras import ops

from tfadv import backend
from tfadv.attacks import _ops

# p is halved after each of these iterations (AutoAttack's `p_selection`, written for 10,000 queries).
_P_BOUNDARIES = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def fold_in(key, data):
    """A key `[2]` derived from `key` and the int32 scalar `data` (a loop counter or a restart).

    TensorFlow keeps `tf.random.experimental.stateless_fold_in`; elsewhere the key is a
    `split_key` draw of `key` with `data` in its second half (stateless and seeded).
    """
    if backend.name() == "tensorflow":
        return tf.random.experimental.stateless_fold_in(key, data)
    (derived,) = _ops.split_key(key, 1)
    return ops.stack([derived[0], ops.cast(data, "int32")])


def p_selection(i, n_queries, p_init, rescale_schedule=False):
    """The share `p` of pixels changed at iteration `i` (AutoAttack's `p_selection`).

    `p = p_init / 2^k`, `k` the number of boundaries (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
    that the iteration has passed. With `rescale_schedule` the iteration is first rescaled to a
    10,000-query budget, `int(i / n_queries * 10000)` (the original Square code; AutoAttack builds
    Square with `resc_schedule=False`, which uses `i` itself).
    """
    it = ops.expand_dims(ops.cast(i, "int32"), -1)  # a scalar or a vector of iterations
    if rescale_schedule:
        # `it * 10000 // n_queries` without overflowing int32 (JAX has no int64 by default).
        it = (it // n_queries) * 10000 + (it % n_queries) * 10000 // n_queries
    passed = ops.cast(it > ops.convert_to_tensor(_P_BOUNDARIES, "int32"), "float32")
    return p_init / ops.power(2.0, ops.sum(passed, axis=-1))


def _side(p, height, width):
    return ops.cast(ops.round(ops.sqrt(p * float(height * width))), "int32")


def _eta_pattern(sh, sw, height, width):
    """Square's l2 window pattern on a `[size, size]` canvas (`size = max(height, width)`).

    The pattern fills the top-left `sh x sw` block. The top half of the block holds the "rectangle"
    pattern (nested rectangles weighted `1 / (k + 1)^2` around its centre), the bottom half its
    negative; each half has unit norm, then the whole has unit norm (Andriushchenko et al., `eta`
    and `eta_rectangles`).
    """
    size = max(height, width)
    i = ops.arange(size, dtype="int32")[:, None]
    j = ops.arange(size, dtype="int32")[None, :]
    half = sh // 2
    top = i < half
    rows = ops.where(top, half, sh - half)
    local_i = ops.where(top, i, i - half)
    centre_i, centre_j = rows // 2, sw // 2
    count = ops.maximum(centre_i + 1, centre_j + 1)
    distance = ops.maximum(ops.abs(local_i - centre_i), ops.abs(j - centre_j))
    weights = 1.0 / ops.square(ops.arange(1, size + 2, dtype="float32"))
    cumulative = ops.concatenate([ops.zeros((1,), "float32"), ops.cumsum(weights)], axis=0)
    values = ops.take(cumulative, count) - ops.take(cumulative, ops.minimum(distance, count))
    inside = ops.logical_and(i < sh, j < sw)
    values = ops.where(inside, values, 0.0)
    top_norm = ops.sqrt(ops.sum(ops.where(top, ops.square(values), 0.0)))
    bottom_norm = ops.sqrt(ops.sum(ops.where(top, 0.0, ops.square(values))))
    pattern = ops.where(top, values / (top_norm + _ops.TINY), -values / (bottom_norm + _ops.TINY))
    return pattern / (ops.sqrt(ops.sum(ops.square(pattern))) + _ops.TINY)


def _window_1d(start, side, size):
    """`[m, size]` float: 1 on `[start, start + side)` of each example, else 0."""
    positions = ops.arange(size, dtype="int32")[None, :]
    inside = ops.logical_and(positions >= start[:, None], positions < start[:, None] + side)
    return ops.cast(inside, "float32")


def _window_mask(vh, vw, sh, sw, height, width):
    """`[m, height, width, 1]`: 1 inside each example's `sh x sw` window at `(vh, vw)`."""
    rows, cols = _window_1d(vh, sh, height), _window_1d(vw, sw, width)
    return (rows[:, :, None] * cols[:, None, :])[..., None]


def _random_corner(key, m, size, window):
    """A window position per example, uniform over all `size - window + 1` valid ones."""
    scale = ops.cast(size - window + 1, "float32")
    return ops.cast(ops.floor(_ops.uniform((m,), key) * scale), "int32")


def _place_pattern(pattern, vh, vw, transpose, sh, sw, height, width):
    """The `[m, height, width, 1]` pattern moved to each example's window (optionally transposed)."""
    rows = ops.arange(height, dtype="int32")[None, :, None] - vh[:, None, None]
    cols = ops.arange(width, dtype="int32")[None, None, :] - vw[:, None, None]
    inside = ops.logical_and(
        ops.logical_and(rows >= 0, rows < sh), ops.logical_and(cols >= 0, cols < sw)
    )
    flip = transpose[:, None, None]
    size_r, size_c = ops.shape(pattern)
    r = ops.clip(ops.where(flip, cols, rows), 0, size_r - 1)
    c = ops.clip(ops.where(flip, rows, cols), 0, size_c - 1)
    values = ops.take(ops.reshape(pattern, (-1,)), r * size_c + c)
    return ops.where(inside, values, 0.0)[..., None]


def _channel_norm(t):
    """l2 norm over height and width, per example and channel: `[m, 1, 1, channels]`."""
    return ops.sqrt(ops.sum(ops.square(t), axis=(1, 2), keepdims=True))


def _image_norm(t):
    """l2 norm over height, width and channels: `[m, 1, 1, 1]`."""
    return ops.sqrt(ops.sum(ops.square(t), axis=(1, 2, 3), keepdims=True))


def l2_update(x, x_best, eps, eta, mask1, mask2):
    """Square's l2 update of the perturbation `x_best - x`, for given windows and pattern.

    Window 1 (`mask1`) receives the pattern `eta` (signed per channel) plus the current window
    content normalised per channel, rescaled per channel (norm over height and width, as both
    references do) to `sqrt(max(eps^2 - ||delta||^2, 0) / channels + ||delta on both windows||^2)`;
    window 2 (`mask2`) is cleared. The result is rescaled to norm `eps` and clipped to [0, 1].
    """
    x, x_best, eta, mask1, mask2 = (
        ops.convert_to_tensor(t, "float32") for t in (x, x_best, eta, mask1, mask2)
    )
    channels = x.shape[-1]
    delta = x_best - x
    norm_image = _image_norm(delta)
    norm_windows = _image_norm(delta * ops.maximum(mask1, mask2))
    new = eta + delta * mask1 / (_channel_norm(delta * mask1) + _ops.TINY)
    budget = ops.maximum(eps**2 - ops.square(norm_image), 0.0) / float(channels)
    new = (
        new / (_channel_norm(new * mask1) + _ops.TINY) * ops.sqrt(budget + ops.square(norm_windows))
    )
    delta = delta * (1.0 - mask2)
    delta = delta * (1.0 - mask1) + new * mask1
    return ops.clip(x + eps * delta / (_image_norm(delta) + _ops.TINY), 0.0, 1.0)


class LinfSearch:
    """Square under l-inf: `+-eps` stripes to start, `+-2 eps` per-channel squares to propose."""

    def window_side(self, p, height, width):
        """`round(sqrt(p * height * width))`, at least 1."""
        return ops.maximum(_side(p, height, width), 1)

    def start(self, x, eps, key):
        n, width, channels = ops.shape(x)[0], x.shape[2], x.shape[3]
        return ops.clip(x + eps * _ops.random_sign((n, 1, width, channels), key), 0.0, 1.0)

    def context(self, x, eps):
        """The per-example bounds `(max(x - eps, 0), min(x + eps, 1))` that proposals clip to."""
        return ops.maximum(x - eps, 0.0), ops.minimum(x + eps, 1.0)

    def propose(self, context, x_best, eps, side, keys):
        """`x_best` with a `+-2 eps` square (sign per channel), clipped to the ball and the box."""
        lower, upper = context
        m, height, width, channels = ops.shape(x_best)[0], *x_best.shape[1:]
        sh, sw = ops.minimum(side, height), ops.minimum(side, width)
        rows = _window_1d(_random_corner(keys[0], m, height, sh), sh, height)
        cols = _window_1d(_random_corner(keys[1], m, width, sw), sw, width)
        signs = _ops.random_sign((m, 1, 1, channels), keys[2])
        step = rows[:, :, None, None] * ((2.0 * eps) * signs) * cols[:, None, :, None]
        return ops.minimum(ops.maximum(x_best + step, lower), upper)


class L2Search:
    """Square under l2: a grid of `eta` squares to start, `l2_update` on two windows to propose."""

    def window_side(self, p, height, width):
        """`round(sqrt(p * height * width))`, at least 3 and odd."""
        s = ops.maximum(_side(p, height, width), 3)
        return s + 1 - ops.mod(s, 2)

    def start(self, x, eps, key):
        """A centred grid of `eta` squares with random signs (and transpositions), at norm `eps`."""
        n, height, width, channels = ops.shape(x)[0], x.shape[1], x.shape[2], x.shape[3]
        s = max(height // 5, 1)
        n_rows, n_cols = height // s, width // s
        top, left = (height - n_rows * s) // 2, (width - n_cols * s) // 2
        canvas = _eta_pattern(s, s, height, width)  # `[size, size]`, size = max(height, width)
        pattern, transposed = canvas[:height, :width], ops.transpose(canvas)[:height, :width]
        shifts = [(top + a * s, left + b * s) for a in range(n_rows) for b in range(n_cols)]
        tiles = ops.stack([ops.roll(ops.roll(pattern, i, 0), j, 1) for i, j in shifts])
        tiles_t = ops.stack([ops.roll(ops.roll(transposed, i, 0), j, 1) for i, j in shifts])
        sign_key, flip_key = _ops.split_key(key, 2)
        signs = _ops.random_sign((n, len(shifts), channels), sign_key)
        flip = ops.cast(_ops.uniform((n, len(shifts), 1), flip_key) < 0.5, "float32")
        delta = ops.einsum("thw,btc->bhwc", tiles, (1.0 - flip) * signs)
        delta = delta + ops.einsum("thw,btc->bhwc", tiles_t, flip * signs)
        return ops.clip(x + eps * delta / (_image_norm(delta) + _ops.TINY), 0.0, 1.0)

    def context(self, x, eps):
        """The clean images, which `l2_update` needs."""
        return (x,)

    def propose(self, context, x_best, eps, side, keys):
        """`l2_update` with a random pattern window and a random window to clear."""
        (x,) = context
        m, height, width, channels = ops.shape(x)[0], x.shape[1], x.shape[2], x.shape[3]
        sh, sw = ops.minimum(side, height), ops.minimum(side, width)
        vh1 = _random_corner(keys[0], m, height, sh)
        vw1 = _random_corner(keys[1], m, width, sw)
        vh2 = _random_corner(keys[2], m, height, sh)
        vw2 = _random_corner(keys[3], m, width, sw)
        transpose = ops.logical_and(ops.equal(sh, sw), _ops.uniform((m,), keys[4]) < 0.5)
        pattern = _eta_pattern(sh, sw, height, width)
        eta = _place_pattern(pattern, vh1, vw1, transpose, sh, sw, height, width)
        eta = eta * _ops.random_sign((m, 1, 1, channels), keys[5])
        mask1 = _window_mask(vh1, vw1, sh, sw, height, width)
        mask2 = _window_mask(vh2, vw2, sh, sw, height, width)
        return l2_update(x, x_best, eps, eta, mask1, mask2)


#: The search of each threat model, by its name.
SEARCHES = {"linf": LinfSearch(), "l2": L2Search()}
