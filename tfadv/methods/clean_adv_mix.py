"""Clean/adversarial mixing in the forms the literature uses."""

import keras
from keras import ops

from tfadv import backend
from tfadv.adv_model import AdvModel, per_example_ce
from tfadv.attacks import _ops
from tfadv.attacks.attack import AttackResult
from tfadv.loss_result import LossResult
from tfadv.utils import validation
from tfadv.utils.registry import Knob

MODES = ("weighted", "batches", "examples")


@keras.saving.register_keras_serializable(package="tfadv")
class CleanAdvMix(AdvModel):
    """Adversarial training that keeps some clean data, in one of three forms.

    - `mode="weighted"`: every batch contributes both, `clean_weight * CE(f(x), y) + (1 - clean_weight) *
      CE(f(x_adv), y)`. Goodfellow et al.'s FGSM training is `clean_weight=0.5`, as is PNI's loss.
    - `mode="batches"`: a fraction `clean_fraction` of whole batches is left clean (drawn at random per
      batch, and the attack is skipped on them); the BIPARO report's combined recipe uses 95% adversarial +
      5% clean batches (`clean_fraction=0.05`).
    - `mode="examples"`: a fraction `clean_fraction` of each batch stays clean and the rest is attacked,
      in one batch (Kurakin et al.'s k-of-m mixing; Goodfellow's 50/50 is `clean_fraction=0.5`). Which
      examples stay clean is drawn at random each batch.

    Adversarial-only training is `tfadv.methods.PGDAT`; with `clean_weight=0` (weighted) or
    `clean_fraction=0` this method reduces to it.

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: the attack crafting the adversarial part. Defaults to `tfadv.attacks.PGD(eps=0.3,
            step_size=0.01, steps=40)`.
        mode: `"weighted"`, `"batches"` or `"examples"`. Defaults to `"weighted"`.
        clean_weight: float in [0, 1], weight of the clean loss in `"weighted"` mode. Defaults to `0.5`.
        clean_fraction: float in [0, 1], share of clean batches or examples. Defaults to `0.5` for
            `"examples"` and `0.05` for `"batches"` when not given.
        seed: optional int making the random draws reproducible. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.CleanAdvMix(
        classifier, mode="batches", clean_fraction=0.05,
        attack=tfadv.attacks.PGD(eps=8 / 255, step_size=2 / 255, steps=10),
    )
    ```

    Reference:
        Goodfellow, Shlens, Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015;
        Kurakin, Goodfellow, Bengio, "Adversarial Machine Learning at Scale", ICLR 2017;
        Xie and Yuille, "Intriguing Properties of Adversarial Training at Scale", ICLR 2020.
    """

    registry_name = "clean_adv_mix"
    knobs = {
        "mode": Knob(str, help="weighted | batches | examples", choices=MODES),
        "clean_weight": Knob(
            float, help="weight of the clean loss (weighted mode)", minimum=0.0, maximum=1.0
        ),
        "clean_fraction": Knob(
            float,
            help="share of clean batches/examples (unset: 0.05 / 0.5)",
            minimum=0.0,
            maximum=1.0,
        ),
    }

    @classmethod
    def knob_arguments(cls, budget, values):
        return {"attack": budget.pgd(), "seed": budget.seed, **values}

    def __init__(
        self,
        classifier,
        attack=None,
        *,
        mode="weighted",
        clean_weight=0.5,
        clean_fraction=None,
        seed=None,
        **kwargs,
    ):
        self.mode = validation.check_choice("mode", mode, MODES)
        self.clean_weight = validation.check_number(
            "clean_weight", clean_weight, minimum=0.0, maximum=1.0
        )
        if clean_fraction is None:
            clean_fraction = 0.05 if mode == "batches" else 0.5
        self.clean_fraction = validation.check_number(
            "clean_fraction", clean_fraction, minimum=0.0, maximum=1.0
        )
        self.seed = seed
        super().__init__(classifier, attack, **kwargs)

    def _uniform(self, shape, x, salt):
        return _ops.uniform(shape, _ops.seed_key(self.seed, x, salt))

    def generate_adversarial(self, x, y, eps):
        if self.mode == "weighted":
            return super().generate_adversarial(x, y, eps)
        batch = ops.shape(x)[:1]
        if self.mode == "examples":
            clean = self._uniform(batch, x, 1) < self.clean_fraction
            adv = super().generate_adversarial(x, y, eps)
            info = dict(adv.info)
            info["grad_evals"] = ops.where(clean, 0.0, info["grad_evals"])
            info["clean_mask"] = ops.cast(clean, "float32")
            return AttackResult(_ops.select(clean, x, adv.x_adv), adv.clean_logits, info)
        # "batches": skip the attack entirely on a clean batch.
        clean_batch = self._uniform((), x, 2) < self.clean_fraction

        def attacked():
            adv = self.attack.run(self.classifier, x, y, eps=eps)
            return adv.x_adv, adv.clean_logits, adv.info["grad_evals"]

        def clean():
            logits = ops.cast(self.classifier(x, training=False), "float32")
            return x, logits, ops.zeros(batch, "float32")

        x_used, clean_logits, grad_evals = backend.cond(clean_batch, clean, attacked)
        info = {
            "grad_evals": grad_evals,
            "clean_mask": ops.full(batch, ops.cast(clean_batch, "float32")),
        }
        return AttackResult(x_used, clean_logits, info)

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        if self.mode == "weighted":
            both = self.classifier(ops.concatenate([x, adv.x_adv], axis=0), training=True)
            clean_logits, adv_logits = ops.split(both, 2, axis=0)
            per_example = self.clean_weight * per_example_ce(clean_logits, y) + (
                1.0 - self.clean_weight
            ) * per_example_ce(adv_logits, y)
            return LossResult(self.reduce_loss(per_example, sample_weight), adv_logits)
        logits = self.classifier(adv.x_adv, training=True)
        loss = self.reduce_loss(per_example_ce(logits, y), sample_weight)
        return LossResult(loss, logits, adv_weight=1.0 - adv.info["clean_mask"])

    def get_config(self):
        config = super().get_config()
        config.update(
            mode=self.mode,
            clean_weight=self.clean_weight,
            clean_fraction=self.clean_fraction,
            seed=self.seed,
        )
        return config
