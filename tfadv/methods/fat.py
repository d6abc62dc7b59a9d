"""FAT: friendly adversarial training with early-stopped PGD."""

import keras
from keras import ops

from tfadv.adv_model import AdvModel
from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.methods import _gair
from tfadv.schedules.piecewise_constant import PiecewiseConstant
from tfadv.utils.registry import Knob


@keras.saving.register_keras_serializable(package="tfadv")
class FAT(AdvModel):
    """Friendly adversarial training: train on the least adversarial misclassified examples.

    Each batch is attacked with early-stopped PGD-K-tau (`tfadv.attacks.EarlyStoppedPGD`): an
    example stops `tau` steps after it is first misclassified, so the model trains on adversarial
    data that is misclassified but close to the decision boundary, and examples that are already
    misclassified cost no gradient steps. The loss is the cross-entropy on those examples, in
    training mode (no clean term). `tau` follows an epoch schedule, growing as training proceeds;
    with `tau >= K` nothing stops early and FAT is PGD adversarial training (tested).

    The schedule overrides the attack's own `tau` during training (as `eps_schedule` overrides
    `eps`); it is evaluated per batch on the 0-based epoch progress, rounded to an integer, and
    clipped to `[0, K]` (`tau >= K` never stops, so `inf` is allowed).

    Metrics: `mean_kappa` (checks at which the iterate was still correctly classified) and the base
    `grad_evals`, the number of gradient steps per example (the paper's "BP count"). The masked
    implementation computes the whole batch's gradient while any example is active, so the wall
    time falls only when whole batches stop early.

    Threat model: l-inf ball and [0, 1]; images in [0, 1], integer labels, a classifier returning
    logits.

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: a `tfadv.attacks.EarlyStoppedPGD`. Defaults to
            `tfadv.attacks.EarlyStoppedPGD(eps=0.031, step_size=0.007, steps=10,
            random_init="uniform", omega=0.001)` (FAT.py, CIFAR-10).
        tau: a `tfadv.schedules.Schedule` giving tau per epoch, or an int >= 0 for a fixed
            tau. Defaults to `None`, FAT's dynamic tau: `tfadv.schedules.PiecewiseConstant(
            boundaries=[50, 90], values=[0, 1, 2])` (0 up to the paper's epoch 50, counted from 1;
            1 up to epoch 90; 2 after).

    Keyword Args:
        eps_schedule: optional epsilon warm-up (`tfadv.schedules.LinearRamp`). Defaults to `None`.
        eval_attack: optional attack for validation `adv_accuracy`. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.FAT(
        tfadv.models.small_cnn(),
        attack=tfadv.attacks.EarlyStoppedPGD(eps=0.3, step_size=0.03, steps=10),
        tau=tfadv.schedules.PiecewiseConstant(boundaries=[5, 10], values=[0, 1, 2]),
    )
    model.compile(optimizer="adam")
    history = model.fit(x_train, y_train, epochs=15)
    history.history["grad_evals"]  # gradient steps per example, well below 10
    ```

    Reference:
        Zhang, Xu, Han, Niu, Cui, Sugiyama, Kankanhalli, "Attacks Which Do Not Kill Training Make
        Adversarial Learning Stronger", ICML 2020.
    """

    registry_name = "fat"
    extra_metrics = ("mean_kappa",)
    knobs = {
        "tau": Knob(int, help="early-stopping budget (unset: FAT's epoch schedule)", minimum=0)
    }

    @classmethod
    def knob_arguments(cls, budget, values):
        return {"attack": budget.early_stopped(values["tau"]), "tau": values["tau"]}

    def __init__(self, classifier, attack=None, *, tau=None, **kwargs):
        if attack is None:
            attack = self._default_attack()
        _gair.check_early_stopped_attack(type(self).__name__, attack)
        if tau is None:
            tau = self._default_tau_schedule()
        self.tau = _gair.check_schedule_or_number(
            "tau", tau, integer=True, minimum=0, allow_inf=True
        )
        super().__init__(classifier, attack, **kwargs)

    @staticmethod
    def _default_attack():
        return EarlyStoppedPGD(
            eps=0.031, step_size=0.007, steps=10, random_init="uniform", omega=0.001
        )

    @staticmethod
    def _default_tau_schedule():
        return PiecewiseConstant(boundaries=[50, 90], values=[0, 1, 2])

    def current_tau(self):
        """The early-stopping budget now: an int32 scalar tensor in `[0, K]`."""
        tau = _gair.schedule_value(self.tau, self.epoch_progress)
        tau = ops.clip(ops.round(tau), 0.0, float(self.attack.steps))
        return ops.cast(tau, "int32")

    def generate_adversarial(self, x, y, eps):
        return self.attack.run(self.classifier, x, y, eps=eps, tau=self.current_tau())

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        result = super().compute_adv_loss(x, y, adv, sample_weight)
        result.extras["mean_kappa"] = adv.info["kappa"]
        return result

    def get_config(self):
        config = super().get_config()
        config["tau"] = _gair.serialize_schedule_or_number(self.tau)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for old, new in (("tau_schedule", "tau"), ("lambda_schedule", "lambda_")):
            if old in config:  # the argument names of tfadv 0.x's saved models
                config[new] = config.pop(old)
        for key in ("tau", "lambda_"):
            if key in config:
                config[key] = _gair.deserialize_schedule_or_number(config[key], custom_objects)
        return super().from_config(config, custom_objects)
