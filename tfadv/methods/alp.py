"""Adversarial logit pairing."""

import keras
from keras import ops

from tfadv.adv_model import AdvModel, per_example_ce
from tfadv.loss_result import LossResult
from tfadv.utils import validation
from tfadv.utils.registry import Knob


@keras.saving.register_keras_serializable(package="tfadv")
class ALP(AdvModel):
    """Adversarial logit pairing: cross-entropy plus a squared distance between clean and adversarial logits.

    `L = clean_weight * CE_ls(f(x), y) + (1 - clean_weight) * CE_ls(f(x_adv), y)
         + lambda_ * mean_{i, c} (f(x)_ic - f(x_adv)_ic)^2`,

    with label smoothing `label_smoothing` in both cross-entropies. Kannan et al.'s code feeds clean and
    adversarial images as one concatenated batch (a mean over 2B, i.e. `clean_weight=0.5`) with label
    smoothing 0.1; Mosbach et al.'s "100% AT + ALP" is `clean_weight=0`. With `lambda_=0`,
    `clean_weight=0` and `label_smoothing=0` this is `PGDAT` (tested). Weight decay is the optimizer's
    business (`weight_decay=` on a Keras optimizer).

    Caution: ALP's published ImageNet robustness was broken (Engstrom, Ilyas, Athalye 2018, "Evaluating
    and understanding the robustness of adversarial logit pairing": 0.1% accuracy at eps 16/255 against
    the released model, 98.6% targeted success), and Mosbach et al. (2018) found that logit pairing
    fools gradient attacks with few steps and restarts. Evaluate it with strong, many-restart and
    targeted attacks: `tfadv.evaluation.evaluate(..., protocol="plus")` (AutoAttack's plus version:
    5 restarts, APGD-T and FAB-T), and read the adaptive flags (`scaled_logits_beat_protocol`,
    `transfer_beats_protocol` with a `surrogate=`).

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: the attack crafting adversarial examples. Defaults to `tfadv.attacks.PGD(eps=0.3,
            step_size=0.01, steps=40)`.
        lambda_: float >= 0, weight of the logit-pairing term. Defaults to `0.5` (the README example of
            Kannan et al.'s code).
        clean_weight: float in [0, 1]. Defaults to `0.5` (one concatenated clean + adversarial batch).
        label_smoothing: float in [0, 1). Defaults to `0.1` (Kannan et al.'s hyperparameters).

    Example:

    ```python
    model = tfadv.methods.ALP(classifier, lambda_=0.5)
    model.compile(optimizer="adam")
    ```

    Reference:
        Kannan, Kurakin, Goodfellow, "Adversarial Logit Pairing", arXiv 1803.06373, 2018.
    """

    registry_name = "alp"
    extra_metrics = ("logit_pairing",)
    knobs = {
        "lambda_": Knob(float, help="logit-pairing weight", minimum=0.0),
        "clean_weight": Knob(
            float, help="weight of the clean cross-entropy", minimum=0.0, maximum=1.0
        ),
        "label_smoothing": Knob(
            float, help="label smoothing of both cross-entropies", minimum=0.0, maximum=0.999
        ),
    }

    def __init__(
        self,
        classifier,
        attack=None,
        *,
        lambda_=0.5,
        clean_weight=0.5,
        label_smoothing=0.1,
        **kwargs,
    ):
        self.lambda_ = validation.check_number("lambda_", lambda_, minimum=0.0)
        self.clean_weight = validation.check_number(
            "clean_weight", clean_weight, minimum=0.0, maximum=1.0
        )
        self.label_smoothing = validation.check_number(
            "label_smoothing", label_smoothing, minimum=0.0, maximum=0.999
        )
        super().__init__(classifier, attack, **kwargs)

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        both = self.classifier(ops.concatenate([x, adv.x_adv], axis=0), training=True)
        clean_logits, adv_logits = ops.split(ops.cast(both, "float32"), 2, axis=0)
        ce = self.clean_weight * per_example_ce(clean_logits, y, self.label_smoothing)
        ce += (1.0 - self.clean_weight) * per_example_ce(adv_logits, y, self.label_smoothing)
        pairing = ops.mean(ops.square(clean_logits - adv_logits), axis=-1)
        loss = self.reduce_loss(ce + self.lambda_ * pairing, sample_weight)
        return LossResult(loss, adv_logits, extras={"logit_pairing": pairing})

    def get_config(self):
        config = super().get_config()
        config.update(
            lambda_=self.lambda_,
            clean_weight=self.clean_weight,
            label_smoothing=self.label_smoothing,
        )
        return config
