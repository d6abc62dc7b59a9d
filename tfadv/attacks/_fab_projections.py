"""FAB's projection onto a hyperplane within the [0, 1] box, for the l-inf and l2 threat models.

Ports of AutoAttack's `projection_linf` and `projection_l2` (fra31/auto-attack, `fab_projections.py`);
`tfadv.attacks.LinfBall` and `tfadv.attacks.L2Ball` expose them as `project_onto_hyperplane`, which
`tfadv.attacks.FABT` calls.
"""

import tensorflow as tf

_BIG = 1e12


def rows(params, index):
    """`params[i, index[i]]` for every row `i`."""
    return tf.gather(params, index[:, None], batch_dims=1)[:, 0]


def _last_kept(keep_left):
    """Per row, the last index `k` in `[0, dim - 2]` before the test `keep_left` first fails.

    AutoAttack bisects over `[0, dim - 1]` for the boundary of a test that holds up to some index
    and fails after it (both projections' tests are monotone in exact arithmetic), ending at the
    last index that holds, at `0` when none does, and at `dim - 2` when all do (the bisection
    never tests the last index). This returns the same boundary from the first failing index: a
    handful of operations instead of `ceil(log2(dim))` dependent halvings in the attack's inner
    loop. Rounding can make the test hold again after failing (a negative remainder of `w^2` at the
    end of the l2 projection's sorted coordinates); the first boundary is the exact one.
    """
    dim = tf.shape(keep_left)[1]
    failing = tf.concat([tf.logical_not(keep_left), tf.ones_like(keep_left[:, :1])], axis=1)
    first_failure = tf.argmax(tf.cast(failing, tf.int32), axis=1, output_type=tf.int32)
    return tf.clip_by_value(first_failure - 1, 0, tf.maximum(dim - 2, 0))


def project_linf(t, w, b):
    """Smallest l-inf step `d` with `<w, t + d> = b` and `t + d` in `[0, 1]` (rows of `[n, dim]`).

    Where the box makes the hyperplane unreachable, `d` is the step that moves `<w, .>` furthest
    towards it. A port of AutoAttack's `projection_linf`: the optimal step moves every coordinate by
    `min(lambda, room)` against the sign of `w`, and `lambda` is found by bisection over the sorted
    rooms.
    """
    wt = tf.reduce_sum(w * t, 1)
    sign = tf.where(wt - b >= 0.0, 1.0, -1.0)
    w, b = w * sign[:, None], (b - wt) * sign
    # Each coordinate moves towards the box edge against the sign of `w`: by up to `room`, with
    # the full step `d` (coordinates with `w == 0` stay; they are masked at the end).
    negative = w < 0.0
    upper = 1.0 - t
    room = tf.where(negative, upper, t)
    d = tf.where(negative, upper, -t)
    b0 = tf.reduce_sum(w * d, 1)
    # Coordinates by decreasing room. Where `w != 0`, `-w * d` equals `|w| * room` exactly.
    descending = tf.reverse(tf.argsort(room, axis=1), axis=[1])
    room_descending = tf.gather(room, descending, batch_dims=1)
    w_sorted = tf.abs(tf.gather(w, descending, batch_dims=1))
    s = tf.cumsum(w_sorted, axis=1)
    sb = tf.cumsum(w_sorted * room_descending, axis=1) + b0[:, None]
    all_capped = b - (sb[:, -1] - s[:, -1] * tf.reduce_min(room, axis=1)) > 0.0
    searched = tf.logical_and(b - b0 > 0.0, tf.logical_not(all_capped))
    k = _last_kept(b[:, None] - (sb - s * room_descending) > 0.0)
    lam_all = tf.maximum(tf.math.divide_no_nan(b - sb[:, -1], -s[:, -1]), 0.0)[:, None]
    lam = tf.maximum(tf.math.divide_no_nan(b - rows(sb, k), -rows(s, k)), 0.0)[:, None]
    d_search = tf.where(negative, tf.minimum(lam, d), tf.maximum(-lam, d))
    capped = tf.where(negative, lam_all, -lam_all)
    d = tf.where(all_capped[:, None], capped, tf.where(searched[:, None], d_search, d))
    return tf.where(tf.not_equal(w, 0.0), d, 0.0)


def project_l2(t, w, b):
    """Smallest l2 step `d` with `<w, t + d> = b` and `t + d` in `[0, 1]` (rows of `[n, dim]`).

    The step is `-alpha * w` clipped to the box; a coordinate saturates at `alpha = r_i`, and
    `alpha` is found by bisection over the sorted `r`. A port of AutoAttack's `projection_l2`.
    """
    c = tf.reduce_sum(w * t, 1) - b
    sign = tf.where(c >= 0.0, 1.0, -1.0)
    w, c = w * sign[:, None], c * sign
    small = tf.abs(w) < 1e-8
    w_safe = tf.where(small, 1.0, w)
    r = tf.clip_by_value(tf.maximum(t / w_safe, (t - 1.0) / w_safe), -_BIG, _BIG)
    r = tf.where(tf.logical_or(small, r <= -_BIG), _BIG, r)
    order = tf.argsort(r, axis=1)
    rs = tf.gather(r, order, batch_dims=1)
    rs2 = tf.concat([rs[:, 1:], tf.zeros_like(rs[:, :1])], axis=1)
    rs = tf.where(rs >= _BIG, 0.0, rs)
    rs2 = tf.where(rs2 >= _BIG, 0.0, rs2)
    w_sq = tf.gather(tf.square(w), order, batch_dims=1)
    w_total = tf.reduce_sum(w_sq, axis=1, keepdims=True)
    ws = w_total - tf.cumsum(w_sq, axis=1)
    keep = 1.0 - tf.cast(small, tf.float32)
    d = -(r * w) * keep
    start = -w_total * rs[:, :1]
    s = tf.concat([start, tf.cumsum((rs - rs2) * ws, axis=1) + start], axis=1)
    unclipped = s[:, 0] + c < 0.0
    unreachable = tf.reduce_sum(d * w, 1) + c > 0.0
    searched = tf.logical_not(tf.logical_or(unclipped, unreachable))

    k = _last_kept(s[:, :-1] + c[:, None] > 0.0)
    alpha = tf.math.divide_no_nan(rows(s, k) + c, rows(ws, k)) + rows(rs, k)
    alpha = tf.where(tf.equal(rows(ws, k), 0.0), 0.0, alpha)[:, None]
    d_search = tf.where(alpha > r, d, -alpha * w)
    d_free = -tf.math.divide_no_nan(c[:, None], w_total) * w
    d = tf.where(unclipped[:, None], d_free, tf.where(searched[:, None], d_search, d))
    return d * keep
