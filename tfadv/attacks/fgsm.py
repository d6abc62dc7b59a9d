"""The fast gradient sign method, with Fast-AT's optional random start."""

import keras
from keras import ops

from tfadv import backend
from tfadv.attacks.attack import Attack
from tfadv.attacks.losses import check_gradient_loss
from tfadv.utils import validation


@keras.saving.register_keras_serializable(package="tfadv")
class FGSM(Attack):
    """One gradient step: the fast gradient (sign) method, optionally from a random start (RS-FGSM).

    Under `norm="linf"` the step is `step_size * sign(grad)` (Goodfellow et al.); under `norm="l2"` it is
    `step_size * grad / ||grad||_2` (the fast gradient method). With `random_start=True` the step is taken
    from a uniform random point of the ball, as in Wong et al.'s RS-FGSM (Fast-AT uses
    `step_size = 1.25 * eps`); the result is then projected back onto the ball and [0, 1].

    Threat model: l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract: images in
    [0, 1], integer labels, a model returning logits.

    Args:
        eps: float, the radius. Defaults to `0.3` (MNIST).
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        step_size: optional float, the step length; `None` means `eps`. Defaults to `None`.
        random_start: bool, start from a uniform point of the ball. Defaults to `False`.
        loss: `"ce"`, `"cw"` or `"kl"`, the objective ascended. Defaults to `"ce"`.
        targeted: bool, labels are targets and the step descends their loss. Defaults to `False`.
        seed: optional int for reproducible random starts. Defaults to `None`.

    Example:

    ```python
    attack = tfadv.attacks.FGSM(eps=0.3)
    x_adv = attack(model, x, y)
    ```

    Reference:
        Goodfellow, Shlens, Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015;
        Wong, Rice, Kolter, "Fast is better than free: Revisiting adversarial training", ICLR 2020.
    """

    registry_name = "fgsm"
    backends = backend.BACKENDS
    small_budget = {"random_start": True}

    def __init__(
        self,
        *,
        eps=0.3,
        norm="linf",
        step_size=None,
        random_start=False,
        loss="ce",
        targeted=False,
        seed=None,
    ):
        super().__init__(eps=eps, norm=norm, seed=seed)
        if step_size is not None:
            step_size = validation.check_number("step_size", step_size, minimum=0.0, strict=True)
        self.step_size = step_size
        self.random_start = bool(random_start)
        self.loss = check_gradient_loss(loss, targeted)
        self.targeted = bool(targeted)

    def perturb(self, model, x, y, eps, clean_logits, step_scale):
        step = (self.step_size * step_scale) if self.step_size is not None else eps
        x_start = (
            self.threat_model.random_start(x, eps, self.seed_key(x)) if self.random_start else x
        )
        _, _, grad = self.value_and_grad(model, x_start, y, clean_logits)
        x_adv = self.threat_model.step(x_start, grad, step)
        grad_evals = ops.ones(ops.shape(x)[:1], "float32")
        return x_adv, {"grad_evals": grad_evals}

    def get_config(self):
        config = super().get_config()
        config.update(
            step_size=self.step_size,
            random_start=self.random_start,
            loss=self.loss,
            targeted=self.targeted,
        )
        return config
