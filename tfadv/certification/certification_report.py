"""`CertificationReport`: certified accuracy against l2 radius, from randomized smoothing."""

import numpy as np

from tfadv._version import __version__
from tfadv.utils.json_io import JsonMixin

#: The radii of the table by default (the paper's figures run from 0 to about 1.5 on CIFAR-10).
DEFAULT_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


class CertificationReport(JsonMixin):
    """Per-example certificates of a smoothed classifier, and the certified accuracy they give.

    The certified accuracy at radius `r` is the share of examples that the smoothed classifier
    classifies correctly (it did not abstain) with a certified l2 radius of at least `r`. It is a
    lower bound on the l2 robust accuracy of the smoothed classifier at `r`, holding with
    probability `1 - alpha` per example; an empirical (attack-based) accuracy is an upper bound.
    The two are different quantities and this report never mixes them: `side_by_side` prints an
    empirical `tfadv.evaluation.RobustnessReport` next to it, in its own section.

    Args:
        sigma: float, the noise level.
        n0: int, selection samples per example.
        n: int, estimation samples per example.
        alpha: float, the failure probability of each certificate.
        labels: list of int labels.
        predictions: list of int predictions, `-1` for an abstention.
        radii: list of float certified l2 radii (`0` for an abstention).
        seconds: float, the wall time of the certification. Defaults to `0.0`.
        tfadv_version: str. Defaults to the installed version.

    Example:

    ```python
    report = tfadv.certification.SmoothedClassifier(classifier, 0.25).evaluate(x, y, n=10_000)
    report.certified_accuracy(0.5)
    print(report.table([0.0, 0.5, 1.0]))
    report.plot("certified.png")
    report.to_json("certified.json")
    ```

    Reference:
        Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing",
        ICML 2019.
    """

    def __init__(
        self, *, sigma, n0, n, alpha, labels, predictions, radii, seconds=0.0, tfadv_version=None
    ):
        if tfadv_version is None:
            tfadv_version = __version__
        if not len(labels) == len(predictions) == len(radii):
            raise ValueError(
                "`labels`, `predictions` and `radii` must have one entry per example. Received: "
                f"lengths {len(labels)}, {len(predictions)}, {len(radii)}"
            )
        self.sigma = float(sigma)
        self.n0 = int(n0)
        self.n = int(n)
        self.alpha = float(alpha)
        self.labels = np.asarray(labels, np.int64)
        self.predictions = np.asarray(predictions, np.int64)
        self.radii = np.asarray(radii, np.float64)
        self.seconds = float(seconds)
        self.tfadv_version = tfadv_version

    @property
    def n_examples(self):
        return len(self.labels)

    @property
    def abstention_rate(self):
        """The share of examples on which the smoothed classifier abstained."""
        return float(np.mean(self.predictions < 0)) if self.n_examples else 0.0

    def certified_accuracy(self, radius):
        """The share of examples correctly classified with a certified radius >= `radius`."""
        if self.n_examples == 0:
            return 0.0
        correct = (self.predictions == self.labels) & (self.radii >= float(radius))
        return float(np.mean(correct))

    def curve(self, radii=DEFAULT_RADII):
        """`[(radius, certified accuracy), ...]` for the given radii."""
        return [(float(r), self.certified_accuracy(r)) for r in radii]

    # ----------------------------------------------------------------------------- serialisation
    def to_dict(self):
        return {
            "sigma": self.sigma,
            "n0": self.n0,
            "n": self.n,
            "alpha": self.alpha,
            "labels": self.labels.tolist(),
            "predictions": self.predictions.tolist(),
            "radii": self.radii.tolist(),
            "seconds": self.seconds,
            "tfadv_version": self.tfadv_version,
        }

    @classmethod
    def from_dict(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, CertificationReport) and self.to_dict() == other.to_dict()

    # ------------------------------------------------------------------------------------ views
    def table(self, radii=DEFAULT_RADII):
        """Certified accuracy against l2 radius, as a text table."""
        lines = [
            f"Certified (randomized smoothing): l2, sigma={self.sigma:g}, n0={self.n0}, "
            f"n={self.n}, alpha={self.alpha:g}, {self.n_examples} examples, "
            f"{self.seconds:.1f} s, abstained on {self.abstention_rate:.2%}",
            f"  {'l2 radius':>9}  {'certified accuracy':>18}",
            "  " + "-" * 29,
        ]
        lines += [f"  {r:>9.2f}  {accuracy:>18.2%}" for r, accuracy in self.curve(radii)]
        return "\n".join(lines)

    __str__ = table

    def __repr__(self):
        return (
            f"CertificationReport(sigma={self.sigma:g}, n={self.n}, alpha={self.alpha:g}, "
            f"n_examples={self.n_examples}, certified_accuracy_at_0={self.certified_accuracy(0):.4f})"
        )

    def side_by_side(self, *empirical, radii=DEFAULT_RADII):
        """This report's table and empirical `RobustnessReport`s, each in its own section.

        Certified numbers are provable lower bounds for the smoothed classifier under l2; the
        empirical ones are attack-based upper bounds for whatever model was attacked (state which
        in your write-up). They are printed apart and never combined.
        """
        sections = ["== Certified robustness (provable lower bounds) ==", self.table(radii)]
        if empirical:
            sections.append("== Empirical robustness (attack results: upper bounds) ==")
            sections += [str(report) for report in empirical]
        return "\n".join(sections)

    def plot(self, path=None):
        """Plots certified accuracy against l2 radius (a step curve over the certified radii).

        Needs matplotlib, imported only here. Returns the figure, and saves it as a PNG to `path`
        when given.
        """
        try:  # here, not at the top: pyplot must load after the file backend is chosen
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            from matplotlib import pyplot
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("CertificationReport.plot needs matplotlib installed.") from error
        steps = np.concatenate([[0.0], np.sort(self.radii[self.predictions == self.labels])])
        accuracy = [self.certified_accuracy(r) for r in steps]
        figure, axis = pyplot.subplots(figsize=(5, 3.5))
        axis.step(steps, accuracy, where="post", color="black")
        axis.set_xlabel("l2 radius")
        axis.set_ylabel("certified accuracy")
        axis.set_ylim(-0.02, 1.02)
        axis.set_title(f"randomized smoothing, sigma={self.sigma:g}, {self.n_examples} examples")
        axis.grid(alpha=0.3)
        figure.tight_layout()
        if path is not None:
            figure.savefig(path, dpi=120)
            pyplot.close(figure)
        return figure
