"""Projected gradient descent with random start, restarts, targets and CE / CW / KL objectives."""

import keras
from keras import ops

from tfadv import backend
from tfadv.attacks import _ops
from tfadv.attacks.attack import Attack
from tfadv.attacks.losses import check_gradient_loss
from tfadv.utils import validation


@keras.saving.register_keras_serializable(package="tfadv")
class PGD(Attack):
    """Projected gradient descent (Madry et al.), l-inf or l2.

    Each of `steps` iterations takes a step of `step_size` along the threat model's ascent direction
    (sign for l-inf, normalised gradient for l2) and projects back onto the epsilon ball and [0, 1]. With
    `restarts > 1` the attack runs again from new random starts and keeps, per example, the worst case:
    a successful adversarial example beats an unsuccessful one, and among equals the higher objective wins.

    The objective is cross-entropy (`"ce"`), the Carlini-Wagner logit margin with confidence 50 (`"cw"`,
    Madry's challenge code), or TRADES' `KL(f(x) || f(x_adv))` (`"kl"`). A targeted attack takes target
    classes as labels and descends their cross-entropy / margin.

    Threat model: l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract: images in
    [0, 1], integer labels, a model returning logits.

    Args:
        eps: float, the radius. Defaults to `0.3` (MNIST l-inf).
        step_size: optional float; `None` means `2.5 * eps / steps` (Madry et al.'s robustness library and
            Tramer and Boneh; reaching the boundary from anywhere in the ball). Madry's MNIST setting is
            `eps=0.3, step_size=0.01, steps=40`. Defaults to `None`.
        steps: int >= 1, the number of iterations. Defaults to `40`.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        random_start: bool, start from a uniform point of the ball. Defaults to `True`.
        restarts: int >= 1, independent runs whose per-example worst case is kept. Defaults to `1`.
        loss: `"ce"`, `"cw"` or `"kl"`. Defaults to `"ce"`.
        targeted: bool, labels are targets. Defaults to `False`.
        seed: optional int for reproducible random starts. Defaults to `None`.

    Example:

    ```python
    attack = tfadv.attacks.PGD(eps=0.3, step_size=0.01, steps=40)
    x_adv = attack(model, x, y)
    ```

    Reference:
        Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to Adversarial
        Attacks", ICLR 2018.
    """

    registry_name = "pgd"
    backends = backend.BACKENDS
    small_budget = {"steps": 5, "restarts": 2}

    def __init__(
        self,
        *,
        eps=0.3,
        step_size=None,
        steps=40,
        norm="linf",
        random_start=True,
        restarts=1,
        loss="ce",
        targeted=False,
        seed=None,
    ):
        super().__init__(eps=eps, norm=norm, seed=seed)
        self.steps = validation.check_steps(steps)
        if step_size is not None:
            step_size = validation.check_number("step_size", step_size, minimum=0.0, strict=True)
        self.step_size = step_size
        self.random_start = bool(random_start)
        self.restarts = validation.check_steps(restarts, "restarts")
        self.loss = check_gradient_loss(loss, targeted)
        self.targeted = bool(targeted)

    def _step_length(self, eps, step_scale):
        if self.step_size is None:
            return _ops.default_step_size(eps, self.steps)
        return self.step_size * step_scale

    def _single_run(self, model, x, y, eps, clean_logits, step, salt):
        x_adv = (
            self.threat_model.random_start(x, eps, self.seed_key(x, salt))
            if self.random_start
            else x
        )

        def body(_, x_adv):
            _, _, grad = self.value_and_grad(model, x_adv, y, clean_logits)
            return self.project(self.threat_model.step(x_adv, grad, step), x, eps)

        return backend.fori_loop(0, self.steps, body, x_adv)

    def _score(self, model, x_adv, y, clean_logits):
        """Per-example (success, objective) of a finished run, for keeping the worst case."""
        logits = self.logits(model, x_adv)
        objective = self.objective(logits, y, clean_logits)
        pred = ops.cast(ops.argmax(logits, axis=-1), "int32")
        success = ops.equal(pred, y) if self.targeted else ops.not_equal(pred, y)
        return success, objective

    def perturb(self, model, x, y, eps, clean_logits, step_scale):
        step = self._step_length(eps, step_scale)
        best = self._single_run(model, x, y, eps, clean_logits, step, salt=0)
        if self.restarts > 1:
            best_success, best_objective = self._score(model, best, y, clean_logits)
            for restart in range(1, self.restarts):
                candidate = self._single_run(model, x, y, eps, clean_logits, step, salt=restart)
                success, objective = self._score(model, candidate, y, clean_logits)
                better = ops.logical_or(
                    ops.logical_and(success, ops.logical_not(best_success)),
                    ops.logical_and(ops.equal(success, best_success), objective > best_objective),
                )
                best = _ops.select(better, candidate, best)
                best_success = ops.logical_or(best_success, success)
                best_objective = ops.where(better, objective, best_objective)
        grad_evals = ops.full(ops.shape(x)[:1], float(self.steps * self.restarts))
        return best, {"grad_evals": grad_evals}

    def get_config(self):
        config = super().get_config()
        config.update(
            step_size=self.step_size,
            steps=self.steps,
            random_start=self.random_start,
            restarts=self.restarts,
            loss=self.loss,
            targeted=self.targeted,
        )
        return config
