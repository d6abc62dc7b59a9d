"""The Keras Tuner classes behind `tfadv.tuning.make_tuner`, with two fixes for Keras Tuner 1.4.

- Keras Tuner imports `tensorboard` at every trial under the TensorFlow backend; TensorFlow 2.21
  no longer installs it. The classes here skip that import when no `TensorBoard` callback is given.
- Keras Tuner's grid oracle keeps its place in the grid out of its saved state, so a reloaded grid
  search stops after its finished trials; the grid search here saves and restores it.
"""

import functools
import warnings

import keras_tuner
from keras_tuner.src.tuners import gridsearch


class _OptionalTensorBoard:
    """Keras Tuner imports `tensorboard` at every trial under the TensorFlow backend, to add an
    HParams callback next to a `TensorBoard` callback; TF 2.21 no longer installs it. Without a
    `TensorBoard` callback there is nothing to configure, so the import is skipped."""

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        if not any(type(c).__name__ == "TensorBoard" for c in callbacks):
            return
        try:
            from tensorboard.plugins.hparams import api  # noqa: F401
        except ImportError:
            warnings.warn(
                "The `tensorboard` package is not installed: the TensorBoard callback runs "
                "without Keras Tuner's per-trial log folders and HParams.",
                stacklevel=2,
            )
            return
        super()._configure_tensorboard_dir(callbacks, trial, execution)


class _RandomSearch(_OptionalTensorBoard, keras_tuner.RandomSearch):
    pass


class _BayesianOptimization(_OptionalTensorBoard, keras_tuner.BayesianOptimization):
    pass


class _Hyperband(_OptionalTensorBoard, keras_tuner.Hyperband):
    pass


class _GridSearchOracle(keras_tuner.oracles.GridSearchOracle):
    """Keras Tuner 1.4's grid oracle keeps its place in the grid (`_ordered_ids`,
    `_populate_next`) out of its saved state, so a reloaded grid search finds no next point and
    stops. This one saves it, and rebuilds it from the trials for a folder saved without it."""

    def get_state(self):
        state = super().get_state()
        ordered, index = [], self._ordered_ids._next_index[None]
        while index is not None:
            ordered.append(self._ordered_ids._memory[index])
            index = self._ordered_ids._next_index[index]
        state["grid_ordered_ids"] = ordered
        state["grid_populate_next"] = list(self._populate_next)
        return state

    def set_state(self, state):
        super().set_state(state)
        ordered = state.get("grid_ordered_ids")
        populate_next = state.get("grid_populate_next")
        if ordered is None:  # saved by Keras Tuner's own oracle: rebuild from the trials
            values = {i: self.trials[i].hyperparameters.values for i in self.start_order}
            ordered = sorted(
                values, key=functools.cmp_to_key(lambda a, b: self._compare(values[a], values[b]))
            )
            populate_next = list(self.end_order)
        self._ordered_ids = gridsearch.LinkedList()
        for trial_id in ordered:
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(populate_next or [])


class _GridSearch(_OptionalTensorBoard, keras_tuner.GridSearch):
    def __init__(self, hypermodel=None, objective=None, max_trials=None, seed=None, **kwargs):
        self.seed = seed
        oracle_kwargs = {
            key: kwargs.pop(key)
            for key in (
                "hyperparameters",
                "tune_new_entries",
                "allow_new_entries",
                "max_retries_per_trial",
                "max_consecutive_failed_trials",
            )
            if key in kwargs
        }
        oracle = _GridSearchOracle(
            objective=objective, max_trials=max_trials, seed=seed, **oracle_kwargs
        )
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)


# Keras Tuner's own classes, by kind: `tuner_kind` recognises a tuner built without `make_tuner`.
_KERAS_TUNERS = {
    "random": keras_tuner.RandomSearch,
    "bayesian": keras_tuner.BayesianOptimization,
    "hyperband": keras_tuner.Hyperband,
    "grid": keras_tuner.GridSearch,
}

#: The tuner kinds of `make_tuner`, and the Keras Tuner class each one is.
TUNERS = {
    "random": _RandomSearch,
    "bayesian": _BayesianOptimization,
    "hyperband": _Hyperband,
    "grid": _GridSearch,
}


def tuner_kind(tuner):
    """The kind (`"random"`, `"bayesian"`, `"hyperband"`, `"grid"`) of a tuner, else its class."""
    for kind, cls in _KERAS_TUNERS.items():
        if isinstance(tuner, cls):
            return kind
    return type(tuner).__name__
