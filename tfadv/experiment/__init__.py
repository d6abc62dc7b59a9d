"""Experiments as config files: `tfadv train --config RECIPE [--config.FIELD=VALUE ...]`.

- `tfadv.experiment.parse`: a recipe (`ml_collections` config file) with absl-flag overrides.
- `tfadv.experiment.train`: runs a config into one output folder (config, log, TensorBoard events,
  resumable checkpoints, robustness report, plot, exports), refusing to resume a run of another
  config.
- `tfadv.experiment.method_config`: a recipe's `method` field with every registry knob.
- `RunState`, `RunCheckpoint`, `EventFileLogger`: the resumable-checkpoint and event-file pieces.
"""

from tfadv.experiment.config import DEFAULT_CONFIG, differences, method_config, parse
from tfadv.experiment.event_file_logger import EventFileLogger
from tfadv.experiment.run_checkpoint import RunCheckpoint
from tfadv.experiment.run_state import RunState
from tfadv.experiment.runner import train

__all__ = [
    "DEFAULT_CONFIG",
    "EventFileLogger",
    "RunCheckpoint",
    "RunState",
    "differences",
    "method_config",
    "parse",
    "train",
]
