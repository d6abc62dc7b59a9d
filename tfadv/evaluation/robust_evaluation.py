"""`RobustEvaluation`: robust validation accuracy in the epoch logs (History, TensorBoard)."""

import keras

from tfadv.evaluation import _utils, sanity_checks
from tfadv.evaluation.evaluate import evaluate
from tfadv.evaluation.protocols import get_protocol
from tfadv.utils import validation

#: How messages name the validation images and labels.
X_NAME, Y_NAME = "validation_data[0]", "validation_data[1]"


class RobustEvaluation(keras.callbacks.Callback):
    """Writes `val_robust_accuracy` (and `val_clean_accuracy`) into the epoch logs during `fit`.

    At the end of every `every`-th epoch the callback evaluates the model (the classifier of a
    `tfadv.AdvModel`) on `validation_data` under `protocol` with `tfadv.evaluation.evaluate`, and
    stores the per-example worst-case robust accuracy as `logs["val_robust_accuracy"]`, plus
    `logs["val_clean_accuracy"]` when no other metric wrote it. Every callback placed after it in
    `callbacks` (and `History`, which Keras adds last) sees the keys: `history.history`,
    `keras.callbacks.TensorBoard`, `keras.callbacks.ModelCheckpoint(monitor="val_robust_accuracy")`,
    `tfadv.evaluation.RobustEarlyStopping`, and Keras Tuner objectives
    (`keras_tuner.Objective("val_robust_accuracy", direction="max")`).

    The attacks are built once (randomness of the model is detected at the first evaluation), so
    they compile once for the whole training run. Sanity checks are not run; call `evaluate` for
    them.

    Args:
        validation_data: a tuple `(x, y)` of arrays, or a `tf.data.Dataset` of `(x, y)` batches:
            images in [0, 1] and integer class ids of shape `(N,)`, checked here (and against the
            model's input shape and classes when training begins) as by
            `tfadv.evaluation.evaluate`. It is held in memory; use `limit` to cap its size.
        eps: float >= 0, the radius. Defaults to `0.3`.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        protocol: a protocol name, a `Protocol` or a list of attacks. Defaults to `"quick"` (PGD-20
            and APGD-CE); Rice et al. validate with PGD-10, e.g.
            `[tfadv.attacks.PGD(eps=8/255, step_size=2/255, steps=10)]`.
        every: int >= 1, evaluate every `every` epochs (other epochs get no key). Defaults to `1`.
        limit: optional int, use only the first `limit` validation examples. Defaults to `None`.
        batch_size: int >= 1. Defaults to `256`.
        eot_iter: int >= 1, EOT samples of the attacks that average gradients (`"rand"`'s)
            against a randomised model (1 against a deterministic one). Defaults to `20`.
        seed: int, the attacks' seed. Defaults to `0`.
        verbose: `0` or `1` (print the robust accuracy each time). Defaults to `0`.

    Attributes:
        last_report: the `RobustnessReport` of the latest evaluation.

    Example:

    ```python
    x_val, y_val = tfadv.data.load_numpy("embedded_mnist", split="validation")
    callbacks = [
        tfadv.evaluation.RobustEvaluation((x_val, y_val), eps=0.3, limit=500),
        tfadv.evaluation.RobustEarlyStopping(patience=5),
    ]
    history = model.fit(x_train, y_train, epochs=30, callbacks=callbacks)
    history.history["val_robust_accuracy"]
    ```

    Reference:
        Rice, Wong, Kolter, "Overfitting in adversarially robust deep learning", ICML 2020.
    """

    def __init__(
        self,
        validation_data,
        *,
        eps=0.3,
        norm="linf",
        protocol="quick",
        every=1,
        limit=None,
        batch_size=256,
        eot_iter=20,
        seed=0,
        verbose=0,
    ):
        super().__init__()
        self.eps = validation.check_eps(eps)
        self.norm = validation.check_choice("norm", norm, ("linf", "l2"))
        self.protocol = get_protocol(protocol)
        self.every = validation.check_steps(every, "every")
        if limit is not None:
            limit = validation.check_steps(limit, "limit")
        self.limit = limit
        self.batch_size = validation.check_steps(batch_size, "batch_size")
        self.eot_iter = validation.check_steps(eot_iter, "eot_iter")
        self.seed = validation.check_number("seed", seed, minimum=0, integer=True)
        self.verbose = validation.check_choice("verbose", verbose, (0, 1))
        # By value now; against the model's input shape and classes when training begins.
        self.x, self.y = _utils.to_numpy(validation_data, limit, x_name=X_NAME, y_name=Y_NAME)
        self.last_report = None
        self._frozen = None
        self._randomized = None

    def _classifier(self):
        return _utils.unwrap_model(self.model)

    def on_train_begin(self, logs=None):
        validation.check_inputs(
            self.x, self.y, model=self._classifier(), x_name=X_NAME, y_name=Y_NAME
        )

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or (epoch + 1) % self.every:
            return
        classifier = self._classifier()
        if self._frozen is None:
            self._randomized = sanity_checks.detect_randomized(classifier, self.x)
            self._frozen = self.protocol.freeze(
                self.eps,
                self.norm,
                seed=self.seed,
                randomized=self._randomized,
                eot_iter=self.eot_iter if self._randomized else 1,  # EOT idle: one sample
            )
        report = evaluate(
            classifier,
            (self.x, self.y),
            eps=self.eps,
            norm=self.norm,
            protocol=self._frozen,
            batch_size=self.batch_size,
            checks=False,
            randomized=self._randomized,
            eot_iter=self.eot_iter,
            seed=self.seed,
        )
        self.last_report = report
        logs["val_robust_accuracy"] = report.robust_accuracy
        logs.setdefault("val_clean_accuracy", report.clean_accuracy)
        if self.verbose:
            print(
                f"Epoch {epoch + 1}: val_robust_accuracy={report.robust_accuracy:.4f} "
                f"(protocol '{report.protocol}', {self.norm} eps={self.eps:g})"
            )

    def get_config(self):
        return {
            "eps": self.eps,
            "norm": self.norm,
            "protocol": self.protocol.name,
            "every": self.every,
            "limit": self.limit,
            "batch_size": self.batch_size,
            "eot_iter": self.eot_iter,
            "seed": self.seed,
            "verbose": self.verbose,
        }
