"""FAB-T: the targeted Fast Adaptive Boundary attack (Croce and Hein 2020), AutoAttack's third attack."""

import math

import keras
import tensorflow as tf
from keras import ops

from tfadv import backend
from tfadv.attacks import _ops
from tfadv.attacks._fab_projections import rows as _rows
from tfadv.attacks.attack import Attack
from tfadv.utils import validation

_NOT_FOUND = 1e10  # the norm of "no adversarial example found yet"


@keras.saving.register_keras_serializable(package="tfadv")
class FABT(Attack):
    """FAB-T: the targeted Fast Adaptive Boundary attack, a minimum-norm attack; l-inf or l2.

    FAB looks for the smallest perturbation that changes the decision. At each of `steps`
    iterations it linearises the model around the current iterate `x_k`: the decision boundary
    between the true class `y` and a class `t` becomes the hyperplane
    `f_t(x_k) - f_y(x_k) + <grad (f_t - f_y)(x_k), z - x_k> = 0`. It projects both `x_k` and the
    clean image `x` onto that hyperplane intersected with the [0, 1] box (the minimal l-inf or l2
    step, in closed form up to a bisection), and moves to a convex combination of the two
    projections, overshooting by `eta`, with weight at most `alpha_max` on the clean image's
    projection. When the iterate is misclassified it is recorded if its distance to `x` is the
    smallest so far, and pulled back towards `x` by the factor `beta`. On a linear model the first
    step lands on the exact minimal perturbation, `|w.x + b| / ||w||_1` (l-inf) or `/ ||w||_2`
    (l2), times `eta`; later steps shrink the overshoot.

    The targeted version (`targeted=True`, AutoAttack's FAB-T) attacks one boundary at a time,
    the `n_target_classes` most likely wrong classes in turn, each run on the examples not yet
    fooled; the untargeted version (AutoAttack's "FAB" of the `plus` protocol) takes the closest
    linearised boundary over all classes at each step (one input gradient per class). An example
    counts as fooled when the smallest adversarial perturbation found is within `eps`; then the
    attack returns it, otherwise the clean image. Restarts after the first start from a random
    point at distance `eps / 2`. The smallest norm found per example is in the result's
    `info["min_norm"]` (infinite where none was within `eps`).

    Threat model: l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract: images
    in [0, 1], integer (true) labels, a model returning logits with at least two classes.

    Args:
        eps: float, the radius within which a found example counts (and of the random restarts).
            Defaults to `0.3` (MNIST l-inf).
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        steps: int >= 1, iterations per target and restart. Defaults to `100` (AutoAttack).
        n_target_classes: int >= 1, how many of the most likely wrong classes to target (capped at
            the number of classes minus one; unused when `targeted=False`). Defaults to `9`.
        restarts: int >= 1, runs per target (the first from the clean image). Defaults to `1`.
        targeted: bool, FAB-T (`True`) or untargeted FAB (`False`). Defaults to `True`.
        alpha_max: float in [0, 1], the largest weight of the clean image's projection. Defaults
            to `0.1`.
        eta: float >= 1, the overshoot of each step. Defaults to `1.05`.
        beta: float in (0, 1], the backward step towards `x` after a success. Defaults to `0.9`.
        seed: optional int for reproducible random restarts. Defaults to `None`.

    Example:

    ```python
    attack = tfadv.attacks.FABT(eps=0.3, norm="linf", steps=100, n_target_classes=9)
    x_adv = attack(model, x, y)
    ```

    Reference:
        Croce and Hein, "Minimally distorted adversarial examples with a fast adaptive boundary
        attack", ICML 2020; Croce and Hein, "Reliable evaluation of adversarial robustness with an
        ensemble of diverse parameter-free attacks", ICML 2020.
    """

    registry_name = "fabt"
    backends = backend.BACKENDS
    small_budget = {"steps": 5, "n_target_classes": 2}
    minimum_norm = True

    def __init__(
        self,
        *,
        eps=0.3,
        norm="linf",
        steps=100,
        n_target_classes=9,
        restarts=1,
        targeted=True,
        alpha_max=0.1,
        eta=1.05,
        beta=0.9,
        seed=None,
    ):
        super().__init__(eps=eps, norm=norm, seed=seed)
        self.steps = validation.check_steps(steps)
        self.n_target_classes = validation.check_steps(n_target_classes, "n_target_classes")
        self.restarts = validation.check_steps(restarts, "restarts")
        if not isinstance(targeted, bool):
            raise TypeError(f"`targeted` must be a bool. Received: targeted={targeted!r}")
        self.targeted = targeted
        self.alpha_max = validation.check_number("alpha_max", alpha_max, minimum=0.0, maximum=1.0)
        self.eta = validation.check_number("eta", eta, minimum=1.0)
        self.beta = validation.check_number("beta", beta, minimum=0.0, strict=True, maximum=1.0)

    # ------------------------------------------------------------------------------------ maths
    def _boundaries(self, model, x1, shape, y, target):
        """Logit differences `f_c - f_y` `[n, m]` and their input gradients `[n, m, dim]`."""
        images = ops.reshape(x1, shape)
        if self.targeted:
            diff, _, grad = _ops.value_and_grad(
                model,
                images,
                lambda logits: _rows(logits, target) - _rows(logits, y),
                separate=True,  # in nested loops: see `tfadv.backend.separate_function`
            )
            return diff[:, None], ops.reshape(grad, (-1, 1, ops.shape(x1)[1]))
        logits, jacobian = _class_jacobian(model, images)
        jacobian = ops.reshape(jacobian, (ops.shape(x1)[0], ops.shape(logits)[1], -1))
        one_hot = ops.one_hot(y, ops.shape(logits)[1])
        diff = logits - _rows(logits, y)[:, None]
        grads = jacobian - ops.take_along_axis(jacobian, y[:, None, None], axis=1)
        return ops.where(one_hot > 0, _NOT_FOUND, diff), grads

    def _random_start(self, x0, eps, key):
        """A random point at half the radius from `x0` (AutoAttack's restart), in the box."""
        noise = self.threat_model.random_direction(ops.shape(x0), key)
        scale = 0.5 * eps / (self.threat_model.norm(noise) + 1e-12)
        return ops.clip(x0 + noise * scale[:, None], 0.0, 1.0)

    def _single_run(self, model, x, y, target, eps, random_start, key):
        """One FAB run from `x` (or a random start). Returns `(x_adv, min_norm)` per example.

        Every example's run is its own (the model runs in inference mode), so a run on a batch
        gives each example what a run on that example alone gives.
        """
        shape = ops.shape(x)
        static = x.shape[1:]
        features = math.prod(static) if None not in static else None
        x0 = ops.reshape(x, (-1, features)) if features else ops.reshape(x, (shape[0], -1))
        x1 = backend.cond(random_start, lambda: self._random_start(x0, eps, key), lambda: x0)
        ball = self.threat_model

        def body(i, state):
            x1, adv, res = state
            df, dg = self._boundaries(model, x1, shape, y, target)
            if self.targeted:  # one boundary: no closest one to pick
                w, f = dg[:, 0], df[:, 0]
            else:
                dist = ops.abs(df) / (1e-12 + ball.dual_norm(dg))
                closest = ops.cast(ops.argmin(dist, axis=1), "int32")
                w = ops.take_along_axis(dg, closest[:, None, None], axis=1)[:, 0]
                f = _rows(df, closest)
            b = -f + ops.sum(w * x1, axis=1)
            steps = ball.project_onto_hyperplane(
                ops.concatenate([x1, x0], 0), ops.concatenate([w, w], 0), ops.concatenate([b, b], 0)
            )
            d1, d2 = ops.split(steps, 2, axis=0)
            a1 = ops.maximum(ball.norm(d1), 1e-8)
            a2 = ops.maximum(ball.norm(d2), 1e-8)
            alpha = ops.clip(a1 / (a1 + a2), 0.0, self.alpha_max)[:, None]
            x1 = (x1 + self.eta * d1) * (1.0 - alpha) + (x0 + self.eta * d2) * alpha
            x1 = ops.clip(x1, 0.0, 1.0)
            logits = self.logits(model, ops.reshape(x1, shape))
            is_adv = ops.not_equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), y)
            dist_adv = ball.norm(x1 - x0)
            better = ops.logical_and(is_adv, dist_adv < res)
            adv = ops.where(better[:, None], x1, adv)
            res = ops.where(better, dist_adv, res)
            x1 = ops.where(is_adv[:, None], x0 + (x1 - x0) * self.beta, x1)
            return x1, adv, res

        res = ops.full((shape[0],), _NOT_FOUND)
        _, adv, res = backend.fori_loop(0, self.steps, body, (x1, x0, res))
        return ops.reshape(adv, shape), res

    # -------------------------------------------------------------------------------- the attack
    def perturb(self, model, x, y, eps, clean_logits, step_scale):
        n = ops.shape(x)[0]
        num_classes = ops.shape(clean_logits)[-1]
        correct = ops.equal(ops.cast(ops.argmax(clean_logits, axis=-1), "int32"), y)
        # Classes by decreasing logit, ties by index (the first of two equal logits ranks higher).
        ranking = ops.cast(ops.argsort(-clean_logits, axis=-1), "int32")
        n_targets = ops.maximum(ops.minimum(self.n_target_classes, num_classes - 1), 1)
        runs = n_targets * self.restarts if self.targeted else self.restarts
        grads_per_step = 1.0 if self.targeted else ops.cast(num_classes, "float32")
        cost = self.steps * grads_per_step
        compact = _compacts()

        def body(run, best, norms, fooled, evals):
            remaining = ops.logical_and(correct, ops.logical_not(fooled))
            column = ops.minimum(run // self.restarts + 1, num_classes - 1)
            target = ops.take(ranking, column, axis=1)
            random_start = run % self.restarts > 0
            state = (best, norms, fooled, evals)

            def attack(xs, ys, targets):
                key = self.seed_key(x, run)  # from the whole batch
                if not compact and self.seed is None:
                    # A fresh key drawn in a traced loop (JAX) is the same at every run.
                    key = key + ops.stack([0, ops.cast(run, "int32")])
                return self._single_run(model, xs, ys, targets, eps, random_start, key)

            if compact:
                state = _attack_compacted(attack, x, y, target, eps, remaining, cost, state)
            else:
                state = backend.cond(
                    ops.any(remaining),
                    lambda: _attack_masked(attack, x, y, target, eps, remaining, cost, state),
                    lambda: state,
                )
            return (run + 1, *state)

        initial = (
            x,
            ops.full((n,), float("inf")),
            ops.zeros((n,), "bool"),
            ops.zeros((n,), "float32"),
        )
        _, best, norms, _, evals = backend.while_loop(
            lambda run, *_: run < runs, body, (ops.convert_to_tensor(0, "int32"), *initial)
        )
        return best, {"grad_evals": evals, "min_norm": norms}

    def get_config(self):
        config = super().get_config()
        config.update(
            steps=self.steps,
            n_target_classes=self.n_target_classes,
            restarts=self.restarts,
            targeted=self.targeted,
            alpha_max=self.alpha_max,
            eta=self.eta,
            beta=self.beta,
        )
        return config


# ------------------------------------------------------------------------------ the active examples
def _compacts():
    """Whether the runs gather the examples still to attack (TensorFlow, a measured speed win:
    later targets run on the few examples left). Under `jax.jit` shapes are static, so the
    other backends run every example and keep the results of the active ones only."""
    return backend.name() == "tensorflow"


def _attack_compacted(attack, x, y, target, eps, active, cost, state):
    """TensorFlow: `attack` on the active examples gathered, the results scattered back."""
    indices = tf.cast(tf.where(active)[:, 0], tf.int32)

    def run(best, norms, fooled, evals):
        xs, ys = tf.gather(x, indices), tf.gather(y, indices)
        adv, res = attack(xs, ys, tf.gather(target, indices))
        hit = res <= eps
        update = _ops.select(hit, adv, tf.gather(best, indices))
        best = tf.tensor_scatter_nd_update(best, indices[:, None], update)
        norms = tf.tensor_scatter_nd_update(
            norms, indices[:, None], tf.where(hit, res, tf.gather(norms, indices))
        )
        fooled = tf.tensor_scatter_nd_update(fooled, indices[:, None], hit)
        evals = tf.tensor_scatter_nd_add(evals, indices[:, None], tf.fill(tf.shape(indices), cost))
        return best, norms, fooled, evals

    return tf.cond(tf.size(indices) > 0, lambda: run(*state), lambda: state)


def _attack_masked(attack, x, y, target, eps, active, cost, state):
    """Static shapes: `attack` on every example; only the active ones' results are kept."""
    best, norms, fooled, evals = state
    adv, res = attack(x, y, target)
    hit = ops.logical_and(active, res <= eps)
    best = _ops.select(hit, adv, best)
    norms = ops.where(hit, res, norms)
    fooled = ops.logical_or(fooled, hit)
    evals = evals + ops.where(active, cost, 0.0)
    return best, norms, fooled, evals


def _class_jacobian(model, images):
    """Logits `[n, classes]` and their input Jacobian `[n, classes, *image]` (untargeted FAB).

    TensorFlow: `GradientTape.batch_jacobian` (one forward pass, the backward pass vectorised).
    Other backends, in `keras.ops`: one gradient of the batch tiled once per class, row
    `c * n + i` differentiating logit `c` of example `i`.
    """
    if backend.name() == "tensorflow":
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = _ops.model_logits(model, images)
        return logits, tape.batch_jacobian(logits, images)
    n = ops.shape(images)[0]
    num_classes = ops.shape(_ops.model_logits(model, images[:1]))[-1]
    tiled = ops.tile(images, (num_classes,) + (1,) * (len(images.shape) - 1))
    rows_class = ops.repeat(ops.arange(num_classes, dtype="int32"), n)
    _, logits, grad = _ops.value_and_grad(model, tiled, lambda z: _rows(z, rows_class))
    grad = ops.reshape(grad, (num_classes, n, -1))
    return logits[:n], ops.transpose(grad, (1, 0, 2))
