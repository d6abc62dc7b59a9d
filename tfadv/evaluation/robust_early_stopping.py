"""`RobustEarlyStopping`: stop on robust validation accuracy, keep the best weights (Rice)."""

import warnings

import keras

from tfadv.utils import validation


class RobustEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping on robust validation accuracy, restoring the most robust weights.

    Adversarial training overfits: robust test accuracy peaks (typically one epoch after the first
    learning-rate decay) and then falls while training robust accuracy keeps rising (Rice et al.).
    The remedy is to select the epoch with the best robust accuracy on a held-out split. This
    callback monitors `val_robust_accuracy` (written by `tfadv.evaluation.RobustEvaluation`, which
    must come before it in `callbacks`), stops after `patience` epochs without improvement, and, at
    the end of training (stopped early or not), restores the weights of the best epoch.

    Args:
        monitor: str, the log key to maximise. Defaults to `"val_robust_accuracy"`.
        patience: int >= 0, epochs without improvement before stopping. Defaults to `10`.
        min_delta: float >= 0, the smallest rise that counts as an improvement. Defaults to `0.0`.
        restore_best_weights: bool, restore the best epoch's weights at the end. Defaults to `True`.
        start_from_epoch: int >= 0, epochs to wait before monitoring (e.g. an epsilon warm-up).
            Defaults to `0`.
        baseline: optional float, an accuracy the model must beat. Defaults to `None`.
        verbose: `0` or `1`. Defaults to `0`.

    Attributes:
        best: the best monitored value; `best_epoch`: its epoch (0-based); `stopped_epoch`.

    Example:

    ```python
    callbacks = [
        tfadv.evaluation.RobustEvaluation((x_val, y_val), eps=0.3),
        tfadv.evaluation.RobustEarlyStopping(patience=5),
    ]
    model.fit(x_train, y_train, epochs=50, callbacks=callbacks)
    ```

    Reference:
        Rice, Wong, Kolter, "Overfitting in adversarially robust deep learning", ICML 2020.
    """

    def __init__(
        self,
        monitor="val_robust_accuracy",
        *,
        patience=10,
        min_delta=0.0,
        restore_best_weights=True,
        start_from_epoch=0,
        baseline=None,
        verbose=0,
    ):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(
                f"`monitor` must be a non-empty log key. Received: monitor={monitor!r}"
            )
        patience = validation.check_number("patience", patience, minimum=0, integer=True)
        min_delta = validation.check_number("min_delta", min_delta, minimum=0.0)
        start_from_epoch = validation.check_number(
            "start_from_epoch", start_from_epoch, minimum=0, integer=True
        )
        if baseline is not None:
            baseline = validation.check_number("baseline", baseline)
        validation.check_choice("verbose", verbose, (0, 1))
        super().__init__(
            monitor=monitor,
            min_delta=min_delta,
            patience=patience,
            verbose=verbose,
            mode="max",
            baseline=baseline,
            restore_best_weights=bool(restore_best_weights),
            start_from_epoch=start_from_epoch,
        )
        self._warned = False

    def get_monitor_value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None and not self._warned:
            self._warned = True
            warnings.warn(
                f"RobustEarlyStopping monitors `{self.monitor}`, which is not in the epoch logs "
                "(available: " + ", ".join(sorted(logs or {})) + "). Put a "
                "tfadv.evaluation.RobustEvaluation before it in `callbacks`.",
                stacklevel=2,
            )
        return value

    def get_config(self):
        return {
            "monitor": self.monitor,
            "patience": self.patience,
            "min_delta": abs(self.min_delta),
            "restore_best_weights": self.restore_best_weights,
            "start_from_epoch": self.start_from_epoch,
            "baseline": self.baseline,
            "verbose": self.verbose,
        }
