"""APGD-T: Auto-PGD on the targeted DLR loss over the top classes (AutoAttack's second attack)."""

import keras
from keras import ops

from tfadv.attacks import _ops
from tfadv.attacks.apgd import APGD
from tfadv.utils import validation


@keras.saving.register_keras_serializable(package="tfadv")
class APGDT(APGD):
    """APGD-T: targeted Auto-PGD on the DLR loss, trying the `n_target_classes` most likely classes.

    For each target `t` (the 2nd, 3rd, ... highest clean logit, up to `n_target_classes` of them)
    APGD (see `tfadv.attacks.APGD`: momentum, checkpoints, step-size halving) ascends the targeted
    difference-of-logits-ratio loss

    `DLR_t(z, y) = -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12)`

    (`pi` sorts the logits in decreasing order), which is invariant to the scale of the logits and
    so robust to saturated softmax heads. Labels are the true classes: the attack succeeds when the
    prediction leaves `y`, whichever class it lands on. As in AutoAttack, every target after the
    first (and every restart) runs only on the examples still correctly classified.

    Threat model: l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract: images
    in [0, 1], integer (true) labels, a model returning logits with at least two classes.

    Args:
        eps: float, the radius. Defaults to `0.3` (MNIST l-inf).
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        steps: int >= 1, iterations per target and restart. Defaults to `100` (AutoAttack).
        n_target_classes: int >= 1, how many of the most likely wrong classes to target (capped at
            the number of classes minus one). Defaults to `9` (AutoAttack).
        restarts: int >= 1, random restarts per target. Defaults to `1`.
        rho: float in (0, 1), the step-size halving threshold. Defaults to `0.75`.
        momentum: float in (0, 1], the weight of the new gradient step. Defaults to `0.75`.
        eot_iter: int >= 1, gradient samples averaged per step for randomised models. Defaults to
            `1`.
        checkpoint_rule: `"autoattack"` (the first step's loss is compared with 0, as in
            fra31/auto-attack's code) or `"paper"` (compared with the starting loss, Algorithm 1
            of the paper), how increases are counted for the first checkpoint (see
            `tfadv.attacks.APGD`). Defaults to `"autoattack"`.
        stop_when_fooled: `None`, `True` or `False`, whether an example stops iterating at its
            first misclassified iterate (see `tfadv.attacks.APGD`). `None` stops when
            `eot_iter == 1`. Defaults to `None`.
        seed: optional int for reproducible random starts. Defaults to `None`.

    Example:

    ```python
    attack = tfadv.attacks.APGDT(eps=0.3, steps=100, n_target_classes=9)
    x_adv = attack(model, x, y)
    ```

    Reference:
        Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks", ICML 2020.
    """

    registry_name = "apgdt"
    small_budget = {"steps": 5, "n_target_classes": 2}

    def __init__(
        self,
        *,
        eps=0.3,
        norm="linf",
        steps=100,
        n_target_classes=9,
        restarts=1,
        rho=0.75,
        momentum=0.75,
        eot_iter=1,
        checkpoint_rule="autoattack",
        stop_when_fooled=None,
        seed=None,
    ):
        super().__init__(
            eps=eps,
            norm=norm,
            steps=steps,
            restarts=restarts,
            loss="dlr",
            rho=rho,
            momentum=momentum,
            eot_iter=eot_iter,
            checkpoint_rule=checkpoint_rule,
            stop_when_fooled=stop_when_fooled,
            seed=seed,
        )
        self.n_target_classes = validation.check_number(
            "n_target_classes", n_target_classes, minimum=1, integer=True
        )

    def apgd_objective(self, logits, y, target):
        return _ops.targeted_dlr(logits, y, target)

    def runs(self, clean_logits):
        """`restarts` runs per target, the targets being the next most likely clean classes."""
        num_classes = ops.shape(clean_logits)[-1]
        n_targets = ops.maximum(ops.minimum(self.n_target_classes, num_classes - 1), 1)
        # Decreasing logits, ties in class order (an ascending sort of the negated logits).
        ranking = ops.cast(ops.argsort(-clean_logits, axis=-1), "int32")

        def target_of(run):
            column = ops.minimum(run // self.restarts + 1, num_classes - 1)
            return ops.take(ranking, column, axis=1)

        return n_targets * self.restarts, target_of

    def get_config(self):
        config = super().get_config()
        config.pop("loss")
        config["n_target_classes"] = self.n_target_classes
        return config
