"""The search objective: robust validation accuracy, or a stated mix of clean and robust."""

import keras
import keras_tuner

from tfadv.utils import validation

#: The objective written by `tfadv.evaluation.RobustEvaluation`.
ROBUST_ACCURACY = "val_robust_accuracy"
#: The objective written by `tfadv.tuning.WeightedAccuracy`.
WEIGHTED_ACCURACY = "val_weighted_accuracy"


def check_clean_weight(clean_weight, name="clean_weight"):
    """A weight of the clean accuracy in the objective: a number in [0, 1]."""
    return validation.check_number(name, clean_weight, minimum=0.0, maximum=1.0)


def get_objective(clean_weight=0.0):
    """The Keras Tuner objective of an adversarial-training search (always maximised).

    With `clean_weight=0` the objective is `val_robust_accuracy`, the per-example worst-case
    accuracy under the evaluation protocol (`tfadv.evaluation.RobustEvaluation`). With a weight
    `w > 0` it is `val_weighted_accuracy = w * clean + (1 - w) * robust`, computed by
    `tfadv.tuning.WeightedAccuracy` on the same validation examples.

    Args:
        clean_weight: float in [0, 1], the weight `w` of the clean accuracy. Defaults to `0.0`
            (robust accuracy only).

    Returns:
        A `keras_tuner.Objective` with `direction="max"`.

    Example:

    ```python
    objective = tfadv.tuning.get_objective(clean_weight=0.25)
    objective.name  # "val_weighted_accuracy"
    ```
    """
    clean_weight = check_clean_weight(clean_weight)
    name = WEIGHTED_ACCURACY if clean_weight > 0 else ROBUST_ACCURACY
    return keras_tuner.Objective(name, direction="max")


class WeightedAccuracy(keras.callbacks.Callback):
    """Writes `val_weighted_accuracy = w * clean + (1 - w) * robust` into the epoch logs.

    Place it after a `tfadv.evaluation.RobustEvaluation` callback: at every epoch where that
    callback wrote `val_robust_accuracy`, this one reads the clean accuracy of the same evaluation
    (`evaluation.last_report.clean_accuracy`, the same validation examples; without `evaluation`
    it reads `logs["val_clean_accuracy"]`) and writes the weighted sum, which a Keras Tuner
    objective, `ModelCheckpoint` or `History` then sees.

    Args:
        evaluation: optional `tfadv.evaluation.RobustEvaluation` whose report gives the clean
            accuracy. Defaults to `None` (use `logs["val_clean_accuracy"]`).
        clean_weight: float in [0, 1], the weight `w` of the clean accuracy. Defaults to `0.5`.

    Example:

    ```python
    evaluation = tfadv.evaluation.RobustEvaluation((x_val, y_val), eps=0.3)
    weighted = tfadv.tuning.WeightedAccuracy(evaluation, clean_weight=0.25)
    history = model.fit(x, y, epochs=3, callbacks=[evaluation, weighted])
    history.history["val_weighted_accuracy"]
    ```
    """

    def __init__(self, evaluation=None, *, clean_weight=0.5):
        super().__init__()
        self.evaluation = evaluation
        self.clean_weight = check_clean_weight(clean_weight)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or ROBUST_ACCURACY not in logs:
            return
        report = getattr(self.evaluation, "last_report", None)
        clean = report.clean_accuracy if report is not None else logs.get("val_clean_accuracy")
        if clean is None:
            raise ValueError(
                "WeightedAccuracy needs the clean validation accuracy: pass the RobustEvaluation "
                f"callback as `evaluation`. Received: logs keys {sorted(logs)}"
            )
        robust = float(logs[ROBUST_ACCURACY])
        logs[WEIGHTED_ACCURACY] = (
            self.clean_weight * float(clean) + (1 - self.clean_weight) * robust
        )

    def get_config(self):
        return {"clean_weight": self.clean_weight}
