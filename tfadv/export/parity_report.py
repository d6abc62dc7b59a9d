"""`ParityReport`: how closely an exported file matches the Keras model it came from."""

import dataclasses


@dataclasses.dataclass(kw_only=True, eq=False, repr=False)
class ParityReport:
    """The outcome of `tfadv.export.verify`: how closely an exported file matches its Keras model.

    Attributes:
        path: str, the exported file or folder that was loaded.
        format: `"saved_model"` or `"onnx"`.
        num_examples: int, the number of clean inputs compared.
        max_abs_logit_diff: float, the largest absolute difference between exported and Keras
            float32 logits, over the clean and (when an attack is given) adversarial inputs.
        tolerance: float, the bound `max_abs_logit_diff` is held to.
        argmax_agreement: float in [0, 1], the fraction of inputs on which both predict the same
            class.
        argmax_ties: int, disagreements on inputs whose two competing Keras logits are within
            `tolerance` of each other (a rounding tie, not a conversion error).
        clean_accuracy_keras, clean_accuracy_exported: floats, accuracies on `x` (`None` without
            labels).
        adv_accuracy_keras, adv_accuracy_exported: floats, accuracies on the adversarial examples
            crafted on the Keras model (`None` without an attack).
        attack: str or None, the attack that crafted them.
        passed: bool, `max_abs_logit_diff <= tolerance` and every argmax disagreement is a tie.

    Example:

    ```python
    report = tfadv.export.verify("serving/mnist/1", model, x_test, y_test)
    report.passed, report.max_abs_logit_diff  # (True, 0.0)
    print(report)  # the readable summary
    ```
    """

    path: str
    format: str
    num_examples: int
    max_abs_logit_diff: float
    tolerance: float
    argmax_agreement: float
    argmax_ties: int = 0
    clean_accuracy_keras: float | None = None
    clean_accuracy_exported: float | None = None
    adv_accuracy_keras: float | None = None
    adv_accuracy_exported: float | None = None
    attack: str | None = None
    passed: bool

    def to_dict(self):
        """The report as a JSON-serialisable dict."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    def get_config(self):
        """The report's fields (`to_dict`), from which `from_config` rebuilds it."""
        return self.to_dict()

    @classmethod
    def from_config(cls, config):
        """Rebuilds a report from `get_config()` (or a `to_dict()` read back from JSON)."""
        return cls(**config)

    def __repr__(self):
        return (
            f"ParityReport(format={self.format!r}, passed={self.passed}, "
            f"max_abs_logit_diff={self.max_abs_logit_diff:.3g}, "
            f"argmax_agreement={self.argmax_agreement:.4f})"
        )

    def _argmax_ok(self):
        compared = self.num_examples * (1 if self.attack is None else 2)
        return round((1.0 - self.argmax_agreement) * compared) <= self.argmax_ties

    def __str__(self):
        def mark(ok):
            return "ok" if ok else "FAILED"

        def pct(value):
            return "n/a" if value is None else f"{100.0 * value:.2f}%"

        inputs = f"{self.num_examples} clean"
        if self.attack is not None:
            inputs += f" + {self.num_examples} adversarial ({self.attack})"
        agreement = f"{100.0 * self.argmax_agreement:.2f}%"
        if self.argmax_ties:
            agreement += f" ({self.argmax_ties} rounding ties)"
        lines = [
            f"Export parity: {self.path} ({self.format}) vs Keras model",
            f"  inputs:               {inputs}",
            f"  max |logit diff|:     {self.max_abs_logit_diff:.3g} "
            f"(tolerance {self.tolerance:.3g})  "
            f"{mark(self.max_abs_logit_diff <= self.tolerance)}",
            f"  argmax agreement:     {agreement}  {mark(self._argmax_ok())}",
        ]
        if self.clean_accuracy_keras is not None:
            lines.append(
                f"  clean accuracy:       Keras {pct(self.clean_accuracy_keras)}, "
                f"exported {pct(self.clean_accuracy_exported)}"
            )
        if self.adv_accuracy_keras is not None:
            lines.append(
                f"  adversarial accuracy: Keras {pct(self.adv_accuracy_keras)}, "
                f"exported {pct(self.adv_accuracy_exported)}"
            )
        lines.append(f"  result:               {'PASSED' if self.passed else 'FAILED'}")
        return "\n".join(lines)
