"""GAIR-FAT: geometry-aware reweighting of friendly adversarial training."""

import keras

from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.methods import _gair
from tfadv.methods.fat import FAT
from tfadv.schedules.piecewise_constant import PiecewiseConstant
from tfadv.utils.registry import Knob


@keras.saving.register_keras_serializable(package="tfadv")
class GAIRFAT(_gair.GAIRWeighting, FAT):
    """GAIR-FAT: FAT's early-stopped adversarial data with GAIRAT's per-example weights.

    The attack is FAT's early-stopped PGD-K-tau (`tfadv.attacks.EarlyStoppedPGD`), which also
    counts the geometry value `kappa` (checks at which the active iterate was still correctly
    classified). From `begin_epoch` on, the cross-entropy of each friendly adversarial example is
    weighted by `w_i = (1 + tanh(lambda + 5 (1 - 2 kappa_i / K))) / 2`, normalised to mean 1 over
    the batch, with `K` the attack's maximum number of steps. Labels, examples and `kappa` stay
    aligned (the reference code re-orders the early-stopped batch and, after `begin_epoch`, pairs
    it with the original label order, a bug not reproduced here).

    `tau` and `lambda` follow epoch schedules evaluated on the 0-based epoch progress (restored on
    resume). See `tfadv.methods.FAT` and `tfadv.methods.GAIRAT` for the two halves; GAIRAT's note on
    `K / 2` versus the code's `floor(K / 2)` applies here too.

    Metrics: `mean_kappa`, `mean_weight` (the mean unnormalised weight; 1 before `begin_epoch`)
    and the base `grad_evals`.

    Threat model: l-inf ball and [0, 1]; images in [0, 1], integer labels, a classifier returning
    logits.

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: a `tfadv.attacks.EarlyStoppedPGD`. Defaults to
            `tfadv.attacks.EarlyStoppedPGD(eps=0.031, step_size=0.007, steps=10,
            random_init="uniform", omega=0.0)` (GAIR_FAT.py, CIFAR-10).
        tau: a `tfadv.schedules.Schedule` giving tau per epoch, or an int >= 0. Defaults to
            `None`, GAIR-FAT's dynamic tau: `tfadv.schedules.PiecewiseConstant(boundaries=[40, 70],
            values=[0, 3, 6])` (the paper's epochs 1-40: 0, 41-70: 3, then 6).
        lambda_: GAIR's lambda, a float (`inf` allowed) or a `tfadv.schedules.Schedule`.
            Defaults to `0.0` (GAIR_FAT.py).
        begin_epoch: int >= 0, the 0-based epoch at which reweighting starts. Defaults to `59`
            (the code's `--begin_epoch 60` counts from 1).
        weight_function: `"tanh"`, `"sigmoid"` or `"discrete"`. Defaults to `"tanh"`.

    Keyword Args:
        eps_schedule: optional epsilon warm-up. Defaults to `None`.
        eval_attack: optional attack for validation `adv_accuracy`. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.GAIRFAT(
        tfadv.models.small_cnn(),
        attack=tfadv.attacks.EarlyStoppedPGD(eps=0.3, step_size=0.03, steps=10, omega=0.0),
        tau=tfadv.schedules.PiecewiseConstant(boundaries=[3, 6], values=[0, 3, 6]),
        begin_epoch=5,
    )
    model.compile(optimizer="adam")
    model.fit(x_train, y_train, epochs=10)
    ```

    Reference:
        Zhang, Zhu, Niu, Han, Sugiyama, Kankanhalli, "Geometry-aware Instance-reweighted
        Adversarial Training", ICLR 2021; Zhang et al., "Attacks Which Do Not Kill Training Make
        Adversarial Learning Stronger", ICML 2020.
    """

    registry_name = "gair_fat"
    extra_metrics = ("mean_kappa", "mean_weight")
    knobs = {
        "tau": Knob(int, help="early-stopping budget (unset: FAT's epoch schedule)", minimum=0),
        "lambda_": Knob(float, help="GAIR lambda", allow_inf=True),
        "begin_epoch": Knob(int, help="0-based epoch at which reweighting starts", minimum=0),
    }

    @classmethod
    def knob_arguments(cls, budget, values):
        return {
            "attack": budget.early_stopped(values["tau"]),
            "tau": values["tau"],
            "lambda_": values["lambda_"],
            "begin_epoch": values["begin_epoch"],
        }

    def __init__(
        self,
        classifier,
        attack=None,
        *,
        tau=None,
        lambda_=0.0,
        begin_epoch=59,
        weight_function="tanh",
        **kwargs,
    ):
        self._init_gair(lambda_, begin_epoch, weight_function)
        super().__init__(classifier, attack, tau=tau, **kwargs)

    @staticmethod
    def _default_attack():
        return EarlyStoppedPGD(
            eps=0.031, step_size=0.007, steps=10, random_init="uniform", omega=0.0
        )

    @staticmethod
    def _default_tau_schedule():
        return PiecewiseConstant(boundaries=[40, 70], values=[0, 3, 6])
