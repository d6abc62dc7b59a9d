"""FAT's early-stopped PGD-K-tau, which also measures GAIRAT's geometry value kappa."""

import keras
import tensorflow as tf
from keras import ops

from tfadv import backend
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
    backends = backend.BACKENDS
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
        if not ops.is_tensor(tau):
            tau = validation.check_number("tau", tau, minimum=0, integer=True)
        return {"tau": ops.cast(tau, "int32")}

    def _start(self, x, eps):
        if self.random_init == "none":
            return x
        key = self.seed_key(x, 0)
        if self.random_init == "uniform":
            return self.threat_model.random_start(x, eps, key)
        return ops.clip(x + _ops.normal(ops.shape(x), key, 0.001), 0.0, 1.0)

    def _update(self, model, x, x_adv, y, clean_logits, budget, noise, step, eps):
        """One step on a batch of active examples: `(stepped x_adv, keep, right, budget)`."""
        _, logits, grad = self.value_and_grad(model, x_adv, y, clean_logits)
        right = ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), y)
        keep = ops.logical_or(right, budget > 0)
        budget = ops.where(ops.logical_and(ops.logical_not(right), budget > 0), budget - 1, budget)
        stepped = self.threat_model.step(x_adv, grad, step)
        if noise is not None:
            stepped = stepped + noise
        stepped = self.project(stepped, x, eps)
        return _ops.select(keep, stepped, x_adv), keep, right, budget

    def _noise(self, x, i):
        if self.omega > 0:
            return _ops.normal(ops.shape(x), self.seed_key(x, i + 1), self.omega)
        return None

    def _compacted_body(self, model, x, y, clean_logits, step, eps):
        """TensorFlow: each step runs the model only on the examples still active (gathered by
        index, results scattered back), so frozen examples cost no gradient evaluation."""

        def body(i, x_adv, control, active, kappa, grad_evals):
            index = tf.where(active)
            noise = self._noise(x, i)
            x_act, keep, right, budget = self._update(
                model,
                tf.gather_nd(x, index),
                tf.gather_nd(x_adv, index),
                tf.gather_nd(y, index),
                tf.gather_nd(clean_logits, index),
                tf.gather_nd(control, index),
                None if noise is None else tf.gather_nd(noise, index),
                step,
                eps,
            )
            kappa = tf.tensor_scatter_nd_add(kappa, index, tf.cast(right, tf.float32))
            control = tf.tensor_scatter_nd_update(control, index, budget)
            x_adv = tf.tensor_scatter_nd_update(x_adv, index, x_act)
            grad_evals = tf.tensor_scatter_nd_add(grad_evals, index, tf.cast(keep, tf.float32))
            active = tf.tensor_scatter_nd_update(active, index, keep)
            return i + 1, x_adv, control, active, kappa, grad_evals

        return body

    def _masked_body(self, model, x, y, clean_logits, step, eps):
        """JAX and PyTorch (static shapes): the whole batch steps, frozen examples keep their state."""

        def body(i, x_adv, control, active, kappa, grad_evals):
            stepped, keep, right, budget = self._update(
                model, x, x_adv, y, clean_logits, control, self._noise(x, i), step, eps
            )
            x_adv = _ops.select(active, stepped, x_adv)
            control = ops.where(active, budget, control)
            kappa = kappa + ops.cast(ops.logical_and(active, right), "float32")
            keep = ops.logical_and(active, keep)
            grad_evals = grad_evals + ops.cast(keep, "float32")
            return i + 1, x_adv, control, keep, kappa, grad_evals

        return body

    def perturb(self, model, x, y, eps, clean_logits, step_scale, tau=None):
        """`perturb`, with `tau` optionally given as a (possibly scheduled) int tensor."""
        if tau is None:
            tau = self.tau
        batch = ops.shape(x)[:1]
        step = self.step_size * step_scale
        control = ops.full(batch, ops.maximum(ops.cast(tau, "int32"), 0), dtype="int32")
        active = ops.ones(batch, "bool")
        kappa = ops.zeros(batch, "float32")
        grad_evals = ops.zeros(batch, "float32")
        x_adv = self._start(x, eps)
        make_body = self._compacted_body if backend.name() == "tensorflow" else self._masked_body

        def cond(i, x_adv, control, active, kappa, grad_evals):
            return ops.logical_and(i < self.steps, ops.any(active))

        _, x_adv, _, _, kappa, grad_evals = backend.while_loop(
            cond,
            make_body(model, x, y, clean_logits, step, eps),
            (ops.convert_to_tensor(0, "int32"), x_adv, control, active, kappa, grad_evals),
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
