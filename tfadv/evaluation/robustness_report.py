"""`RobustnessReport`: a robust accuracy with the protocol, budgets and checks behind it."""

import dataclasses

import numpy as np

from tfadv._version import __version__
from tfadv.evaluation.sanity_checks import SanityFlag
from tfadv.utils.json_io import JsonMixin


@dataclasses.dataclass(frozen=True)
class SmoothedAccuracy:
    """The accuracies of the majority vote of several forward passes of a randomised model.

    Reported on its own line, never as the headline: a deployed randomised model answers with one
    draw, and AutoAttack scores one draw.

    Attributes:
        draws: int, forward passes per vote.
        clean_accuracy: float, the vote's accuracy on the clean examples.
        robust_accuracy: float, the share of examples whose vote is right on the clean example and
            on the adversarial example of every attack that ran on it (each attack runs on the
            examples the vote still gets right, as the protocol's cascade does).
    """

    draws: int
    clean_accuracy: float
    robust_accuracy: float

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config):
        return cls(int(config["draws"]), float(config["clean_accuracy"]),
                   float(config["robust_accuracy"]))  # fmt: skip

    def __str__(self):
        return (
            f"smoothed prediction, {self.draws} draws: clean {self.clean_accuracy:.2%}, "
            f"robust {self.robust_accuracy:.2%} (majority vote; not the headline)"
        )


class RobustnessReport(JsonMixin):
    """The result of `tfadv.evaluation.evaluate`: robust accuracy and what is needed to trust it.

    A report names the protocol (and its version and variant) that produced the number, the threat
    model (`norm`, `eps`), every attack with its budget, its accuracy and its run time, the clean
    accuracy, the per-example worst case over all attacks (`robust_accuracy`: an example counts as
    robust only if every attack failed on it), the number of examples, and the sanity flags. It
    prints as a table and converts to a dict and to JSON (and back).

    Attack accuracies are `"cumulative"` for cascaded protocols (AutoAttack: the accuracy after that
    attack and all earlier ones) and `"individual"` otherwise (that attack alone). A randomised
    model's accuracies count one forward pass per example, as AutoAttack counts them; the majority
    vote of several passes, when asked for, is the separate `smoothed` line.

    Args:
        protocol: str, the protocol name (`"quick"`, `"standard"`, `"custom"`).
        protocol_version: str or `None`, the protocol's version.
        variant: str, `"default"`, or `"black-box"` when a gradient-free model (an ONNX file)
            was attacked by the protocol's black-box attacks only.
        eps: float, the radius.
        norm: str, `"linf"` or `"l2"`.
        attacks: list of dicts with keys `name`, `class`, `budget`, `config`, `accuracy`,
            `seconds`, `examples_attacked`.
        accuracy_kind: `"cumulative"` or `"individual"`.
        robust_accuracy: float, the per-example worst case over the attacks.
        clean_accuracy: float.
        n_examples: int.
        flags: list of `tfadv.evaluation.SanityFlag` (or their dicts).
        randomized: bool, whether the model was treated as randomised.
        eot_iter: int, the most gradient samples per step (EOT) any attack took (1: none).
        smoothed: optional `SmoothedAccuracy` (or its dict), the majority vote's accuracies.
            Defaults to `None` (not asked for).
        notes: list of str, lines printed under the headline: what the evaluation decided for
            this model (EOT idle on a deterministic model, the protocol to use on a randomised
            one). Defaults to `()`.
        seconds: float, the wall time of the whole evaluation.
        tfadv_version: str, the tfadv version that produced the report. Defaults to the installed
            one.
        robust_mask: optional boolean array, per example, robust under every attack (not
            serialised; derived from `per_example` when that is given).
        per_example: optional dict of per-example lists, in data order: `label`, `clean_correct`,
            `broken_by` (the first attack whose adversarial example was misclassified, or `None`)
            and `perturbation_norm` (the norm of that perturbation, or `None`). Defaults to
            `None`.

    Example:

    ```python
    report = tfadv.evaluation.evaluate(model, (x_test, y_test), eps=0.3, protocol="standard")
    print(report)
    report.to_json("report.json")
    same = tfadv.evaluation.RobustnessReport.from_json("report.json")
    report.summary  # {"clean_acc": 97.1, "autoattack_acc": 89.2, "eps": 0.3, ...}
    ```
    """

    def __init__(
        self,
        *,
        protocol,
        protocol_version,
        variant,
        eps,
        norm,
        attacks,
        accuracy_kind,
        robust_accuracy,
        clean_accuracy,
        n_examples,
        flags=(),
        randomized=False,
        eot_iter=1,
        smoothed=None,
        notes=(),
        seconds=0.0,
        tfadv_version=None,
        robust_mask=None,
        per_example=None,
    ):
        if tfadv_version is None:
            tfadv_version = __version__
        self.protocol = protocol
        self.protocol_version = protocol_version
        self.variant = variant
        self.eps = float(eps)
        self.norm = norm
        self.attacks = [dict(a) for a in attacks]
        self.accuracy_kind = accuracy_kind
        self.robust_accuracy = float(robust_accuracy)
        self.clean_accuracy = float(clean_accuracy)
        self.n_examples = int(n_examples)
        self.flags = [f if isinstance(f, SanityFlag) else SanityFlag.from_dict(f) for f in flags]
        self.randomized = bool(randomized)
        self.eot_iter = int(eot_iter)
        if smoothed is not None and not isinstance(smoothed, SmoothedAccuracy):
            smoothed = SmoothedAccuracy.from_dict(smoothed)
        self.smoothed = smoothed
        self.notes = [str(note) for note in notes]
        self.seconds = float(seconds)
        self.tfadv_version = tfadv_version
        self.per_example = (
            None if per_example is None else {k: list(v) for k, v in per_example.items()}
        )
        if robust_mask is None and per_example is not None:
            robust_mask = [
                correct and broken is None
                for correct, broken in zip(
                    per_example["clean_correct"], per_example["broken_by"], strict=True
                )
            ]
        self.robust_mask = None if robust_mask is None else np.asarray(robust_mask, bool)

    # ------------------------------------------------------------------------------------ views
    @property
    def per_attack_accuracy(self):
        """`{attack name: accuracy}` in protocol order (cumulative or individual, see
        `accuracy_kind`)."""
        return {a["name"]: a["accuracy"] for a in self.attacks}

    @property
    def budgets(self):
        """`{attack name: budget}`, e.g. `{"APGD-CE": "100 steps, 1 restart, loss ce"}`."""
        return {a["name"]: a["budget"] for a in self.attacks}

    @property
    def flagged(self):
        """Names of the raised sanity flags."""
        return [f.name for f in self.flags if f.raised]

    @property
    def summary(self):
        """A RobustBench-style entry: accuracies in percent, the threat model and the protocol.

        `autoattack_acc` is the protocol's worst case (AutoAttack's number when the protocol is
        `"standard"`); `protocol` and `protocol_version` say which attacks produced it.
        """
        return {
            "clean_acc": round(100.0 * self.clean_accuracy, 2),
            "autoattack_acc": round(100.0 * self.robust_accuracy, 2),
            "eps": self.eps,
            "norm": {"linf": "Linf", "l2": "L2"}.get(self.norm, self.norm),
            "n_examples": self.n_examples,
            "protocol": self.protocol,
            "protocol_version": self.protocol_version,
            "variant": self.variant,
        }

    @property
    def broken_by(self):
        """`{attack name: examples it broke first}`, from `per_example` (empty without it)."""
        if self.per_example is None:
            return {}
        counts = {a["name"]: 0 for a in self.attacks}
        for name in self.per_example["broken_by"]:
            if name is not None:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def flag(self, name):
        """The `SanityFlag` called `name`, or `None` when it was not part of the report."""
        for f in self.flags:
            if f.name == name:
                return f
        return None

    # ----------------------------------------------------------------------------- serialisation
    def to_dict(self):
        """A JSON-compatible dict of the report, with the per-example results and the summary."""
        data = {
            "protocol": self.protocol,
            "protocol_version": self.protocol_version,
            "variant": self.variant,
            "eps": self.eps,
            "norm": self.norm,
            "attacks": [_plain(a) for a in self.attacks],
            "accuracy_kind": self.accuracy_kind,
            "robust_accuracy": self.robust_accuracy,
            "clean_accuracy": self.clean_accuracy,
            "n_examples": self.n_examples,
            "flags": [f.to_dict() for f in self.flags],
            "randomized": self.randomized,
            "eot_iter": self.eot_iter,
            "smoothed": None if self.smoothed is None else self.smoothed.to_dict(),
            "notes": list(self.notes),
            "seconds": self.seconds,
            "tfadv_version": self.tfadv_version,
            "summary": self.summary,
        }
        if self.per_example is not None:
            data["per_example"] = _plain(self.per_example)
        return data

    @classmethod
    def from_dict(cls, config):
        config = dict(config)
        config.pop("summary", None)  # derived
        # Reports written before randomised models were scored by one draw recorded the vote's
        # size; their accuracies were votes (see `tfadv.evaluation.protocols`).
        config.pop("votes", None)
        config["flags"] = [SanityFlag.from_dict(f) for f in config.get("flags", [])]
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, RobustnessReport) and self.to_dict() == other.to_dict()

    # ----------------------------------------------------------------------------------- table
    def __str__(self):
        version = f" v{self.protocol_version}" if self.protocol_version else ""
        variant = f" ({self.variant} variant)" if self.variant != "default" else ""
        lines = [
            f"Robustness report: protocol '{self.protocol}'{version}{variant}, {self.norm} "
            f"eps={self.eps:g}, {self.n_examples} examples, {self.seconds:.1f} s",
        ]
        if self.randomized:
            gradients = (
                f"the attacks averaged {self.eot_iter} gradient samples per step (EOT)"
                if self.eot_iter > 1
                else "the attacks took one gradient sample per step (no EOT)"
            )
            lines.append(
                "Randomised model: accuracy counts one forward pass per example, as AutoAttack "
                f"counts it; {gradients}."
            )
        lines += self.notes
        width = max([len("worst case")] + [len(a["name"]) for a in self.attacks])
        budget_width = max([len("budget")] + [len(a["budget"]) for a in self.attacks])
        header = (
            f"  {'attack':<{width}}  {'budget':<{budget_width}}  {'accuracy':>8}  {'seconds':>8}"
        )
        lines += [header, "  " + "-" * (len(header) - 2)]
        lines.append(f"  {'clean':<{width}}  {'':<{budget_width}}  {self.clean_accuracy:>8.2%}")
        for a in self.attacks:
            lines.append(
                f"  {a['name']:<{width}}  {a['budget']:<{budget_width}}  {a['accuracy']:>8.2%}  "
                f"{a['seconds']:>8.1f}"
            )
        lines.append(
            f"  {'worst case':<{width}}  {'':<{budget_width}}  {self.robust_accuracy:>8.2%}"
        )
        lines.append(f"  (attack accuracies are {self.accuracy_kind})")
        if self.smoothed is not None:
            lines.append(str(self.smoothed))
        if self.flags:
            lines.append("Sanity checks:")
            lines += [f"  {flag}" for flag in self.flags]
        return "\n".join(lines)

    def __repr__(self):
        return (
            f"RobustnessReport(protocol={self.protocol!r}, eps={self.eps:g}, norm={self.norm!r}, "
            f"robust_accuracy={self.robust_accuracy:.4f}, "
            f"clean_accuracy={self.clean_accuracy:.4f}, flagged={self.flagged})"
        )


def _plain(value):
    """Converts NumPy scalars and tuples in nested containers into JSON types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
