"""Trustworthy robustness evaluation.

- `tfadv.evaluation.evaluate`: robust accuracy under a named, versioned protocol (`"quick"`:
  PGD-20 + APGD-CE; `"standard"`: AutoAttack's APGD-CE, APGD-T and Square), per attack and as the
  per-example worst case, with sanity flags, as a `RobustnessReport` (table, dict, JSON).
- `tfadv.evaluation.sweep`: accuracy against epsilon (table, JSON, PNG plot).
- `tfadv.evaluation.RobustEvaluation` / `RobustEarlyStopping`: robust validation accuracy in the
  epoch logs, and early stopping on it (Rice et al.).
- Randomised models are detected and attacked with Expectation over Transformation.
"""

from tfadv.evaluation.evaluate import evaluate
from tfadv.evaluation.protocols import PROTOCOLS, Protocol, describe_budget, get_protocol
from tfadv.evaluation.robust_early_stopping import RobustEarlyStopping
from tfadv.evaluation.robust_evaluation import RobustEvaluation
from tfadv.evaluation.robustness_report import RobustnessReport
from tfadv.evaluation.sanity_checks import (
    SANITY_CHECKS,
    SanityFlag,
    detect_randomized,
    zero_gradient_share,
)
from tfadv.evaluation.sweep import SweepResult, sweep

__all__ = [
    "PROTOCOLS",
    "Protocol",
    "RobustEarlyStopping",
    "RobustEvaluation",
    "RobustnessReport",
    "SANITY_CHECKS",
    "SanityFlag",
    "SweepResult",
    "describe_budget",
    "detect_randomized",
    "evaluate",
    "get_protocol",
    "sweep",
    "zero_gradient_share",
]
