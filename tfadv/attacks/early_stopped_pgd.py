"""FAT's early-stopped PGD-K-tau, which also measures GAIRAT's geometry value kappa."""

import keras
import tensorflow as tf

from tfadv.attacks import _ops
from tfadv.attacks.attack import Attack
from tfadv.utils import validation


@keras.saving.register_keras_serializable(package="tfadv")
class EarlyStoppedPGD(Attack):
    """Early-stopped PGD-K-tau: per example, stop `tau` steps after the first misclassification.

    Friendly adversarial training (FAT) searches for the least adversarial example that is still
    misclassified. Each example keeps a budget `control = tau`. Before every step the attack checks
    the current prediction: a misclassified example with `control == 0` is frozen (its current
    iterate is returned); a misclassified example with budget left spends one unit and keeps going;
    correctly classified examples keep going untouched. Active examples step by
    `step_size * sign(grad) + omega * N(0, I)` and are projected back onto the ball and [0, 1]. The
    loop ends after `steps` steps or when every example is frozen. With `tau = steps` no example is
    ever frozen and the attack is PGD with the same start (exactly, when `omega = 0`).

    Besides the adversarial batch, `run` returns per example:

    - `kappa`: the number of checks at which the iterate was still correctly classified (GAIRAT's
      geometry value, METHODS.md 5.1; it counts again if a prediction flips back to correct);
    - `grad_evals`: the number of gradient steps the example received (FAT's "BP count").

    Threat model: the l-inf or l2 ball of radius `eps` intersected with [0, 1]. Start, step and
    projection are the threat model's: under l2 the `"uniform"` start is a random point of the l2
    ball, a step moves `step_size` along the l2-normalised gradient, and the projection rescales the
    perturbation to norm `eps` (FAT, GAIRAT and TRADES are defined for both balls; their papers
    report l-inf). Input contract: images in [0, 1], integer labels, a model returning logits.

    Args:
        eps: float, the radius. Defaults to `0.031` (FAT, CIFAR-10 8/255).
        step_size: float > 0. Defaults to `0.007` (FAT).
        steps: int >= 1, the maximum number of steps K. Defaults to `10`.
        tau: int >= 0, steps allowed after the first misclassification. Defaults to `0`.
        random_init: `"uniform"` (U(-eps, eps), FAT), `"normal"` (0.001 N(0, I), FAT for TRADES)
            or `"none"`. Defaults to `"uniform"`.
        omega: float >= 0, std of the Gaussian noise added at every step. Defaults to `0.001` (FAT).
        loss: `"ce"` or `"kl"` (FAT for TRADES). Defaults to `"ce"`.
        seed: optional int for reproducible random draws. Defaults to `None`.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.

    `run` and `__call__` take an optional `tau` that overrides `self.tau` for one call (an int, or
    an integer scalar tensor: FAT's epoch schedule evaluated inside the compiled `train_step`).

    Example:

    ```python
    attack = tfadv.attacks.EarlyStoppedPGD(eps=0.3, step_size=0.03, steps=10, tau=1)
    result = attack.run(model, x, y)
    x_adv, kappa = result.x_adv, result.info["kappa"]
    result = attack.run(model, x, y, tau=3)  # this call only
    ```

    Reference:
        Zhang, Xu, Han, Niu, Cui, Sugiyama, Kankanhalli, "Attacks Which Do Not Kill Training Make
        Adversarial Learning Stronger", ICML 2020; Zhang et al., "Geometry-aware Instance-reweighted
        Adversarial Training", ICLR 2021.
    """

    registry_name = "early_stopped_pgd"
    small_budget = {"step_size": 0.025, "steps": 5, "tau": 1}

    def __init__(
        self,
        *,
        eps=0.031,
        step_size=0.007,
        steps=10,
        tau=0,
        random_init="uniform",
        omega=0.001,
        loss="ce",
        seed=None,
        norm="linf",
    ):
        super().__init__(eps=eps, norm=norm, seed=seed)
        self.step_size = validation.check_number("step_size", step_size, minimum=0.0, strict=True)
        self.steps = validation.check_steps(steps)
        self.tau = validation.check_number("tau", tau, minimum=0, integer=True)
        self.random_init = validation.check_choice(
            "random_init", random_init, ("uniform", "normal", "none")
        )
        self.omega = validation.check_number("omega", omega, minimum=0.0)
        self.loss = validation.check_choice("loss", loss, ("ce", "kl"))

    # ------------------------------------------------------------------------ per-call tau override
    def check_call_options(self, options):
        """Accepts `tau`: an int >= 0 or an integer tensor (a scheduled tau) overriding `self.tau`."""
        tau = options.pop("tau", None)
        super().check_call_options(options)
        if tau is None:
            return {}
        if not tf.is_tensor(tau):
            tau = validation.check_number("tau", tau, minimum=0, integer=True)
        return {"tau": tf.cast(tau, tf.int32)}

    def _start(self, x, eps):
        if self.random_init == "none":
            return x
        key = self.seed_key(x, 0)
        if self.random_init == "uniform":
            return self.threat_model.random_start(x, eps, key)
        return tf.clip_by_value(x + _ops.normal(tf.shape(x), key, 0.001), 0.0, 1.0)

    def perturb(self, model, x, y, eps, clean_logits, step_scale, tau=None):
        """`perturb`, with `tau` optionally given as a (possibly scheduled) int tensor."""
        if tau is None:
            tau = self.tau
        batch = tf.shape(x)[:1]
        step = self.step_size * step_scale
        control = tf.fill(batch, tf.maximum(tf.cast(tau, tf.int32), 0))
        active = tf.ones(batch, tf.bool)
        kappa = tf.zeros(batch, tf.float32)
        grad_evals = tf.zeros(batch, tf.float32)
        x_adv = self._start(x, eps)

        def cond(i, x_adv, control, active, kappa, grad_evals):
            return tf.logical_and(i < self.steps, tf.reduce_any(active))

        def body(i, x_adv, control, active, kappa, grad_evals):
            # Compaction: each step runs the model only on the examples still active (gathered
            # by index, results scattered back), so frozen examples cost no gradient evaluation.
            index = tf.where(active)
            x_act, y_act = tf.gather_nd(x_adv, index), tf.gather_nd(y, index)
            _, logits, grad = self.value_and_grad(
                model, x_act, y_act, tf.gather_nd(clean_logits, index)
            )
            right = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y_act)
            kappa = tf.tensor_scatter_nd_add(kappa, index, tf.cast(right, tf.float32))
            budget = tf.gather_nd(control, index)
            keep = tf.logical_or(right, budget > 0)
            budget = tf.where(tf.logical_and(~right, budget > 0), budget - 1, budget)
            control = tf.tensor_scatter_nd_update(control, index, budget)
            stepped = self.threat_model.step(x_act, grad, step)
            if self.omega > 0:
                noise = _ops.normal(tf.shape(x), self.seed_key(x, i + 1), self.omega)
                stepped += tf.gather_nd(noise, index)
            stepped = self.project(stepped, tf.gather_nd(x, index), eps)
            x_adv = tf.tensor_scatter_nd_update(x_adv, index, _ops.select(keep, stepped, x_act))
            grad_evals = tf.tensor_scatter_nd_add(grad_evals, index, tf.cast(keep, tf.float32))
            active = tf.tensor_scatter_nd_update(active, index, keep)
            return i + 1, x_adv, control, active, kappa, grad_evals

        _, x_adv, _, _, kappa, grad_evals = tf.while_loop(
            cond,
            body,
            [tf.constant(0), x_adv, control, active, kappa, grad_evals],
            parallel_iterations=1,
        )
        return x_adv, {"kappa": kappa, "grad_evals": grad_evals}

    def get_config(self):
        config = super().get_config()
        config.update(
            step_size=self.step_size,
            steps=self.steps,
            tau=self.tau,
            random_init=self.random_init,
            omega=self.omega,
            loss=self.loss,
        )
        return config
