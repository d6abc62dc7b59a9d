"""Experiments as config files: `tfadv train --config RECIPE [--config.FIELD=VALUE ...]`.

`schema` declares every field (`base_config`, `method_config`); `parse` reads a recipe with its
overrides; `check_config` checks it once, returning its `Plan`; `train` runs it into one locked,
resumable output folder (`RunState`, `RunCheckpoint`, `EventFileLogger`).
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
