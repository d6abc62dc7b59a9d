"""TRADES: clean cross-entropy plus a KL robustness regulariser."""

import keras
from keras import ops

from tfadv.adv_model import AdvModel, per_example_ce
from tfadv.attacks.attack import Attack
from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.loss_result import LossResult
from tfadv.utils import validation
from tfadv.utils.registry import Knob


def check_kl_attack(method, attack):
    """TRADES-style methods maximise the KL divergence: the attack must use `loss="kl"`."""
    if not isinstance(attack, Attack) or getattr(attack, "loss", None) != "kl":
        raise ValueError(
            f"{method} maximises KL(f(x) || f(x_adv)) in its inner problem; build the attack with "
            f"`loss='kl'`. Received: attack={attack!r}"
        )
    return attack


def trades_terms(classifier, x, x_adv, y):
    """Per-example `CE(f(x), y)` and `KL(softmax(f(x)) || softmax(f(x_adv)))`, training mode.

    Gradients flow through both forward passes (the clean distribution is not detached). The clean
    and adversarial batches go through the classifier in separate calls, so batch norm normalises
    each with its own statistics, as in the reference code. Returns `(natural, robust, adv_logits)`.
    """
    clean_logits = ops.cast(classifier(x, training=True), "float32")
    adv_logits = ops.cast(classifier(x_adv, training=True), "float32")
    natural = per_example_ce(clean_logits, y)
    log_p_clean = ops.log_softmax(clean_logits, axis=-1)
    robust = ops.sum(
        ops.exp(log_p_clean) * (log_p_clean - ops.log_softmax(adv_logits, axis=-1)), axis=-1
    )
    return natural, robust, adv_logits


@keras.saving.register_keras_serializable(package="tfadv")
class TRADES(AdvModel):
    """TRADES: trade clean accuracy for robustness with a KL regulariser.

    The loss is `CE(f(x), y) + beta * KL(softmax(f(x)) || softmax(f(x_adv)))`, both terms averaged
    over the batch, with gradients through `f(x)` and `f(x_adv)`. The adversarial example maximises
    the KL term: `x_adv` starts at `x + 0.001 * N(0, I)` and takes `steps` signed-gradient steps of
    the KL, computed in inference mode, projected onto the l-inf ball and [0, 1] after each step.
    The default attack, `tfadv.attacks.EarlyStoppedPGD` with `tau=steps`, `random_init="normal"`,
    `omega=0` and `loss="kl"`, is exactly that inner maximisation (it never stops early with
    `tau=steps`). With `beta=0` TRADES is plain training on clean data (tested).

    Differences with the reference code (`yaodongyu/TRADES`, `trades.py`), none of which changes the
    gradient of a model without dropout:

    - the normal start is clipped to [0, 1] before the first step (the reference clips only after
      it), as FAT's early-stopped PGD does;
    - `f(x)` is computed once in training mode and used by both terms; the reference runs the clean
      batch twice (two dropout masks, two batch-norm moving-average updates).

    Threat model: l-inf (or l2, with an l2 KL attack), images in [0, 1], integer labels, a
    classifier returning logits.

    Metrics: `natural_loss` (the clean cross-entropy) and `robust_loss` (the KL term before `beta`),
    besides the base metrics.

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: the inner maximiser; it must use `loss="kl"`. Defaults to
            `tfadv.attacks.EarlyStoppedPGD(eps=0.031, step_size=0.007, steps=10, tau=10,
            random_init="normal", omega=0.0, loss="kl")` (TRADES' CIFAR-10 setting; its MNIST script
            uses `eps=0.3, step_size=0.01, steps=40`).
        beta: float >= 0, weight of the KL term (`1 / lambda` in the paper). Defaults to `6.0`
            (TRADES' CIFAR-10 script; its MNIST script defaults to `1.0`).

    Keyword Args:
        eps_schedule: optional epsilon warm-up (`tfadv.schedules.LinearRamp`). Defaults to `None`.
        eval_attack: optional attack for validation `adv_accuracy`. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.TRADES(
        tfadv.models.small_cnn(),
        attack=tfadv.attacks.EarlyStoppedPGD(
            eps=0.3, step_size=0.01, steps=40, tau=40, random_init="normal", omega=0.0, loss="kl"
        ),
        beta=1.0,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    model.fit(x_train, y_train, epochs=10)
    ```

    Reference:
        Zhang, Yu, Jiao, Xing, El Ghaoui, Jordan, "Theoretically Principled Trade-off between
        Robustness and Accuracy", ICML 2019.
    """

    registry_name = "trades"
    extra_metrics = ("natural_loss", "robust_loss")
    knobs = {"beta": Knob(float, help="weight of the KL term (MNIST script: 1.0)", minimum=0.0)}

    @classmethod
    def knob_arguments(cls, budget, values):
        return {"attack": budget.early_stopped(random_init="normal", loss="kl"), **values}

    def __init__(self, classifier, attack=None, *, beta=6.0, **kwargs):
        if attack is None:
            attack = EarlyStoppedPGD(
                eps=0.031,
                step_size=0.007,
                steps=10,
                tau=10,
                random_init="normal",
                omega=0.0,
                loss="kl",
            )
        check_kl_attack(type(self).__name__, attack)
        self.beta = validation.check_number("beta", beta, minimum=0.0)
        super().__init__(classifier, attack, **kwargs)

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        natural, robust, adv_logits = trades_terms(self.classifier, x, adv.x_adv, y)
        loss = self.reduce_loss(natural + self.beta * robust, sample_weight)
        return LossResult(loss, adv_logits, extras={"natural_loss": natural, "robust_loss": robust})

    def get_config(self):
        config = super().get_config()
        config["beta"] = self.beta
        return config
