"""AdvProp: adversarial examples as a second domain with auxiliary batch norms."""

import keras
import tensorflow as tf
from keras import ops

from tfadv import backend
from tfadv.adv_model import AdvModel, per_example_ce
from tfadv.attacks import _ops
from tfadv.attacks.attack import AttackResult, model_logits
from tfadv.attacks.pgd import PGD
from tfadv.layers import dual_batch_normalization
from tfadv.loss_result import LossResult
from tfadv.utils import validation
from tfadv.utils.registry import Knob

COMBINE = ("mean", "sum")


@keras.saving.register_keras_serializable(package="tfadv")
class AdvProp(AdvModel):
    """AdvProp: train on clean and adversarial batches, each with its own batch norms.

    The classifier must contain `tfadv.layers.DualBatchNormalization` layers (build it with
    `dual_bn=True` from `tfadv.models`, or convert a Functional / Sequential model with
    `tfadv.layers.convert_to_dual_bn`). Each training step:

    1. crafts `x_adv` with the auxiliary batch norms in inference mode (their moving statistics),
       as the re-implementation does (`model.eval()` plus status `'adv'`);
    2. runs the clean batch through the main batch norms and `x_adv` through the auxiliary ones,
       both in training mode, in two separate calls (each batch normalised with its own
       statistics);
    3. minimises `0.5 * (CE(f(x), y) + CE(f_aux(x_adv), y))` (`combine="mean"`, the mean over the 2B
       outputs of the re-implementation) or the paper's sum (`combine="sum"`, twice the gradient).

    Every other weight is shared. Inference, evaluation, `predict` and export use the main batch
    norms (the classifier's default routing), so the saved classifier needs no auxiliary branch.

    With a targeted attack (`PGD(..., targeted=True)`), each example gets a random target class
    different from its label, as the re-implementation's default attacker (Feature Denoising's
    random-target PGD) does; an untargeted attack uses the true labels.

    Differences with METHODS.md 6.3 / the re-implementation (tingxueronghua/pytorch-classification-
    advprop): images are in [0, 1], so its `eps = 1` on the [-1, 1] scale (`1 * 2 / 255`) is
    `1 / 255` here; its random start is taken with probability about one half
    (`randn() > prob_start_from_clean`), here always; its `step_size = max(step_size, eps / steps)`
    rule is left to the attack's settings; its random target may equal the label (1 in 1000), not
    here; the paper's objective sums the two losses while the code averages them (`combine`).

    Threat model: the attack's; images in [0, 1], integer labels, a classifier returning logits.

    Metrics: `clean_loss` and `adv_loss` (the two cross-entropies), besides the base metrics
    (`clean_accuracy` uses the main batch norms, `adv_accuracy` the auxiliary ones in training
    mode).

    Args:
        classifier: a `keras.Model` with `tfadv.layers.DualBatchNormalization` layers, mapping
            images in [0, 1] to logits.
        attack: the attacker. Defaults to `tfadv.attacks.PGD(eps=1/255, step_size=1/255, steps=1)`
            (PGD-1 at epsilon 1 on the 0-255 scale: the ResNet-50 setting of the re-implementation
            and the paper's smallest attacker).
        combine: `"mean"` (`0.5 * (clean + adversarial)`) or `"sum"`. Defaults to `"mean"`.
        seed: optional int making the random targets of a targeted attack reproducible.
            Defaults to `None`.

    Keyword Args:
        eps_schedule: optional epsilon warm-up. Defaults to `None`.
        eval_attack: optional attack for validation `adv_accuracy` (against the main batch
            norms). Defaults to `None`.

    Example:

    ```python
    classifier = tfadv.models.resnet(20, dual_bn=True)
    # or: classifier = tfadv.layers.convert_to_dual_bn(tfadv.models.resnet(20))
    model = tfadv.methods.AdvProp(
        classifier, attack=tfadv.attacks.PGD(eps=2 / 255, step_size=1 / 255, steps=2)
    )
    model.compile(optimizer="adam")
    model.fit(x_train, y_train, epochs=10)
    model.classifier.save("advprop.keras")  # predicts with the main batch norms
    ```

    Reference:
        Xie, Tan, Gong, Wang, Yuille, Le, "Adversarial Examples Improve Image Recognition",
        CVPR 2020.
    """

    registry_name = "advprop"
    extra_metrics = ("clean_loss", "adv_loss")
    knobs = {"combine": Knob(str, help="mean | sum of the two losses", choices=COMBINE)}
    builder_options = {"dual_bn": True}

    @classmethod
    def knob_arguments(cls, budget, values):
        return {"attack": budget.pgd(), "seed": budget.seed, **values}

    def __init__(self, classifier, attack=None, *, combine="mean", seed=None, **kwargs):
        if attack is None:
            attack = PGD(eps=1 / 255, step_size=1 / 255, steps=1)
        if isinstance(classifier, keras.Model) and not dual_batch_normalization.dual_bn_layers(
            classifier
        ):
            raise ValueError(
                "AdvProp needs a classifier with tfadv.layers.DualBatchNormalization layers (build "
                "it with `dual_bn=True` or convert it with `tfadv.layers.convert_to_dual_bn`). "
                f"Received: classifier={classifier.name!r} without any"
            )
        self.combine = validation.check_choice("combine", combine, COMBINE)
        if seed is not None:
            seed = validation.check_number("seed", seed, minimum=0, integer=True)
        self.seed = seed
        super().__init__(classifier, attack, **kwargs)

    def _random_targets(self, x, y, num_classes):
        """A random class other than `y` per example: `(y + offset) mod num_classes` with the offset
        uniform in `[1, num_classes)`."""
        key = _ops.seed_key(self.seed, x)
        if backend.name() == "tensorflow":
            offset = tf.random.stateless_uniform(tf.shape(y), key, 1, num_classes, dtype=tf.int32)
        else:
            draw = _ops.uniform(ops.shape(y), key)
            offset = 1 + ops.minimum(
                ops.cast(ops.floor(draw * ops.cast(num_classes - 1, "float32")), "int32"),
                num_classes - 2,
            )
        return ops.mod(y + offset, num_classes)

    def generate_adversarial(self, x, y, eps):
        clean_logits = model_logits(self.classifier, x)  # main batch norms, inference mode
        labels = y
        if getattr(self.attack, "targeted", False):
            labels = self._random_targets(x, y, ops.shape(clean_logits)[-1])
        with dual_batch_normalization.use_auxiliary_bn(self.classifier):
            result = self.attack.run(self.classifier, x, labels, eps=eps)
        return AttackResult(result.x_adv, clean_logits, dict(result.info))

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        clean_logits = self.classifier(x, training=True)
        with dual_batch_normalization.use_auxiliary_bn(self.classifier):
            adv_logits = self.classifier(adv.x_adv, training=True)
        clean_ce = per_example_ce(clean_logits, y)
        adv_ce = per_example_ce(adv_logits, y)
        per_example = clean_ce + adv_ce
        if self.combine == "mean":
            per_example = 0.5 * per_example
        loss = self.reduce_loss(per_example, sample_weight)
        return LossResult(loss, adv_logits, extras={"clean_loss": clean_ce, "adv_loss": adv_ce})

    def get_config(self):
        config = super().get_config()
        config.update(combine=self.combine, seed=self.seed)
        return config
