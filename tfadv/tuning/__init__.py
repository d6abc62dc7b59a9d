"""Hyperparameter search over a recipe: `tfadv tune --config RECIPE`, with Keras Tuner's oracles.

`tfadv.tuning.tune` runs a recipe's `search` section (the tuner, `max_trials`, a `space` over
config fields by path: `tfadv.tuning.space`), each trial a `tfadv train` run of the recipe.
`import tfadv.tuning` explicitly: it imports `keras_tuner`, which `import tfadv` does not.
"""

from tfadv.tuning.search import TUNERS, tune
from tfadv.tuning.space import Dimension, parse_space

__all__ = ["Dimension", "TUNERS", "parse_space", "tune"]
