"""`TransferAttack`: adversarial examples crafted on a surrogate model, replayed on the target."""

from tfadv import backend
from tfadv.attacks.attack import Attack
from tfadv.attacks.pgd import PGD
from tfadv.utils import validation


class TransferAttack(Attack):
    """A transfer attack: PGD on a surrogate model, whose adversarial examples are then scored on
    the target model.

    The target's gradients are never taken (`gradient_free = True`), so the attack works against a
    model whose gradients are masked or unavailable (an ONNX file run by ONNX Runtime). The
    surrogate is any differentiable model with the same classes, e.g. the Keras model an ONNX file
    was exported from, or a copy trained on the target's predictions
    (`tfadv.evaluation.adaptive_checks.train_surrogate`). PGD ascends the surrogate's
    cross-entropy for `steps` iterations (step `2.5 eps / steps`) and returns the last iterate,
    which lies deeper across the surrogate's boundary than the first adversarial one and so
    transfers better.

    Threat model: l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract: images
    in [0, 1], integer labels, a surrogate returning logits.

    Args:
        surrogate: a differentiable model (a `keras.Model`) mapping images to logits.
        eps: float, the radius. Defaults to `0.3`.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        steps: int >= 1, PGD iterations on the surrogate. Defaults to `50`.
        seed: optional int for a reproducible random start. Defaults to `None`.

    Example:

    ```python
    target = tfadv.evaluation.load_model("deploy/mnist.onnx")
    attack = tfadv.evaluation.TransferAttack(keras_model, eps=0.3)
    x_adv = attack(target, x, y)
    ```

    Reference:
        Papernot, McDaniel, Goodfellow, "Transferability in Machine Learning: from Phenomena to
        Black-Box Attacks using Adversarial Samples", arXiv:1605.07277, 2016; Athalye, Carlini,
        Wagner, "Obfuscated Gradients Give a False Sense of Security", ICML 2018.
    """

    gradient_free = True
    #: Written in `keras.ops` through PGD: every Keras backend.
    backends = backend.BACKENDS

    def __init__(self, surrogate, *, eps=0.3, norm="linf", steps=50, seed=None):
        super().__init__(eps=eps, norm=norm, seed=seed)
        if not callable(surrogate) or getattr(surrogate, "gradient_free", False):
            raise TypeError(
                "`surrogate` must be a differentiable model mapping images to logits (a "
                f"keras.Model). Received: surrogate={surrogate!r}"
            )
        self.surrogate = surrogate
        self.steps = validation.check_steps(steps)
        self.inner = PGD(eps=eps, norm=norm, steps=self.steps, loss="ce", seed=seed)

    def perturb(self, model, x, y, eps, clean_logits, step_scale):
        result = self.inner.run(self.surrogate, x, y, eps=eps)
        return result.x_adv, {"grad_evals": result.info["grad_evals"]}

    def get_config(self):
        """The attack's settings; `surrogate` is the surrogate model itself (not serialisable)."""
        config = super().get_config()
        config.update(surrogate=self.surrogate, steps=self.steps)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(config.pop("surrogate"), **config)
