"""`LossResult`: what a method's loss hook returns to `AdvModel.train_step`."""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass
class LossResult:
    """The typed result of `AdvModel.compute_adv_loss`.

    `AdvModel.train_step` differentiates `loss`, updates `adv_accuracy` from `adv_logits` (weighted by
    `adv_weight` when given, e.g. to leave clean examples out of it) and one `keras.metrics.Mean`
    tracker per entry of `extras` (each name must be in the method's `extra_metrics`).

    Args:
        loss: scalar float32 tensor, already reduced over the batch (`AdvModel.reduce_loss`).
        adv_logits: the logits the adversarial accuracy is measured on, `[batch, classes]`.
        adv_weight: optional per-example weights (or a 0/1 mask) for `adv_accuracy`. Defaults to
            `None`.
        extras: dict mapping metric names to scalar or per-example tensors, averaged into the
            method's extra metrics. Defaults to `{}`.

    Example:

    ```python
    class MyMethod(tfadv.AdvModel):
        extra_metrics = ("clean_loss",)

        def compute_adv_loss(self, x, y, adv, sample_weight=None):
            logits = self.classifier(adv.x_adv, training=True)
            clean = tfadv.adv_model.per_example_ce(self.classifier(x, training=True), y)
            loss = self.reduce_loss(
                tfadv.adv_model.per_example_ce(logits, y) + clean, sample_weight
            )
            return tfadv.LossResult(loss, logits, extras={"clean_loss": clean})
    ```
    """

    loss: tf.Tensor
    adv_logits: tf.Tensor
    adv_weight: tf.Tensor | None = None
    extras: dict = dataclasses.field(default_factory=dict)

    def __iter__(self):  # `loss, outputs = model.compute_adv_loss(...)` keeps reading naturally
        return iter((self.loss, self.outputs))

    @property
    def outputs(self):
        """`adv_logits`, `adv_weight` (when set) and the extras, as one dict."""
        outputs = {"adv_logits": self.adv_logits, **self.extras}
        if self.adv_weight is not None:
            outputs["adv_weight"] = self.adv_weight
        return outputs
