"""FAT for TRADES: the TRADES loss on friendly (early-stopped) adversarial data."""

import keras

from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.loss_result import LossResult
from tfadv.methods.fat import FAT
from tfadv.methods.trades import check_kl_attack, trades_terms
from tfadv.schedules.piecewise_constant import PiecewiseConstant
from tfadv.utils import validation
from tfadv.utils.registry import Knob


@keras.saving.register_keras_serializable(package="tfadv")
class FATTRADES(FAT):
    """FAT for TRADES: the TRADES loss, with the KL maximised by early-stopped PGD.

    The inner maximisation is FAT's early-stopped PGD-K-tau on TRADES' KL objective, started at
    `x + 0.001 * N(0, I)` (clipped to [0, 1]) with no per-step noise; each example stops `tau` steps
    after it is first misclassified, with `tau` following an epoch schedule. The loss is TRADES':
    `CE(f(x), y) + beta * KL(softmax(f(x)) || softmax(f(x_adv)))`, averaged over the batch, with
    gradients through both terms; each early-stopped `x_adv` is paired with its own clean `x`
    (the reference code re-orders the batch; here it stays aligned). With `tau >= K` this is TRADES.

    Metrics: `mean_kappa`, `natural_loss`, `robust_loss` and the base `grad_evals`.

    Threat model: l-inf ball and [0, 1]; images in [0, 1], integer labels, a classifier returning
    logits.

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: a `tfadv.attacks.EarlyStoppedPGD` with `loss="kl"`. Defaults to
            `tfadv.attacks.EarlyStoppedPGD(eps=0.031, step_size=0.007, steps=10,
            random_init="normal", omega=0.0, loss="kl")` (FAT_for_TRADES.py, CIFAR-10).
        beta: float >= 0, weight of the KL term. Defaults to `6.0`.
        tau: a `tfadv.schedules.Schedule` giving tau per epoch, or an int >= 0. Defaults to
            `None`, FAT-for-TRADES' dynamic tau: `tfadv.schedules.PiecewiseConstant(
            boundaries=[30, 50, 70], values=[0, 1, 2, 3])` (the paper's epochs 1-30: 0, 31-50: 1,
            51-70: 2, then 3).

    Keyword Args:
        eps_schedule: optional epsilon warm-up. Defaults to `None`.
        eval_attack: optional attack for validation `adv_accuracy`. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.FATTRADES(
        tfadv.models.small_cnn(),
        attack=tfadv.attacks.EarlyStoppedPGD(
            eps=0.3, step_size=0.03, steps=10, random_init="normal", omega=0.0, loss="kl"
        ),
        beta=6.0,
        tau=tfadv.schedules.PiecewiseConstant(boundaries=[3, 6], values=[0, 1, 2]),
    )
    model.compile(optimizer="adam")
    model.fit(x_train, y_train, epochs=10)
    ```

    Reference:
        Zhang, Xu, Han, Niu, Cui, Sugiyama, Kankanhalli, "Attacks Which Do Not Kill Training Make
        Adversarial Learning Stronger", ICML 2020; Zhang et al., "Theoretically Principled Trade-off
        between Robustness and Accuracy", ICML 2019.
    """

    registry_name = "fat_trades"
    extra_metrics = ("mean_kappa", "natural_loss", "robust_loss")
    knobs = {
        "beta": Knob(float, help="weight of the KL term (TRADES' MNIST script: 1.0)", minimum=0.0),
        "tau": Knob(int, help="early-stopping budget (unset: FAT's epoch schedule)", minimum=0),
    }

    @classmethod
    def knob_arguments(cls, budget, values):
        attack = budget.early_stopped(values["tau"], random_init="normal", loss="kl")
        return {"attack": attack, "beta": values["beta"], "tau": values["tau"]}

    def __init__(self, classifier, attack=None, *, beta=6.0, tau=None, **kwargs):
        if attack is None:
            attack = self._default_attack()
        check_kl_attack(type(self).__name__, attack)
        self.beta = validation.check_number("beta", beta, minimum=0.0)
        super().__init__(classifier, attack, tau=tau, **kwargs)

    @staticmethod
    def _default_attack():
        return EarlyStoppedPGD(
            eps=0.031, step_size=0.007, steps=10, random_init="normal", omega=0.0, loss="kl"
        )

    @staticmethod
    def _default_tau_schedule():
        return PiecewiseConstant(boundaries=[30, 50, 70], values=[0, 1, 2, 3])

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        natural, robust, adv_logits = trades_terms(self.classifier, x, adv.x_adv, y)
        loss = self.reduce_loss(natural + self.beta * robust, sample_weight)
        extras = {"mean_kappa": adv.info["kappa"], "natural_loss": natural, "robust_loss": robust}
        return LossResult(loss, adv_logits, extras=extras)

    def get_config(self):
        config = super().get_config()
        config["beta"] = self.beta
        return config
