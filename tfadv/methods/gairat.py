"""GAIRAT: geometry-aware instance-reweighted adversarial training."""

import keras

from tfadv.adv_model import AdvModel
from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.methods import _gair
from tfadv.utils.registry import Knob


@keras.saving.register_keras_serializable(package="tfadv")
class GAIRAT(_gair.GAIRWeighting, AdvModel):
    """Geometry-aware instance-reweighted adversarial training.

    PGD adversarial training whose per-example losses are weighted by how close each clean example
    is to the decision boundary. The geometry value `kappa` of an example is the number of PGD
    iterations at which its iterate was still correctly classified (checked before each of the `K`
    steps; `tfadv.attacks.EarlyStoppedPGD` measures it). Examples the attack breaks quickly (small
    `kappa`) get large weights:

    `w_i = (1 + tanh(lambda + 5 (1 - 2 kappa_i / K))) / 2`, normalised to mean 1 over the batch,
    `loss = mean_i(w_i * CE(f(x_adv_i), y_i))`.

    Reweighting starts at `begin_epoch` (before it every weight is 1 and GAIRAT is PGD-AT; tested);
    `lambda` follows a schedule (`lambda = inf` gives weight 1 to every example). Both are
    evaluated on the 0-based epoch progress, which `fit` restores on resume.

    The attack must run all `K` steps (`tau >= steps`): GAIRAT's attack never stops early (use
    `tfadv.methods.GAIRFAT` for that).

    Differences with METHODS.md and the reference code (`GAIR.py`): the code divides by
    `floor(K / 2)`, the issue and METHODS.md by `K / 2`; they agree for even `K` (the default 10)
    and this class uses `K / 2`, which is also defined for `K = 1`. The weights are computed in log
    space (`sigmoid(2 z)` equals `(1 + tanh(z)) / 2`), so very negative lambdas do not make the
    normalisation divide by zero.

    Known failure: GAIRAT's PGD numbers overstate its robustness. Hitaj, Pagnotta, Masi and Mancini
    (2021) show that the reweighting inflates the logits, so the softmax saturates and
    cross-entropy PGD sees a flat loss; PGD on scaled logits breaks it, and its authors agree it
    "cannot perform well on other attacks" than PGD. Evaluate it with
    `tfadv.evaluation.evaluate(..., protocol="standard")` (AutoAttack, whose DLR and FAB-T
    attacks do not depend on the logits' scale) and read its `scaled_logits_beat_protocol` flag.

    Metrics: `mean_kappa` and `mean_weight`, the batch mean of the unnormalised weights `w_i`
    before normalisation (the normalised ones average 1 by construction; it is 1 before
    `begin_epoch`), besides the base metrics.

    Threat model: l-inf ball and [0, 1]; images in [0, 1], integer labels, a classifier returning
    logits.

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: a `tfadv.attacks.EarlyStoppedPGD` with `tau >= steps`. Defaults to
            `tfadv.attacks.EarlyStoppedPGD(eps=0.031, step_size=0.007, steps=10, tau=10,
            random_init="uniform", omega=0.0)` (GAIRAT.py's GA-PGD, CIFAR-10).
        lambda_: GAIR's lambda, a float (`inf` allowed) or a `tfadv.schedules.Schedule`
            (e.g. `PiecewiseConstant` with `inf` values for a later start). Defaults to `-1.0`
            (GAIRAT.py, "fixed").
        begin_epoch: int >= 0, the 0-based epoch at which reweighting starts. Defaults to `59` (the
            code's `--begin_epoch 60` counts epochs from 1).
        weight_function: `"tanh"`, `"sigmoid"` (`sigmoid(lambda + 5 (1 - 2 kappa / K))`) or
            `"discrete"` (`(K + 1 - kappa) / (K + 1)`). Defaults to `"tanh"`.

    Keyword Args:
        eps_schedule: optional epsilon warm-up. Defaults to `None`.
        eval_attack: optional attack for validation `adv_accuracy`. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.GAIRAT(
        tfadv.models.small_cnn(),
        attack=tfadv.attacks.EarlyStoppedPGD(
            eps=0.3, step_size=0.03, steps=10, tau=10, omega=0.0
        ),
        lambda_=-1.0,
        begin_epoch=5,
    )
    model.compile(optimizer="adam")
    model.fit(x_train, y_train, epochs=10)
    ```

    Reference:
        Zhang, Zhu, Niu, Han, Sugiyama, Kankanhalli, "Geometry-aware Instance-reweighted
        Adversarial Training", ICLR 2021.
    """

    registry_name = "gairat"
    extra_metrics = ("mean_kappa", "mean_weight")
    knobs = {
        "lambda_": Knob(float, help="GAIR lambda", allow_inf=True),
        "begin_epoch": Knob(int, help="0-based epoch at which reweighting starts", minimum=0),
    }

    @classmethod
    def knob_arguments(cls, budget, values):
        return {
            "attack": budget.early_stopped(),
            "lambda_": values["lambda_"],
            "begin_epoch": values["begin_epoch"],
        }

    def __init__(
        self,
        classifier,
        attack=None,
        *,
        lambda_=-1.0,
        begin_epoch=59,
        weight_function="tanh",
        **kwargs,
    ):
        if attack is None:
            attack = EarlyStoppedPGD(
                eps=0.031, step_size=0.007, steps=10, tau=10, random_init="uniform", omega=0.0
            )
        _gair.check_early_stopped_attack(type(self).__name__, attack)
        if attack.tau < attack.steps:
            raise ValueError(
                "GAIRAT's attack runs all its steps: build the EarlyStoppedPGD with tau >= steps "
                "(or use tfadv.methods.GAIRFAT for early stopping). "
                f"Received: attack.tau={attack.tau}, attack.steps={attack.steps}"
            )
        self._init_gair(lambda_, begin_epoch, weight_function)
        super().__init__(classifier, attack, **kwargs)
