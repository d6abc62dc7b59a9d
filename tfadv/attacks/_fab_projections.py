"""FAB's projection onto a hyperplane within the [0, 1] box, for the l-inf and l2 threat models.

Ports of AutoAttack's `projection_linf` and `projection_l2` (fra31/auto-attack, `fab_projections.py`);
`tfadv.attacks.LinfBall` and `tfadv.attacks.L2Ball` expose them as `project_onto_hyperplane`, which
`tfadv.attacks.FABT` calls. Written in `keras.ops`: they run on every Keras backend.
"""

import tensorflow as tf
from keras import ops

from tfadv import backend

_BIG = 1e12


def take_rows(params, indices):
    """`params[i, indices[i, j]]` for `[n, d]` params and `[n, k]` indices.

    `keras.ops.take_along_axis` along axis 1. On TensorFlow it is the `tf.gather(batch_dims=1)` that
    Keras wraps in a broadcast, an int64 cast and a fix-up of negative indices: those cost about 5%
    of the CPU time of a FAB-T run (its projections gather twice per step over every coordinate).
    """
    if backend.name() == "tensorflow":
        return tf.gather(params, indices, batch_dims=1)
    return ops.take_along_axis(params, indices, axis=1)


def rows(params, index):
    """`params[i, index[i]]` for every row `i`."""
    return take_rows(params, ops.expand_dims(index, 1))[:, 0]


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
    dim = ops.shape(keep_left)[1]
    failing = ops.concatenate([ops.logical_not(keep_left), ops.ones_like(keep_left[:, :1])], axis=1)
    first_failure = ops.cast(ops.argmax(ops.cast(failing, "int32"), axis=1), "int32")
    return ops.clip(first_failure - 1, 0, ops.maximum(dim - 2, 0))


def _sign(condition):
    """`1.0` where `condition` holds, else `-1.0` (float32)."""
    return ops.where(condition, 1.0, -1.0)


def project_linf(t, w, b):
    """Smallest l-inf step `d` with `<w, t + d> = b` and `t + d` in `[0, 1]` (rows of `[n, dim]`).

    Where the box makes the hyperplane unreachable, `d` is the step that moves `<w, .>` furthest
    towards it. A port of AutoAttack's `projection_linf`: the optimal step moves every coordinate by
    `min(lambda, room)` against the sign of `w`, and `lambda` is found by bisection over the sorted
    rooms.
    """
    t, w, b = (ops.convert_to_tensor(v, "float32") for v in (t, w, b))
    wt = ops.sum(w * t, axis=1)
    sign = _sign(wt - b >= 0.0)
    w, b = w * sign[:, None], (b - wt) * sign
    # Each coordinate moves towards the box edge against the sign of `w`: by up to `room`, with
    # the full step `d` (coordinates with `w == 0` stay; they are masked at the end).
    negative = w < 0.0
    upper = 1.0 - t
    room = ops.where(negative, upper, t)
    d = ops.where(negative, upper, -t)
    b0 = ops.sum(w * d, axis=1)
    # Coordinates by decreasing room. Where `w != 0`, `-w * d` equals `|w| * room` exactly.
    descending = ops.flip(ops.argsort(room, axis=1), axis=1)
    room_descending = take_rows(room, descending)
    w_sorted = ops.abs(take_rows(w, descending))
    s = ops.cumsum(w_sorted, axis=1)
    sb = ops.cumsum(w_sorted * room_descending, axis=1) + b0[:, None]
    all_capped = b - (sb[:, -1] - s[:, -1] * ops.min(room, axis=1)) > 0.0
    searched = ops.logical_and(b - b0 > 0.0, ops.logical_not(all_capped))
    k = _last_kept(b[:, None] - (sb - s * room_descending) > 0.0)
    lam_all = ops.maximum(ops.divide_no_nan(b - sb[:, -1], -s[:, -1]), 0.0)[:, None]
    lam = ops.maximum(ops.divide_no_nan(b - rows(sb, k), -rows(s, k)), 0.0)[:, None]
    d_search = ops.where(negative, ops.minimum(lam, d), ops.maximum(-lam, d))
    capped = ops.where(negative, lam_all, -lam_all)
    d = ops.where(all_capped[:, None], capped, ops.where(searched[:, None], d_search, d))
    return ops.where(ops.not_equal(w, 0.0), d, 0.0)


def project_l2(t, w, b):
    """Smallest l2 step `d` with `<w, t + d> = b` and `t + d` in `[0, 1]` (rows of `[n, dim]`).

    The step is `-alpha * w` clipped to the box; a coordinate saturates at `alpha = r_i`, and
    `alpha` is found by bisection over the sorted `r`. A port of AutoAttack's `projection_l2`.
    """
    t, w, b = (ops.convert_to_tensor(v, "float32") for v in (t, w, b))
    c = ops.sum(w * t, axis=1) - b
    sign = _sign(c >= 0.0)
    w, c = w * sign[:, None], c * sign
    small = ops.abs(w) < 1e-8
    w_safe = ops.where(small, 1.0, w)
    r = ops.clip(ops.maximum(t / w_safe, (t - 1.0) / w_safe), -_BIG, _BIG)
    r = ops.where(ops.logical_or(small, r <= -_BIG), _BIG, r)
    order = ops.argsort(r, axis=1)
    rs = take_rows(r, order)
    rs2 = ops.concatenate([rs[:, 1:], ops.zeros_like(rs[:, :1])], axis=1)
    rs = ops.where(rs >= _BIG, 0.0, rs)
    rs2 = ops.where(rs2 >= _BIG, 0.0, rs2)
    w_sq = take_rows(ops.square(w), order)
    w_total = ops.sum(w_sq, axis=1, keepdims=True)
    ws = w_total - ops.cumsum(w_sq, axis=1)
    keep = 1.0 - ops.cast(small, "float32")
    d = -(r * w) * keep
    start = -w_total * rs[:, :1]
    s = ops.concatenate([start, ops.cumsum((rs - rs2) * ws, axis=1) + start], axis=1)
    unclipped = s[:, 0] + c < 0.0
    unreachable = ops.sum(d * w, axis=1) + c > 0.0
    searched = ops.logical_not(ops.logical_or(unclipped, unreachable))

    k = _last_kept(s[:, :-1] + c[:, None] > 0.0)
    alpha = ops.divide_no_nan(rows(s, k) + c, rows(ws, k)) + rows(rs, k)
    alpha = ops.where(ops.equal(rows(ws, k), 0.0), 0.0, alpha)[:, None]
    d_search = ops.where(alpha > r, d, -alpha * w)
    d_free = -ops.divide_no_nan(c[:, None], w_total) * w
    d = ops.where(unclipped[:, None], d_free, ops.where(searched[:, None], d_search, d))
    return d * keep
