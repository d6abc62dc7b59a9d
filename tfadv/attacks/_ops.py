"""Attack maths shared by every attack (internal): one home for each formula.

Per-example shapes and selections, the logit margin and Croce and Hein's DLR losses, the seeded
stateless random keys, and the float16-safe input gradient (with optional Expectation over
Transformation). Every attack and threat model of `tfadv.attacks` uses these functions; none keeps
its own copy.
"""

import functools

import tensorflow as tf

#: Added to norms and denominators before dividing.
TINY = 1e-12

# Under a float16 policy the attack objective is multiplied by this before differentiation, so that
# small gradients do not underflow; the gradient is divided by it again in float32.
_FLOAT16_LOSS_SCALE = 1024.0

# Multiplies the batch sum in `seed_key`, so that batches with close sums get distant keys.
_BATCH_HASH = 997.0

# Keeps a traced gradient a function of its own (`value_and_grad(..., separate=True)`).
_NO_INLINE = {"_noinline": True}


def default_step_size(eps, steps):
    """Madry et al.'s step rule, `2.5 * eps / steps` (a zero radius gets a harmless 1e-3 step).

    `eps` may be a Python number (returns a float) or a scalar tensor (returns a tensor).
    """
    if tf.is_tensor(eps):
        return tf.where(eps > 0, 2.5 * eps / int(steps), 1e-3)
    eps = float(eps)
    return 2.5 * eps / int(steps) if eps > 0 else 1e-3


# ------------------------------------------------------------------------------ per-example shapes
def per_example_shape(x):
    """Shape `[batch, 1, 1, ...]` that broadcasts a per-example value over the batch `x`."""
    return tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], axis=0)


def per_example(values, x):
    """Reshapes per-example `values` (`[batch]`) to broadcast over the batch `x`."""
    return tf.reshape(values, per_example_shape(x))


def select(mask, a, b):
    """Per example: `a` where `mask` (`[batch]` bool) holds, else `b`."""
    return tf.where(per_example(mask, a), a, b)


def flat(x):
    """`x` as `[batch, features]`."""
    return tf.reshape(x, [tf.shape(x)[0], -1])


def l2_norm(x):
    """Per-example Euclidean norm, `[batch]`."""
    return tf.norm(flat(x), axis=1)


def linf_norm(x):
    """Per-example largest absolute entry, `[batch]`."""
    return tf.reduce_max(tf.abs(flat(x)), axis=1)


# ---------------------------------------------------------------------------------- logit losses
def true_logit(logits, y):
    """`z_y` per example."""
    return tf.reduce_sum(tf.one_hot(y, tf.shape(logits)[-1], dtype=logits.dtype) * logits, axis=-1)


def best_other_logit(logits, y):
    """`max_{j != y} z_j` per example (exact: the true class is excluded, not penalised)."""
    is_true = tf.one_hot(y, tf.shape(logits)[-1], on_value=True, off_value=False)
    return tf.reduce_max(tf.where(is_true, tf.constant(-float("inf"), logits.dtype), logits), -1)


def margin(logits, y):
    """The logit margin `z_y - max_{j != y} z_j`; negative exactly when `y` is not predicted."""
    return true_logit(logits, y) - best_other_logit(logits, y)


def _sorted_column(sorted_logits, k):
    """Column `k` of logits sorted in decreasing order, or the last one when there are fewer."""
    last = tf.shape(sorted_logits)[-1] - 1
    return tf.gather(sorted_logits, tf.minimum(k, last), axis=-1)


def _dlr_denominator(logits, scale):
    """`scale(sorted logits)`, or 1 for two classes (where no scale-invariant loss can ascend)."""
    sorted_logits = tf.sort(logits, axis=-1, direction="DESCENDING")
    denominator = scale(sorted_logits) + TINY
    return tf.where(tf.shape(logits)[-1] >= 3, denominator, tf.ones_like(denominator))


def dlr(logits, y):
    """Untargeted DLR, ascended: `-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12)`.

    `pi` sorts the logits in decreasing order (Croce and Hein 2020). DLR is invariant to shifting and
    scaling the logits. With two classes the third logit does not exist, and every shift- and
    scale-invariant function of two logits is the sign of their difference (a constant with zero
    gradient), so for two classes the denominator is 1 and DLR is minus the logit margin: its
    ascent direction is that of the margin, which is what the ratio rescales for more classes.
    """
    return -margin(logits, y) / _dlr_denominator(logits, lambda s: s[:, 0] - _sorted_column(s, 2))


def targeted_dlr(logits, y, target):
    """Targeted DLR, ascended: `-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12)`.

    `y` are the true classes and `target` the targets. With three classes the missing fourth logit
    is the smallest (third) one; with two classes the denominator is 1, as in `dlr`.
    """
    numerator = true_logit(logits, y) - true_logit(logits, target)
    return -numerator / _dlr_denominator(
        logits, lambda s: s[:, 0] - 0.5 * (_sorted_column(s, 2) + _sorted_column(s, 3))
    )


# ------------------------------------------------------------------------------------ randomness
def seed_key(seed, x, salt=0):
    """A stateless-RNG key `[2]` (int32) from a seed, the batch contents and a salt.

    With an int `seed` the key is `[seed + salt, hash(x)]`: folding in the batch makes every batch
    draw different noise while a fixed seed stays reproducible. With `seed=None` the key is drawn
    from TensorFlow's global generator (so `keras.utils.set_random_seed` still makes it
    reproducible), and `salt` is not needed.
    """
    if seed is None:
        return tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int32)
    digest = tf.math.floormod(tf.reduce_sum(tf.cast(x, tf.float32)) * _BATCH_HASH, 2.0**30)
    return tf.stack([tf.constant(seed, tf.int32) + salt, tf.cast(digest, tf.int32)])


def split_key(key, n):
    """`n` independent keys derived from `key`."""
    return tf.unstack(tf.random.experimental.stateless_split(key, n))


def uniform(shape, key, minval=0.0, maxval=1.0):
    """Stateless uniform noise in `[minval, maxval)`."""
    return tf.random.stateless_uniform(shape, seed=key, minval=minval, maxval=maxval)


def normal(shape, key, stddev=1.0):
    """Stateless Gaussian noise."""
    return tf.random.stateless_normal(shape, seed=key, stddev=stddev)


def random_sign(shape, key):
    """Stateless uniformly random `-1.0` / `+1.0`."""
    return tf.where(uniform(shape, key) < 0.5, -1.0, 1.0)


# ---------------------------------------------------------------------------- model and gradient
def model_logits(model, x):
    """Runs `model` in inference mode and returns float32 logits."""
    logits = model(x, training=False)
    if isinstance(logits, (list, tuple)):
        logits = logits[0]
    return tf.cast(logits, tf.float32)


def _compute_dtype(model):
    policy = getattr(model, "dtype_policy", None)
    return getattr(policy, "compute_dtype", "float32")


def _value_and_grad_once(model, x, objective_fn, scale):
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model_logits(model, x)
        objective = objective_fn(logits)
        total = tf.reduce_sum(objective) * scale
    grad = tape.gradient(total, x)
    if grad is None:  # the model ignores its input (or stops its gradient)
        grad = tf.zeros_like(x)
    grad = tf.cast(grad, tf.float32) / scale
    # A vanishing DLR denominator or a float16 overflow can make entries non-finite: drop them.
    return objective, logits, tf.where(tf.math.is_finite(grad), grad, 0.0)


@functools.cache
def _cpu_only():
    """Whether this machine has no accelerator (Keras then compiles without XLA, and TensorFlow's
    oneDNN graph pass picks the CPU kernels)."""
    return all(device.device_type == "CPU" for device in tf.config.list_physical_devices())


def _separate_function(fn, x):
    """`fn(x)` traced as a function of its own that is not inlined into the caller's graph.

    TensorFlow's oneDNN layout pass gives `MaxPoolGrad` its fast kernel only when it meets the
    forward `MaxPool` first in a topological order of the graph, which a graph with nested loops
    does not always give: FAB-T's gradient, inside three nested loops and a `cond`, ran the slow
    Eigen kernel. A separate function's graph has no loop. Each call costs a function launch.
    """
    try:
        return tf.function(fn, autograph=False, experimental_attributes=_NO_INLINE)(x)
    except tf.errors.OperatorNotAllowedInGraphError:  # the model's `call` needs AutoGraph
        return tf.function(fn, experimental_attributes=_NO_INLINE)(x)


def value_and_grad(model, x, objective_fn, eot=1, separate=False):
    """Per-example objective, logits and float32 input gradient of the summed objective.

    `objective_fn` maps float32 logits `[batch, classes]` to a per-example objective `[batch]`. The
    model runs with `training=False`; under a float16 compute dtype the objective is scaled by 1024
    before differentiation and the gradient unscaled in float32, so small gradients do not
    underflow. Non-finite gradient entries become 0.

    With `eot > 1` (Expectation over Transformation, for randomised models) the objective and the
    gradient are averaged over `eot` forward passes; the logits are those of the last pass.

    With `separate=True`, inside a `tf.function` on a CPU-only machine, the gradient is traced as a
    function of its own (`_separate_function`): for attacks whose gradient sits in nested loops.

    Returns:
        `(objective, logits, grad)`: `[batch]`, `[batch, classes]` and the shape of `x`.
    """
    if separate and eot == 1 and tf.inside_function() and _cpu_only():
        return _separate_function(lambda z: value_and_grad(model, z, objective_fn), x)
    scale = _FLOAT16_LOSS_SCALE if _compute_dtype(model) == "float16" else 1.0
    objective, logits, grad = _value_and_grad_once(model, x, objective_fn, scale)
    if eot == 1:
        return objective, logits, grad

    def body(j, objective_sum, grad_sum, _):
        objective_j, logits_j, grad_j = _value_and_grad_once(model, x, objective_fn, scale)
        return j + 1, objective_sum + objective_j, grad_sum + grad_j, logits_j

    _, objective, grad, logits = tf.while_loop(
        lambda j, *_: j < eot,
        body,
        [tf.constant(1), objective, grad, logits],
        parallel_iterations=1,
    )
    return objective / eot, logits, grad / eot
