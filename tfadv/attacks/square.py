"""The Square attack (Andriushchenko et al. 2020): score-based black-box random search."""

import keras
import tensorflow as tf

from tfadv.attacks.attack import Attack
from tfadv.utils import validation

_TINY = 1e-12
# p is halved after these (rescaled) iterations: AutoAttack's schedule for a 10,000-query budget.
_P_BOUNDARIES = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def _as_images(x):
    """Views `x` as `[batch, height, width, channels]` (vectors as one-row images)."""
    rank = x.shape.rank
    if rank == 4:
        return x
    if rank == 3:
        return x[..., None]
    if rank == 2:
        return x[:, None, :, None]
    raise ValueError(
        "Square needs inputs of shape (batch, features), (batch, height, width) or "
        f"(batch, height, width, channels). Received: x of shape {x.shape}"
    )


def _uniform(shape, key):
    return tf.random.stateless_uniform(shape, seed=key)


def _random_sign(shape, key):
    return tf.where(_uniform(shape, key) < 0.5, -1.0, 1.0)


def _l2(t, keepdims=True):
    return tf.sqrt(tf.reduce_sum(tf.square(t), axis=[1, 2, 3], keepdims=keepdims))


def _eta_pattern(sh, sw, height, width):
    """Square's l2 window pattern on a `[size, size]` canvas (`size = max(height, width)`).

    The pattern fills the top-left `sh x sw` block. The top half of the block holds the "rectangle"
    pattern (nested rectangles weighted `1 / (k + 1)^2` around its centre), the bottom half its
    negative; each half has unit norm, then the whole has unit norm (Andriushchenko et al., `eta`
    and `eta_rectangles`).
    """
    size = max(height, width)
    i = tf.range(size)[:, None]
    j = tf.range(size)[None, :]
    half = sh // 2
    top = i < half
    rows = tf.where(top, half, sh - half)
    local_i = tf.where(top, i, i - half)
    centre_i, centre_j = rows // 2, sw // 2
    count = tf.maximum(centre_i + 1, centre_j + 1)
    distance = tf.maximum(tf.abs(local_i - centre_i), tf.abs(j - centre_j))
    weights = 1.0 / tf.square(tf.range(1, size + 2, dtype=tf.float32))
    cumulative = tf.concat([[0.0], tf.cumsum(weights)], axis=0)
    values = tf.gather(cumulative, count) - tf.gather(cumulative, tf.minimum(distance, count))
    inside = tf.logical_and(i < sh, j < sw)
    values = tf.where(inside, values, 0.0)
    top_norm = tf.sqrt(tf.reduce_sum(tf.where(top, tf.square(values), 0.0)))
    bottom_norm = tf.sqrt(tf.reduce_sum(tf.where(top, 0.0, tf.square(values))))
    pattern = tf.where(top, values / (top_norm + _TINY), -values / (bottom_norm + _TINY))
    pattern = pattern / (tf.sqrt(tf.reduce_sum(tf.square(pattern))) + _TINY)
    return pattern


@keras.saving.register_keras_serializable(package="tfadv")
class Square(Attack):
    """The Square attack: score-based black-box random search in the epsilon ball (l-inf or l2).

    Square never computes a gradient: it only queries the model's logits. It starts from vertical
    stripes of `+-eps` (l-inf) or from a grid of square patterns (l2), and at every query proposes a
    change of the current best perturbation on a random square window whose side shrinks with a
    fixed schedule (a share `p` of the pixels, from `p_init` down to `p_init / 512`). The proposal
    is kept when it lowers the margin loss `z_y - max_{j != y} z_j` (or misclassifies the example).
    Examples already misclassified stop querying. With `restarts > 1` the search starts again, from
    new random points, on the examples it did not fool.

    Because it needs no gradient, Square is the attack that exposes gradient masking: a defence that
    resists the gradient attacks but not Square has obfuscated gradients (AutoAttack runs it last).

    Windows and signs are drawn per example (the original Square code; AutoAttack's shares one
    window per batch), positions uniformly over all valid windows. Inputs are viewed as NHWC images;
    vectors `(batch, features)` as one-row images.

    Threat model: l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract: images
    in [0, 1] with static height, width and channels, integer labels, a model returning logits.

    Args:
        eps: float, the radius. Defaults to `0.3` (MNIST l-inf).
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        n_queries: int >= 1, the query budget per example and restart. Defaults to `5000`
            (AutoAttack).
        p_init: float in (0, 1], the initial share of pixels changed per query. Defaults to `0.8`
            (AutoAttack).
        restarts: int >= 1, random restarts on the examples not yet fooled. Defaults to `1`.
        loss: `"margin"` (the logit margin) or `"ce"` (minus the cross-entropy), the score that a
            proposal must lower. Defaults to `"margin"`.
        seed: optional int for a reproducible search. Defaults to `None`.

    Example:

    ```python
    attack = tfadv.attacks.Square(eps=0.3, n_queries=5000)
    x_adv = attack(model, x, y)
    ```

    Reference:
        Andriushchenko, Croce, Flammarion, Hein, "Square Attack: a query-efficient black-box
        adversarial attack via random search", ECCV 2020.
    """

    #: Square only queries the model's outputs; evaluation treats it as the black-box check.
    gradient_free = True

    def __init__(
        self,
        *,
        eps=0.3,
        norm="linf",
        n_queries=5000,
        p_init=0.8,
        restarts=1,
        loss="margin",
        seed=None,
    ):
        super().__init__(eps=eps, norm=norm, seed=seed)
        self.n_queries = validation.check_steps(n_queries, "n_queries")
        self.p_init = validation.check_number(
            "p_init", p_init, minimum=0.0, strict=True, maximum=1.0
        )
        self.restarts = validation.check_steps(restarts, "restarts")
        self.loss = validation.check_choice("loss", loss, ("margin", "ce"))

    # ---------------------------------------------------------------------------------------
    # helpers
    def _window_size(self, i, height, width):
        it = tf.floor(tf.cast(i, tf.float32) / float(self.n_queries) * 10000.0)
        halvings = tf.reduce_sum(tf.cast(it > tf.constant(_P_BOUNDARIES, tf.float32), tf.float32))
        p = self.p_init / tf.pow(2.0, halvings)
        s = tf.cast(tf.round(tf.sqrt(p * float(height * width))), tf.int32)
        if self.norm == "linf":
            return tf.maximum(s, 1)
        s = tf.maximum(s, 3)
        return s + 1 - tf.math.floormod(s, 2)  # odd, as in the reference

    @staticmethod
    def _window_mask(vh, vw, sh, sw, height, width):
        rows = tf.range(height)[None, :, None]
        cols = tf.range(width)[None, None, :]
        vh, vw = vh[:, None, None], vw[:, None, None]
        inside = tf.logical_and(
            tf.logical_and(rows >= vh, rows < vh + sh), tf.logical_and(cols >= vw, cols < vw + sw)
        )
        return tf.cast(inside, tf.float32)[..., None]

    @staticmethod
    def _random_corner(key, m, size, window):
        return tf.cast(
            tf.floor(_uniform([m], key) * tf.cast(size - window + 1, tf.float32)), tf.int32
        )

    def _place_pattern(self, pattern, vh, vw, transpose, sh, sw, height, width):
        """The `[m, height, width, 1]` pattern moved to each example's window (optionally
        transposed)."""
        rows = tf.range(height)[None, :, None] - vh[:, None, None]
        cols = tf.range(width)[None, None, :] - vw[:, None, None]
        inside = tf.logical_and(
            tf.logical_and(rows >= 0, rows < sh), tf.logical_and(cols >= 0, cols < sw)
        )
        flip = transpose[:, None, None]
        r = tf.clip_by_value(tf.where(flip, cols, rows), 0, tf.shape(pattern)[0] - 1)
        c = tf.clip_by_value(tf.where(flip, rows, cols), 0, tf.shape(pattern)[1] - 1)
        values = tf.gather_nd(pattern, tf.stack([r, c], axis=-1))
        return tf.where(inside, values, 0.0)[..., None]

    def _l2_init(self, n, height, width, channels, key):
        """The l2 start: a centred grid of `eta` squares with random signs (and transpositions)."""
        s = max(height // 5, 1)
        n_rows, n_cols = height // s, width // s
        top, left = (height - n_rows * s) // 2, (width - n_cols * s) // 2
        pattern = _eta_pattern(s, s, height, width)
        size = max(height, width)
        canvas = tf.pad(
            pattern, [[0, size - tf.shape(pattern)[0]], [0, size - tf.shape(pattern)[1]]]
        )
        transposed = tf.transpose(canvas)[:height, :width]
        pattern = canvas[:height, :width]
        tiles, tiles_t = [], []
        for a in range(n_rows):
            for b in range(n_cols):
                shift = [top + a * s, left + b * s]
                tiles.append(tf.roll(pattern, shift, axis=[0, 1]))
                tiles_t.append(tf.roll(transposed, shift, axis=[0, 1]))
        tiles, tiles_t = tf.stack(tiles), tf.stack(tiles_t)
        sign_key, flip_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        signs = _random_sign([n, len(tiles_t), channels], sign_key)
        flip = tf.cast(_uniform([n, len(tiles_t), 1], flip_key) < 0.5, tf.float32)
        delta = tf.einsum("thw,btc->bhwc", tiles, (1.0 - flip) * signs)
        delta += tf.einsum("thw,btc->bhwc", tiles_t, flip * signs)
        return delta

    def _l2_proposal(self, x, x_best, eps, i, keys, height, width, channels):
        m = tf.shape(x)[0]
        s = self._window_size(i, height, width)
        sh, sw = tf.minimum(s, height), tf.minimum(s, width)
        vh1 = self._random_corner(keys[0], m, height, sh)
        vw1 = self._random_corner(keys[1], m, width, sw)
        mask1 = self._window_mask(vh1, vw1, sh, sw, height, width)
        vh2 = self._random_corner(keys[2], m, height, sh)
        vw2 = self._random_corner(keys[3], m, width, sw)
        mask2 = self._window_mask(vh2, vw2, sh, sw, height, width)
        transpose = tf.logical_and(tf.equal(sh, sw), _uniform([m], keys[4]) < 0.5)
        eta = self._place_pattern(
            _eta_pattern(sh, sw, height, width), vh1, vw1, transpose, sh, sw, height, width
        )
        delta = x_best - x
        norm_window = tf.sqrt(tf.reduce_sum(tf.square(delta * mask1), axis=[1, 2], keepdims=True))
        norm_image = _l2(delta)
        norm_windows = _l2(delta * tf.maximum(mask1, mask2))
        new = eta * _random_sign([m, 1, 1, channels], keys[5]) + delta * mask1 / (
            norm_window + _TINY
        )
        norm_new = tf.sqrt(tf.reduce_sum(tf.square(new * mask1), axis=[1, 2], keepdims=True))
        budget = tf.maximum(eps**2 - tf.square(norm_image), 0.0) / float(channels)
        new = new / (norm_new + _TINY) * tf.sqrt(budget + tf.square(norm_windows))
        delta = delta * (1.0 - mask2)
        delta = delta * (1.0 - mask1) + new * mask1
        return tf.clip_by_value(x + eps * delta / (_l2(delta) + _TINY), 0.0, 1.0)

    def _linf_proposal(self, x, x_best, eps, i, keys, height, width, channels):
        m = tf.shape(x)[0]
        s = self._window_size(i, height, width)
        sh, sw = tf.minimum(s, height), tf.minimum(s, width)
        vh = self._random_corner(keys[0], m, height, sh)
        vw = self._random_corner(keys[1], m, width, sw)
        mask = self._window_mask(vh, vw, sh, sw, height, width)
        signs = _random_sign([m, 1, 1, channels], keys[2])
        x_new = x_best + mask * (2.0 * eps) * signs
        x_new = tf.clip_by_value(x_new, x - eps, x + eps)
        return tf.clip_by_value(x_new, 0.0, 1.0)

    # ------------------------------------------------------------------------------------ the
    # search
    def _single_run(self, score, x, y, eps, key):
        """One search on `x`; returns `(x_best, margin, queries)` per example."""
        n = tf.shape(x)[0]
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        init_key, loop_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        if self.norm == "linf":
            x_best = tf.clip_by_value(
                x + eps * _random_sign([n, 1, width, channels], init_key), 0.0, 1.0
            )
            propose = self._linf_proposal
        else:
            delta = self._l2_init(n, height, width, channels, init_key)
            x_best = tf.clip_by_value(x + eps * delta / (_l2(delta) + _TINY), 0.0, 1.0)
            propose = self._l2_proposal
        margin, loss = score(x_best, y)
        queries = tf.ones([n], tf.float32)

        def cond(i, x_best, margin, loss, queries):
            return tf.logical_and(i < self.n_queries, tf.reduce_any(margin > 0.0))

        def body(i, x_best, margin, loss, queries):
            idx = tf.cast(tf.where(margin > 0.0)[:, 0], tf.int32)[:, None]
            x_c, best_c = tf.gather_nd(x, idx), tf.gather_nd(x_best, idx)
            y_c = tf.gather_nd(y, idx)
            margin_c, loss_c = tf.gather_nd(margin, idx), tf.gather_nd(loss, idx)
            keys = tf.unstack(
                tf.random.experimental.stateless_split(
                    tf.random.experimental.stateless_fold_in(loop_key, i), 6
                )
            )
            x_new = propose(x_c, best_c, eps, i, keys, height, width, channels)
            margin_new, loss_new = score(x_new, y_c)
            improved = loss_new < loss_c
            loss_c = tf.where(improved, loss_new, loss_c)
            improved = tf.logical_or(improved, margin_new <= 0.0)
            margin_c = tf.where(improved, margin_new, margin_c)
            best_c = tf.where(improved[:, None, None, None], x_new, best_c)
            x_best = tf.tensor_scatter_nd_update(x_best, idx, best_c)
            margin = tf.tensor_scatter_nd_update(margin, idx, margin_c)
            loss = tf.tensor_scatter_nd_update(loss, idx, loss_c)
            queries = tf.tensor_scatter_nd_add(queries, idx, tf.ones_like(margin_c))
            return i + 1, x_best, margin, loss, queries

        _, x_best, margin, loss, queries = tf.while_loop(
            cond, body, [tf.constant(0), x_best, margin, loss, queries], parallel_iterations=1
        )
        return x_best, margin, queries

    def perturb(self, model, x, y, eps, clean_logits, step_scale):
        input_shape = tf.shape(x)
        images = _as_images(x)
        if not images.shape[1:].is_fully_defined():
            raise ValueError(
                "Square needs static image dimensions (height, width, channels). "
                f"Received: x of shape {x.shape}"
            )

        def score(candidates, labels):
            batch_shape = tf.concat([tf.shape(candidates)[:1], input_shape[1:]], axis=0)
            logits = self.logits(model, tf.reshape(candidates, batch_shape))
            num_classes = tf.shape(logits)[-1]
            one_hot = tf.one_hot(labels, num_classes, dtype=logits.dtype)
            true = tf.reduce_sum(one_hot * logits, axis=-1)
            other = tf.reduce_max(logits - 1e9 * one_hot, axis=-1)
            margin = true - other
            if self.loss == "margin":
                return margin, margin
            return margin, -tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)

        key = self.seed_key(x, 0)
        if key is None:
            key = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int32)
        best, margin, queries = self._single_run(score, images, y, eps, key)
        for restart in range(1, self.restarts):
            remaining = tf.cast(tf.where(margin > 0.0)[:, 0], tf.int32)[:, None]

            def rerun(best=best, margin=margin, queries=queries, remaining=remaining, r=restart):
                restart_key = tf.random.experimental.stateless_fold_in(key, r)
                new_best, new_margin, new_queries = self._single_run(
                    score,
                    tf.gather_nd(images, remaining),
                    tf.gather_nd(y, remaining),
                    eps,
                    restart_key,
                )
                better = new_margin < tf.gather_nd(margin, remaining)
                new_best = tf.where(
                    better[:, None, None, None], new_best, tf.gather_nd(best, remaining)
                )
                new_margin = tf.minimum(new_margin, tf.gather_nd(margin, remaining))
                return (
                    tf.tensor_scatter_nd_update(best, remaining, new_best),
                    tf.tensor_scatter_nd_update(margin, remaining, new_margin),
                    tf.tensor_scatter_nd_add(queries, remaining, new_queries),
                )

            best, margin, queries = tf.cond(
                tf.size(remaining) > 0, rerun, lambda b=best, m=margin, q=queries: (b, m, q)
            )
        x_adv = tf.reshape(best, input_shape)
        zeros = tf.zeros(tf.shape(x)[:1], tf.float32)
        return x_adv, {"grad_evals": zeros, "queries": queries}

    def get_config(self):
        config = super().get_config()
        config.update(
            n_queries=self.n_queries, p_init=self.p_init, restarts=self.restarts, loss=self.loss
        )
        return config
