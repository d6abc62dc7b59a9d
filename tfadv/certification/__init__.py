"""Certified robustness by randomized smoothing (Cohen, Rosenfeld, Kolter 2019).

- `tfadv.certification.SmoothedClassifier`: the smoothed classifier of a base model, with the
  paper's Monte-Carlo `predict` and `certify` (abstention, Clopper-Pearson bound, l2 radius).
- `tfadv.certification.CertificationReport`: certified accuracy against l2 radius (table, plot,
  JSON), printed next to empirical reports but never mixed with them.
- Train the base model with `tfadv.methods.GaussianAugmentation` at the same sigma.
"""

from tfadv.certification.certification_report import DEFAULT_RADII, CertificationReport
from tfadv.certification.smoothed_classifier import (
    ABSTAIN,
    SmoothedClassifier,
    lower_confidence_bound,
)

__all__ = [
    "ABSTAIN",
    "DEFAULT_RADII",
    "CertificationReport",
    "SmoothedClassifier",
    "lower_confidence_bound",
]
