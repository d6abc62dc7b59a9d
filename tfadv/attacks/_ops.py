"""Attack maths shared by every attack (internal): one home for each formula.

Per-example shapes and selections, the logit margin and Croce and Hein's DLR losses, the seeded
stateless random keys, and the float16-safe input gradient (with optional Expectation over
Transformation). Every attack and threat model of `tfadv.attacks` uses these functions; none keeps
its own copy.
"""

from keras import ops

from tfadv import backend

#: Added to norms and denominators before dividing.
TINY = 1e-12

# Under a float16 policy the attack objective is multiplied by this before differentiation, so that
# small gradients do not underflow; the gradient is divided by it again in float32.
_FLOAT16_LOSS_SCALE = 1024.0

# Multiplies the batch sum in `seed_key`, so that batches with close sums get distant keys.
_BATCH_HASH = 997.0


def default_step_size(eps, steps):
    """Madry et al.'s step rule, `2.5 * eps / steps` (a zero radius gets a harmless 1e-3 step).

    `eps` may be a Python number (returns a float) or a scalar tensor (returns a tensor).
    """
    if not ops.is_tensor(eps):
        eps = float(eps)
        return 2.5 * eps / int(steps) if eps > 0 else 1e-3
    return ops.where(eps > 0, 2.5 * eps / int(steps), 1e-3)


# ------------------------------------------------------------------------------ per-example shapes
def per_example_shape(x):
    """Shape `[batch, 1, 1, ...]` that broadcasts a per-example value over the batch `x`."""
    return (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)


def per_example(values, x):
    """Reshapes per-example `values` (`[batch]`) to broadcast over the batch `x`."""
    return ops.reshape(values, (-1,) + (1,) * (len(x.shape) - 1))


def select(mask, a, b):
    """Per example: `a` where `mask` (`[batch]` bool) holds, else `b`."""
    return ops.where(per_example(mask, a), a, b)


def flat(x):
    """`x` as `[batch, features]`."""
    return ops.reshape(x, (ops.shape(x)[0], -1))


def l2_norm(x):
    """Per-example Euclidean norm, `[batch]`."""
    return ops.sqrt(ops.sum(ops.square(flat(x)), axis=1))


def linf_norm(x):
    """Per-example largest absolute entry, `[batch]`."""
    return ops.max(ops.abs(flat(x)), axis=1)


# ---------------------------------------------------------------------------------- logit losses
def true_logit(logits, y):
    """`z_y` per example."""
    return ops.sum(ops.one_hot(y, ops.shape(logits)[-1], dtype=logits.dtype) * logits, axis=-1)


def best_other_logit(logits, y):
    """`max_{j != y} z_j` per example (exact: the true class is excluded, not penalised)."""
    is_true = ops.cast(ops.one_hot(y, ops.shape(logits)[-1]), "bool")
    return ops.max(ops.where(is_true, ops.cast(-float("inf"), logits.dtype), logits), axis=-1)


def margin(logits, y):
    """The logit margin `z_y - max_{j != y} z_j`; negative exactly when `y` is not predicted."""
    return true_logit(logits, y) - best_other_logit(logits, y)


def _sorted_column(sorted_logits, k):
    """Column `k` of logits sorted in decreasing order, or the last one when there are fewer."""
    last = ops.shape(sorted_logits)[-1] - 1
    return ops.take(sorted_logits, ops.minimum(k, last), axis=-1)


def _dlr_denominator(logits, scale):
    """`scale(sorted logits)`, or 1 for two classes (where no scale-invariant loss can ascend)."""
    sorted_logits = ops.flip(ops.sort(logits, axis=-1), axis=-1)
    denominator = scale(sorted_logits) + TINY
    return ops.where(ops.shape(logits)[-1] >= 3, denominator, ops.ones_like(denominator))


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
    draw different noise while a fixed seed stays reproducible. With `seed=None` the key is fresh
    (`tfadv.backend.fresh_key`: `keras.utils.set_random_seed` still makes it reproducible); on JAX
    the salt is added to it, because a `lax` loop body is traced once and would otherwise draw its
    trace's one fresh key at every iteration.
    """
    if seed is None:
        key = backend.fresh_key()
        if backend.name() != "jax":
            return key
        return ops.stack([key[0], key[1] + ops.cast(salt, "int32")])
    total = ops.sum(ops.cast(x, "float32")) * _BATCH_HASH
    digest = total - ops.floor(total / 2.0**30) * 2.0**30
    return ops.stack([ops.convert_to_tensor(seed + salt, "int32"), ops.cast(digest, "int32")])


def split_key(key, n):
    """`n` independent keys derived from `key`."""
    return backend.split_key(key, n)


def uniform(shape, key, minval=0.0, maxval=1.0):
    """Stateless uniform noise in `[minval, maxval)`."""
    return backend.uniform(shape, key, minval, maxval)


def normal(shape, key, stddev=1.0):
    """Stateless Gaussian noise."""
    return backend.normal(shape, key, stddev)


def random_sign(shape, key):
    """Stateless uniformly random `-1.0` / `+1.0`."""
    return ops.where(uniform(shape, key) < 0.5, -1.0, 1.0)


# ---------------------------------------------------------------------------- model and gradient
def model_logits(model, x):
    """Runs `model` in inference mode and returns float32 logits."""
    logits = model(x, training=False)
    if isinstance(logits, (list, tuple)):
        logits = logits[0]
    return ops.cast(logits, "float32")


def _compute_dtype(model):
    policy = getattr(model, "dtype_policy", None)
    return getattr(policy, "compute_dtype", "float32")


def _value_and_grad_once(model, x, objective_fn, scale):
    def total(z):
        logits = model_logits(model, z)
        objective = objective_fn(logits)
        return ops.sum(objective) * scale, (objective, logits)

    (_, (objective, logits)), grad = backend.value_and_grad(total, x)
    grad = ops.cast(grad, "float32") / scale
    # A vanishing DLR denominator or a float16 overflow can make entries non-finite: drop them.
    return objective, logits, ops.where(ops.isfinite(grad), grad, 0.0)


def value_and_grad(model, x, objective_fn, eot=1, separate=False):
    """Per-example objective, logits and float32 input gradient of the summed objective.

    `objective_fn` maps float32 logits `[batch, classes]` to a per-example objective `[batch]`. The
    model runs with `training=False`; under a float16 compute dtype the objective is scaled by 1024
    before differentiation and the gradient unscaled in float32, so small gradients do not
    underflow. Non-finite gradient entries become 0. The gradient itself comes from
    `tfadv.backend.value_and_grad` (the one backend-specific step).

    With `eot > 1` (Expectation over Transformation, for randomised models) the objective and the
    gradient are averaged over `eot` forward passes; the logits are those of the last pass.

    With `separate=True`, inside a `tf.function` on a CPU-only machine (TensorFlow), the gradient is
    traced as a function of its own (`tfadv.backend.separate_function`): for attacks whose gradient sits in
    nested loops.

    Returns:
        `(objective, logits, grad)`: `[batch]`, `[batch, classes]` and the shape of `x`.
    """
    if (
        separate
        and eot == 1
        and backend.name() == "tensorflow"
        and backend.inside_compiled(x)
        and backend.cpu_only()
    ):
        return backend.separate_function(lambda z: value_and_grad(model, z, objective_fn), x)
    scale = _FLOAT16_LOSS_SCALE if _compute_dtype(model) == "float16" else 1.0
    objective, logits, grad = _value_and_grad_once(model, x, objective_fn, scale)
    if eot == 1:
        return objective, logits, grad

    def body(j, state):
        objective_sum, grad_sum, _ = state
        objective_j, logits_j, grad_j = _value_and_grad_once(model, x, objective_fn, scale)
        return objective_sum + objective_j, grad_sum + grad_j, logits_j

    objective, grad, logits = backend.fori_loop(1, eot, body, (objective, grad, logits))
    return objective / eot, logits, grad / eot
