"""Hyperparameter search for adversarial training with Keras Tuner, scored by robust accuracy.

The literature's practical questions (which training epsilon, how wide a model, how much noise,
which TRADES beta / FAT tau / GAIRAT lambda) are searches whose objective is robustness:

- `tfadv.tuning.SearchSpace`: a JSON-serialisable space of fixed values, ranges and choices for
  the training epsilon, model width and depth, noise injection / PNI, the method's own knobs and
  the learning rate, validated when built.
- `tfadv.tuning.AdvHyperModel`: a `keras_tuner.HyperModel` building an `AdvModel` per trial and
  validating it with `tfadv.evaluation.RobustEvaluation`, so the objective
  `val_robust_accuracy` (or `val_weighted_accuracy`, `tfadv.tuning.get_objective`) is in the logs.
- `tfadv.tuning.search` / `make_tuner`: RandomSearch, BayesianOptimization, Hyperband or
  GridSearch, resumable from their directory, with a table of trials printed and saved (CSV,
  JSON, text); `export_best` exports the best classifier; `evaluate_trials` scores every trial
  at several test radii; `run_config` runs a whole search from a config (`tfadv tune CONFIG`).

`import tfadv.tuning` explicitly: it imports `keras_tuner`, which `import tfadv` does not.
"""

from tfadv.tuning._keras_tuner_fixes import TUNERS
from tfadv.tuning.adv_hyper_model import AdvHyperModel
from tfadv.tuning.config_runner import DEFAULT_CONFIG, check_config, run_config
from tfadv.tuning.objective import (
    ROBUST_ACCURACY,
    WEIGHTED_ACCURACY,
    WeightedAccuracy,
    get_objective,
)
from tfadv.tuning.results import (
    best_classifier,
    export_best,
    format_summary,
    save_summary,
    trial_summary,
)
from tfadv.tuning.search_space import COMMON_KNOBS, METHOD_KNOBS, SearchSpace
from tfadv.tuning.trial_evaluation import evaluate_trials, format_trial_evaluation
from tfadv.tuning.tuners import make_tuner, search

__all__ = [
    "AdvHyperModel",
    "COMMON_KNOBS",
    "DEFAULT_CONFIG",
    "METHOD_KNOBS",
    "ROBUST_ACCURACY",
    "SearchSpace",
    "TUNERS",
    "WEIGHTED_ACCURACY",
    "WeightedAccuracy",
    "best_classifier",
    "check_config",
    "evaluate_trials",
    "export_best",
    "format_summary",
    "format_trial_evaluation",
    "get_objective",
    "make_tuner",
    "run_config",
    "save_summary",
    "search",
    "trial_summary",
]
