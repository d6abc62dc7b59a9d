"""Hyperparameter search over a recipe: `tfadv tune --config RECIPE`, with Keras Tuner's oracles.

A search is a training recipe (`tfadv train --config RECIPE`) with a `search` section: the tuner
(`"random"`, `"bayesian"`, `"hyperband"`, `"grid"`), `max_trials`, a `space` over any config field
by its path (`tfadv.tuning.space`), and optional test radii (`test_eps`, `test_limit`) at which
every trial's classifier is evaluated afterwards. Each trial is a `tfadv train` run of the recipe
with the trial's values, in `WORKDIR/trials/ID`; see `tfadv.tuning.tune`.

`import tfadv.tuning` explicitly: it imports `keras_tuner`, which `import tfadv` does not.
"""

from tfadv.tuning.search import TUNERS, tune
from tfadv.tuning.space import Dimension, parse_space

__all__ = ["Dimension", "TUNERS", "parse_space", "tune"]
