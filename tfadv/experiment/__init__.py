"""Experiments as config files: `tfadv train --config RECIPE [--config.FIELD=VALUE ...]`.

- `tfadv.experiment.schema`: every field of a recipe (type, default, help, domain), declared once;
  `base_config()` is the config recipes start from.
- `tfadv.experiment.parse`: a recipe (`ml_collections` config file) with absl-flag overrides.
- `tfadv.experiment.check_config`: the one check of a resolved config, returning its `Plan`.
- `tfadv.experiment.train`: runs a config into one locked output folder (config, log, TensorBoard
  events, resumable checkpoints, robustness report, plot, exports).
- `tfadv.experiment.method_config`: a recipe's `method` section with every registry knob.
- `RunState`, `RunCheckpoint`, `EventFileLogger`: the resumable-checkpoint and event-file pieces.
"""

from tfadv.experiment.checks import Plan, check_config
from tfadv.experiment.config import differences, parse
from tfadv.experiment.run_state import EventFileLogger, RunCheckpoint, RunState
from tfadv.experiment.runner import train
from tfadv.experiment.schema import base_config, method_config

__all__ = [
    "EventFileLogger",
    "Plan",
    "RunCheckpoint",
    "RunState",
    "base_config",
    "check_config",
    "differences",
    "method_config",
    "parse",
    "train",
]
