"""Wong et al.'s fast adversarial training (RS-FGSM)."""

import keras

from tfadv.adv_model import AdvModel
from tfadv.attacks.fgsm import FGSM
from tfadv.utils import validation
from tfadv.utils.registry import Knob


@keras.saving.register_keras_serializable(package="tfadv")
class FastAT(AdvModel):
    """Fast adversarial training: one FGSM step of `1.25 * eps` from a uniform random start.

    The training examples are `clip(x + U(-eps, eps) + alpha * sign(grad))` projected back onto the
    epsilon ball and [0, 1], with `alpha = alpha_ratio * eps`; the loss is cross-entropy on them only.
    The paper pairs it with a cyclic learning rate and early stopping against catastrophic overfitting
    (a sudden collapse of PGD accuracy); pass a `keras.optimizers.schedules` learning rate and a
    `tfadv.evaluation.RobustEarlyStopping` callback for those.

    Difference from the reference code: the attack's forward pass runs in inference mode (the base class
    guarantee); Fast-AT's code computes it in train mode, which only matters for batch norm statistics.

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        eps: float, the radius. Defaults to `0.3` (MNIST; 8/255 on CIFAR-10).
        alpha_ratio: float > 0, the step as a multiple of eps. Defaults to `1.25`.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        seed: optional int for reproducible random starts. Defaults to `None`.

    Keyword Args:
        eps_schedule: optional epsilon warm-up. Defaults to `None`.
        eval_attack: optional attack for validation `adv_accuracy`. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.FastAT(tfadv.models.small_cnn(), eps=0.3)
    model.compile(optimizer="adam")
    model.fit(x_train, y_train, epochs=10)
    ```

    Reference:
        Wong, Rice, Kolter, "Fast is better than free: Revisiting adversarial training", ICLR 2020.
    """

    registry_name = "fast_at"
    knobs = {"alpha_ratio": Knob(float, help="FGSM step / eps", minimum=0.0)}

    @classmethod
    def knob_arguments(cls, budget, values):
        return {"eps": budget.eps, "norm": budget.norm, "seed": budget.seed, **values}

    def __init__(
        self,
        classifier,
        *,
        eps=0.3,
        alpha_ratio=1.25,
        norm="linf",
        seed=None,
        attack=None,
        **kwargs,
    ):
        self.alpha_ratio = validation.check_number(
            "alpha_ratio", alpha_ratio, minimum=0.0, strict=True
        )
        if attack is None:
            eps = validation.check_eps(eps)
            attack = FGSM(
                eps=eps,
                norm=norm,
                step_size=self.alpha_ratio * eps if eps > 0 else None,
                random_start=True,
                seed=seed,
            )
        super().__init__(classifier, attack, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["alpha_ratio"] = self.alpha_ratio
        return config
