"""MART: misclassification-aware adversarial training."""

import keras
from keras import ops

from tfadv.adv_model import AdvModel, per_example_ce
from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.loss_result import LossResult
from tfadv.utils import validation
from tfadv.utils.registry import Knob


def mart_terms(classifier, x, x_adv, y):
    """Per-example MART terms, training mode, gradients through both forward passes.

    Returns `(bce, weighted_kl, adv_logits)` with, as coded in the reference (`mart.py`):

    - `bce = CE(f(x'), y) - log(1.0001 - max_{k != y} p_k(x') + 1e-12)`, the boosted cross-entropy;
    - `weighted_kl = KL(p(x) || p(x')) * (1.0000001 - p_y(x))`, with `log(p(x') + 1e-12)` inside the
      KL.
    """
    clean_logits = ops.cast(classifier(x, training=True), "float32")
    adv_logits = ops.cast(classifier(x_adv, training=True), "float32")
    adv_probs = ops.softmax(adv_logits, axis=-1)
    onehot = ops.one_hot(y, ops.shape(adv_logits)[-1], dtype="float32")
    # The most likely wrong class: the top class, or the runner-up when the top class is `y`.
    runner_up = ops.cast(ops.argmax(adv_probs - 2.0 * onehot, axis=-1), "int32")
    p_runner_up = ops.take_along_axis(adv_probs, runner_up[:, None], axis=-1)[:, 0]
    bce = per_example_ce(adv_logits, y) - ops.log(1.0001 - p_runner_up + 1e-12)
    log_clean = ops.log_softmax(clean_logits, axis=-1)
    clean_probs = ops.exp(log_clean)
    kl = ops.sum(clean_probs * (log_clean - ops.log(adv_probs + 1e-12)), axis=-1)
    true_probs = ops.sum(clean_probs * onehot, axis=-1)
    return bce, kl * (1.0000001 - true_probs), adv_logits


@keras.saving.register_keras_serializable(package="tfadv")
class MART(AdvModel):
    """MART: boost the loss of misclassified examples, and regularise the ones the model gets wrong.

    Per example, `BCE(p(x'), y) + beta * KL(p(x) || p(x')) * (1 - p_y(x))`, averaged over the batch,
    where `BCE(p(x'), y) = -log p_y(x') - log(1 - max_{k != y} p_k(x'))` is the boosted
    cross-entropy on the adversarial example (it also pushes down the most likely wrong class) and
    the KL term, weighted by how badly the clean example is classified, focuses the regulariser on
    misclassified examples. Gradients flow through `f(x)` and `f(x')`. The adversarial example
    maximises the cross-entropy: `x'` starts at `x + 0.001 * N(0, I)` and takes `steps` signed
    gradient steps in inference mode, projected onto the l-inf ball and [0, 1] after each step
    (`tfadv.attacks.EarlyStoppedPGD` with `tau=steps`, `random_init="normal"`, `omega=0`).

    The numerical guards of the reference code are kept: `log(1.0001 - p + 1e-12)` in the boosted
    term, `log(p(x') + 1e-12)` in the KL and `1.0000001 - p_y(x)` as its weight. With `beta=0` the
    loss is the boosted cross-entropy alone (tested); with `eps=0` the KL term vanishes and MART is
    the boosted cross-entropy on clean data.

    Metrics: `bce_loss` (the boosted cross-entropy) and `robust_loss` (the weighted KL before
    `beta`), besides the base metrics.

    MART's robust accuracy falls much further under AutoAttack than under PGD (RobustBench:
    56.29% against 65.04% reported, with extra data): evaluate it with
    `tfadv.evaluation.evaluate(..., protocol="standard")`.

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: the inner maximiser. Defaults to `tfadv.attacks.EarlyStoppedPGD(eps=0.031,
            step_size=0.007, steps=10, tau=10, random_init="normal", omega=0.0, loss="ce")` (MART's
            CIFAR-10 setting).
        beta: float >= 0, weight of the KL term. Defaults to `6.0` (MART's CIFAR-10 script).

    Keyword Args:
        eps_schedule: optional epsilon warm-up (`tfadv.schedules.LinearRamp`). Defaults to `None`.
        eval_attack: optional attack for validation `adv_accuracy`. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.MART(
        tfadv.models.small_cnn(),
        attack=tfadv.attacks.EarlyStoppedPGD(
            eps=0.3, step_size=0.01, steps=40, tau=40, random_init="normal", omega=0.0
        ),
        beta=6.0,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    model.fit(x_train, y_train, epochs=10)
    ```

    Reference:
        Wang, Zou, Yi, Bailey, Ma, Gu, "Improving Adversarial Robustness Requires Revisiting
        Misclassified Examples", ICLR 2020.
    """

    registry_name = "mart"
    extra_metrics = ("bce_loss", "robust_loss")
    knobs = {
        "beta": Knob(float, help="weight of the KL term (MART's CIFAR-10 script: 6.0)", minimum=0.0)
    }

    @classmethod
    def knob_arguments(cls, budget, values):
        return {"attack": budget.early_stopped(random_init="normal", loss="ce"), **values}

    def __init__(self, classifier, attack=None, *, beta=6.0, **kwargs):
        if attack is None:
            attack = EarlyStoppedPGD(
                eps=0.031, step_size=0.007, steps=10, tau=10, random_init="normal", omega=0.0
            )
        self.beta = validation.check_number("beta", beta, minimum=0.0)
        super().__init__(classifier, attack, **kwargs)

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        bce, robust, adv_logits = mart_terms(self.classifier, x, adv.x_adv, y)
        loss = self.reduce_loss(bce + self.beta * robust, sample_weight)
        return LossResult(loss, adv_logits, extras={"bce_loss": bce, "robust_loss": robust})

    def get_config(self):
        config = super().get_config()
        config["beta"] = self.beta
        return config
