"""`sweep`: robust accuracy against the radius, as a table, JSON and a PNG plot."""

import os

from tfadv.evaluation import _utils, sanity_checks
from tfadv.evaluation.evaluate import evaluate
from tfadv.evaluation.loading import load_model
from tfadv.evaluation.sanity_checks import SanityFlag
from tfadv.utils import validation
from tfadv.utils.json_io import JsonMixin


class SweepResult(JsonMixin):
    """Accuracy against epsilon: the output of `tfadv.evaluation.sweep`.

    Attributes:
        eps: list of radii, increasing.
        accuracy: list, the per-example worst case over the attacks at each radius.
        per_attack: dict `{attack name: [accuracy at each radius]}`.
        clean_accuracy: float.
        protocol, protocol_version, norm, n_examples: what produced the curve.
        flags: list of `tfadv.evaluation.SanityFlag`: `non_monotone_in_eps`, and
            `above_chance_at_large_eps` when the largest radius can reach the grey image.
    """

    def __init__(
        self,
        *,
        eps,
        accuracy,
        per_attack,
        clean_accuracy,
        protocol,
        protocol_version,
        norm,
        n_examples,
        flags=(),
    ):
        self.eps = [float(e) for e in eps]
        self.accuracy = [float(a) for a in accuracy]
        self.per_attack = {k: [float(a) for a in v] for k, v in per_attack.items()}
        self.clean_accuracy = float(clean_accuracy)
        self.protocol = protocol
        self.protocol_version = protocol_version
        self.norm = norm
        self.n_examples = int(n_examples)
        self.flags = [f if isinstance(f, SanityFlag) else SanityFlag.from_dict(f) for f in flags]

    @property
    def flagged(self):
        return [f.name for f in self.flags if f.raised]

    def to_dict(self):
        return {
            "eps": self.eps,
            "accuracy": self.accuracy,
            "per_attack": self.per_attack,
            "clean_accuracy": self.clean_accuracy,
            "protocol": self.protocol,
            "protocol_version": self.protocol_version,
            "norm": self.norm,
            "n_examples": self.n_examples,
            "flags": [f.to_dict() for f in self.flags],
        }

    @classmethod
    def from_dict(cls, config):
        config = dict(config)
        config["flags"] = [SanityFlag.from_dict(f) for f in config.get("flags", [])]
        return cls(**config)

    def plot(self, path=None):
        """Plots accuracy against epsilon (one line per attack, and the worst case).

        Needs matplotlib (`pip install tfadv[plot]`). Returns the matplotlib figure and saves it as
        a PNG to `path` when given.
        """
        try:  # here, not at the top: pyplot must load after the file backend is chosen
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Plotting a sweep needs matplotlib: `pip install tfadv[plot]` (or matplotlib)."
            ) from error
        figure, axis = plt.subplots(figsize=(5, 3.5))
        for name, values in self.per_attack.items():
            axis.plot(self.eps, values, marker="o", linewidth=1, label=name)
        axis.plot(
            self.eps, self.accuracy, marker="s", color="black", linewidth=2, label="worst case"
        )
        axis.set_xlabel(f"eps ({self.norm})")
        axis.set_ylabel("accuracy")
        axis.set_ylim(-0.02, 1.02)
        version = f" v{self.protocol_version}" if self.protocol_version else ""
        axis.set_title(f"protocol '{self.protocol}'{version}, {self.n_examples} examples")
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
        figure.tight_layout()
        if path is not None:
            figure.savefig(path, dpi=120)
            plt.close(figure)
        return figure

    def __str__(self):
        names = list(self.per_attack)
        width = max([10] + [len(n) for n in names])
        version = f" v{self.protocol_version}" if self.protocol_version else ""
        lines = [
            f"Accuracy vs eps: protocol '{self.protocol}'{version}, {self.norm}, "
            f"{self.n_examples} examples, clean accuracy {self.clean_accuracy:.2%}",
            "  " + f"{'eps':>8}" + "".join(f"  {n:>{width}}" for n in names + ["worst case"]),
        ]
        for i, eps in enumerate(self.eps):
            values = [self.per_attack[n][i] for n in names] + [self.accuracy[i]]
            lines.append("  " + f"{eps:>8g}" + "".join(f"  {v:>{width}.2%}" for v in values))
        if self.flags:
            lines.append("Sanity checks:")
            lines += [f"  {flag}" for flag in self.flags]
        return "\n".join(lines)

    def __repr__(self):
        return f"SweepResult(eps={self.eps}, accuracy={[round(a, 4) for a in self.accuracy]})"


def sweep(
    model,
    data,
    eps_list,
    attacks="quick",
    *,
    norm="linf",
    batch_size=256,
    limit=None,
    randomized=None,
    eot_iter=20,
    seed=0,
    json_path=None,
    plot_path=None,
    verbose=0,
):
    """Accuracy against epsilon: runs `tfadv.evaluation.evaluate` at every radius of `eps_list`.

    Carlini et al. ask for this curve, extended until accuracy reaches zero: robust accuracy must
    fall as the radius grows (`non_monotone_in_eps` is raised when it rises), and reach chance level
    once the radius can turn every image grey (`above_chance_at_large_eps`, checked when the largest
    radius is that large: 0.5 for l-inf, `0.5 * sqrt(dimension)` for l2).

    Args:
        model: a `keras.Model` returning logits, a `tfadv.AdvModel`, or a path read by
            `tfadv.evaluation.load_model`.
        data: a tuple `(x, y)` of arrays, or a `tf.data.Dataset` of `(x, y)` batches: images in
            [0, 1] of the model's input shape and integer class ids of shape `(N,)`, checked
            before the first attack as by `tfadv.evaluation.evaluate`.
        eps_list: non-empty list of radii >= 0.
        attacks: a protocol name, a `Protocol`, or a list of `tfadv.attacks.Attack`. Defaults to
            `"quick"`.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        batch_size: int >= 1. Defaults to `256`.
        limit: optional int, use only the first `limit` examples. Defaults to `None`.
        randomized: `None` (detect), or a bool. Defaults to `None`.
        eot_iter: int >= 1, EOT samples against a randomised model. Defaults to `20`.
        seed: int, the attacks' seed. Defaults to `0`.
        json_path: optional path; the result is written there as JSON. Defaults to `None`.
        plot_path: optional path; the curve is saved there as a PNG (needs matplotlib). Defaults to
            `None`.
        verbose: `0` or `1` (one line per radius). Defaults to `0`.

    Returns:
        A `tfadv.evaluation.SweepResult` (print it for the table).

    Example:

    ```python
    result = tfadv.evaluation.sweep(model, (x, y), [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    print(result)
    result.plot("accuracy_vs_eps.png")
    ```

    Reference:
        Carlini et al., "On Evaluating Adversarial Robustness", arXiv:1902.06705, 2019.
    """
    if isinstance(eps_list, (int, float)) or not hasattr(eps_list, "__len__") or not len(eps_list):
        raise ValueError(
            f"`eps_list` must be a non-empty list of radii. Received: eps_list={eps_list!r}"
        )
    eps_values = sorted(validation.check_eps(e) for e in eps_list)
    norm = validation.check_choice("norm", norm, ("linf", "l2"))
    batch_size = validation.check_steps(batch_size, "batch_size")
    if limit is not None:
        limit = validation.check_steps(limit, "limit")
    validation.check_choice("verbose", verbose, (0, 1))
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)  # once, not once per radius
    classifier = _utils.unwrap_model(model)
    x, y = _utils.to_numpy(data, limit, model=classifier)
    accuracy, per_attack, reports = [], {}, []
    for eps in eps_values:
        report = evaluate(
            model, (x, y), eps=eps, norm=norm, protocol=attacks, batch_size=batch_size,
            checks=False, randomized=randomized, eot_iter=eot_iter, seed=seed,
        )  # fmt: skip
        reports.append(report)
        accuracy.append(report.robust_accuracy)
        for name, value in report.per_attack_accuracy.items():
            per_attack.setdefault(name, []).append(value)
        if verbose:
            print(f"eps={eps:g}: robust accuracy {report.robust_accuracy:.2%}")
    n = len(x)
    flags = [sanity_checks.check_monotone(eps_values, accuracy, n)]
    large = sanity_checks.large_eps(norm, x.shape[1:])
    if eps_values[-1] >= large:
        predictor = _utils.Predictor(classifier, batch_size)
        num_classes = int(predictor.logits(x[:1]).shape[-1])
        flags.append(sanity_checks.check_above_chance(accuracy[-1], num_classes, eps_values[-1], n))
    else:
        flags.append(SanityFlag("above_chance_at_large_eps", None, f"largest eps below {large:g}"))
    first = reports[0]
    if first.randomized:  # each verdict is one noise draw: accuracy can rise by chance
        flags = sanity_checks.for_randomised_model(flags)
    result = SweepResult(
        eps=eps_values,
        accuracy=accuracy,
        per_attack=per_attack,
        clean_accuracy=first.clean_accuracy,
        protocol=first.protocol,
        protocol_version=first.protocol_version,
        norm=norm,
        n_examples=n,
        flags=flags,
    )
    if plot_path is not None:  # first: it is the one that can fail (no matplotlib)
        result.plot(plot_path)
    if json_path is not None:
        result.to_json(json_path)
    return result
