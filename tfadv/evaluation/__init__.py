"""Trustworthy robustness evaluation.

- `tfadv.evaluation.evaluate`: robust accuracy under a named, versioned protocol (`"quick"`:
  PGD-20 + APGD-CE; `"standard"`, `"plus"`, `"rand"`: AutoAttack's versions, e.g. APGD-CE, APGD-T,
  FAB-T and Square), per attack and as the per-example worst case, with sanity flags and adaptive
  checks (scaled logits, transfer), as a `RobustnessReport` (table, dict, JSON, per-example
  results, RobustBench-style summary).
- `tfadv.evaluation.load_model`: a `.keras` file, a SavedModel folder or an `.onnx` file to
  evaluate (what `tfadv.export` writes).
- `tfadv.evaluation.sweep`: accuracy against epsilon (table, JSON, PNG plot).
- `tfadv.evaluation.RobustEvaluation` / `RobustEarlyStopping`: robust validation accuracy in the
  epoch logs, and early stopping on it (Rice et al.).
- Randomised models are detected and scored as AutoAttack scores them (one forward pass decides
  correctness); `"rand"` attacks them with Expectation over Transformation, and the majority vote
  of several passes is an option (`smoothed_draws`), reported on its own line.
"""

from tfadv.evaluation.evaluate import evaluate
from tfadv.evaluation.loading import load_model
from tfadv.evaluation.onnx_classifier import OnnxClassifier
from tfadv.evaluation.protocols import PROTOCOLS, Protocol, describe_budget, get_protocol
from tfadv.evaluation.robust_early_stopping import RobustEarlyStopping
from tfadv.evaluation.robust_evaluation import RobustEvaluation
from tfadv.evaluation.robustness_report import RobustnessReport, SmoothedAccuracy
from tfadv.evaluation.sanity_checks import (
    SANITY_CHECKS,
    SanityFlag,
    detect_randomized,
    zero_gradient_share,
)
from tfadv.evaluation.saved_model_classifier import SavedModelClassifier
from tfadv.evaluation.sweep import SweepResult, sweep
from tfadv.evaluation.transfer_attack import TransferAttack

__all__ = [
    "OnnxClassifier",
    "PROTOCOLS",
    "Protocol",
    "RobustEarlyStopping",
    "RobustEvaluation",
    "RobustnessReport",
    "SANITY_CHECKS",
    "SanityFlag",
    "SavedModelClassifier",
    "SmoothedAccuracy",
    "SweepResult",
    "TransferAttack",
    "describe_budget",
    "detect_randomized",
    "evaluate",
    "get_protocol",
    "load_model",
    "sweep",
    "zero_gradient_share",
]
