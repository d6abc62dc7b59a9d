"""FAB-T: the targeted Fast Adaptive Boundary attack (Croce and Hein 2020), AutoAttack's third attack."""

import keras
import tensorflow as tf

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
        images = tf.reshape(x1, shape)
        if self.targeted:
            diff, _, grad = _ops.value_and_grad(
                model,
                images,
                lambda logits: _rows(logits, target) - _rows(logits, y),
                separate=True,  # in nested loops: see `_ops._separate_function`
            )
            return diff[:, None], tf.reshape(grad, [-1, 1, x1.shape[1] or tf.shape(x1)[1]])
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = self.logits(model, images)
        jacobian = tape.batch_jacobian(logits, images)
        jacobian = tf.reshape(jacobian, [tf.shape(x1)[0], tf.shape(logits)[1], -1])
        one_hot = tf.one_hot(y, tf.shape(logits)[1])
        diff = logits - _rows(logits, y)[:, None]
        grads = jacobian - tf.gather(jacobian, y[:, None], batch_dims=1)
        return tf.where(one_hot > 0, _NOT_FOUND, diff), grads

    def _random_start(self, x0, eps, key):
        """A random point at half the radius from `x0` (AutoAttack's restart), in the box."""
        noise = self.threat_model.random_direction(tf.shape(x0), key)
        scale = 0.5 * eps / (self.threat_model.norm(noise) + 1e-12)
        return tf.clip_by_value(x0 + noise * scale[:, None], 0.0, 1.0)

    def _single_run(self, model, x, y, target, eps, random_start, key):
        """One FAB run from `x` (or a random start). Returns `(x_adv, min_norm)` per example."""
        shape = tf.shape(x)
        features = x.shape[1:].num_elements()  # static where the image shape is
        x0 = tf.reshape(x, [-1, features]) if features else tf.reshape(x, [shape[0], -1])
        x1 = tf.cond(random_start, lambda: self._random_start(x0, eps, key), lambda: x0)
        ball = self.threat_model

        def body(i, x1, adv, res):
            df, dg = self._boundaries(model, x1, shape, y, target)
            if self.targeted:  # one boundary: no closest one to pick
                w, f = dg[:, 0], df[:, 0]
            else:
                dist = tf.abs(df) / (1e-12 + ball.dual_norm(dg))
                closest = tf.argmin(dist, axis=1, output_type=tf.int32)
                w = tf.gather(dg, closest[:, None], batch_dims=1)[:, 0]
                f = _rows(df, closest)
            b = -f + tf.reduce_sum(w * x1, axis=1)
            steps = ball.project_onto_hyperplane(
                tf.concat([x1, x0], 0), tf.concat([w, w], 0), tf.concat([b, b], 0)
            )
            d1, d2 = tf.split(steps, 2, axis=0)
            a1 = tf.maximum(ball.norm(d1), 1e-8)
            a2 = tf.maximum(ball.norm(d2), 1e-8)
            alpha = tf.clip_by_value(a1 / (a1 + a2), 0.0, self.alpha_max)[:, None]
            x1 = (x1 + self.eta * d1) * (1.0 - alpha) + (x0 + self.eta * d2) * alpha
            x1 = tf.clip_by_value(x1, 0.0, 1.0)
            logits = self.logits(model, tf.reshape(x1, shape))
            is_adv = tf.not_equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y)
            dist_adv = ball.norm(x1 - x0)
            better = tf.logical_and(is_adv, dist_adv < res)
            adv = tf.where(better[:, None], x1, adv)
            res = tf.where(better, dist_adv, res)
            x1 = tf.where(is_adv[:, None], x0 + (x1 - x0) * self.beta, x1)
            return i + 1, x1, adv, res

        res = tf.fill([shape[0]], _NOT_FOUND)
        _, _, adv, res = tf.while_loop(
            lambda i, *_: i < self.steps, body, [tf.constant(0), x1, x0, res],
            parallel_iterations=1,
        )  # fmt: skip
        return tf.reshape(adv, shape), res

    # -------------------------------------------------------------------------------- the attack
    def perturb(self, model, x, y, eps, clean_logits, step_scale):
        n = tf.shape(x)[0]
        num_classes = tf.shape(clean_logits)[-1]
        correct = tf.equal(tf.argmax(clean_logits, axis=-1, output_type=tf.int32), y)
        ranking = tf.cast(
            tf.argsort(clean_logits, axis=-1, direction="DESCENDING", stable=True), tf.int32
        )
        n_targets = tf.maximum(tf.minimum(self.n_target_classes, num_classes - 1), 1)
        runs = n_targets * self.restarts if self.targeted else tf.constant(self.restarts)
        grads_per_step = 1.0 if self.targeted else tf.cast(num_classes, tf.float32)

        def attack(run, best, norms, fooled, evals, indices):
            xs, ys = tf.gather(x, indices), tf.gather(y, indices)
            column = tf.minimum(run // self.restarts + 1, num_classes - 1)
            target = tf.gather(tf.gather(ranking, column, axis=1), indices)
            key = self.seed_key(x, run)
            adv, res = self._single_run(model, xs, ys, target, eps, run % self.restarts > 0, key)
            hit = res <= eps
            hit_images = tf.reshape(hit, [-1] + [1] * (x.shape.rank - 1))
            update = tf.where(hit_images, adv, tf.gather(best, indices))
            best = tf.tensor_scatter_nd_update(best, indices[:, None], update)
            norms = tf.tensor_scatter_nd_update(
                norms, indices[:, None], tf.where(hit, res, tf.gather(norms, indices))
            )
            fooled = tf.tensor_scatter_nd_update(fooled, indices[:, None], hit)
            cost = tf.fill(tf.shape(indices), (self.steps * grads_per_step))
            evals = tf.tensor_scatter_nd_add(evals, indices[:, None], cost)
            return best, norms, fooled, evals

        def body(run, best, norms, fooled, evals):
            remaining = tf.cast(
                tf.where(tf.logical_and(correct, tf.logical_not(fooled)))[:, 0], tf.int32
            )
            state = (best, norms, fooled, evals)
            state = tf.cond(
                tf.size(remaining) > 0,
                lambda: attack(run, *state, remaining),
                lambda: state,
            )
            return (run + 1, *state)

        initial = (x, tf.fill([n], float("inf")), tf.zeros([n], tf.bool), tf.zeros([n]))
        _, best, norms, _, evals = tf.while_loop(
            lambda run, *_: run < runs, body, [tf.constant(0), *initial], parallel_iterations=1
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
