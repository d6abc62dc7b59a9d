"""Searches: tuner construction, the trial summary, export of the best model, config-driven runs."""

import csv
import functools
import io
import json
import math
import os
import time
import warnings

import keras_tuner
from keras_tuner.src.tuners import gridsearch

from tfadv.tuning.adv_hyper_model import AdvHyperModel
from tfadv.tuning.objective import check_clean_weight
from tfadv.tuning.search_space import SearchSpace
from tfadv.utils import validation


# ------------------------------------------------------------------------------------------ tuners
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


def make_tuner(
    hypermodel,
    kind="random",
    *,
    max_trials=10,
    epochs=None,
    objective=None,
    directory="tfadv_tuning",
    project_name="search",
    overwrite=False,
    seed=0,
    **kwargs,
):
    """Builds a Keras Tuner tuner for an adversarial-training search.

    `kind` picks `keras_tuner.RandomSearch` (`"random"`), `keras_tuner.BayesianOptimization`
    (`"bayesian"`), `keras_tuner.Hyperband` (`"hyperband"`) or `keras_tuner.GridSearch`
    (`"grid"`); the returned tuner is an instance of that class. The objective is the
    hypermodel's (`val_robust_accuracy`, maximised, for a `tfadv.tuning.AdvHyperModel`).

    With `overwrite=False` (the default) a tuner whose `directory/project_name` already holds a
    search reloads it: finished trials are kept and not run again, an interrupted trial is run
    again, and `search` continues until `max_trials` trials exist (use a new `project_name` when
    the space changes).

    Hyperband trains `epochs` at most per model (`max_epochs`) in brackets of successive halving
    (`factor`, default 3); `max_trials` caps its number of trials too (Keras Tuner's Hyperband
    has no such cap; it is set on its oracle).

    The returned tuner's classes skip Keras Tuner's per-trial `import tensorboard` when no
    `TensorBoard` callback is given (TensorFlow 2.21 no longer installs `tensorboard`, and
    Keras Tuner 1.4 imports it at every trial otherwise), and the grid search saves its place in
    the grid with its state (Keras Tuner 1.4's grid oracle does not, so a reloaded grid search
    stops after its finished trials instead of resuming).

    Args:
        hypermodel: a `tfadv.tuning.AdvHyperModel` (or any `keras_tuner.HyperModel`).
        kind: `"random"`, `"bayesian"`, `"hyperband"` or `"grid"`. Defaults to `"random"`.
        max_trials: int >= 1, the number of trials; `None` only for `"grid"` (the whole grid)
            and `"hyperband"` (its brackets decide). Defaults to `10`.
        epochs: int >= 1, Hyperband's `max_epochs` (required for `"hyperband"`, unused
            otherwise). Defaults to `None`.
        objective: optional `keras_tuner.Objective`. Defaults to `None` (the hypermodel's
            `objective`).
        directory: the folder holding the search. Defaults to `"tfadv_tuning"`.
        project_name: the sub-folder of this search. Defaults to `"search"`.
        overwrite: bool, start afresh instead of resuming. Defaults to `False`.
        seed: optional int, the tuner's seed. Defaults to `0`.
        **kwargs: passed to the tuner (`factor=`, `num_initial_points=`,
            `executions_per_trial=`, ...).

    Returns:
        A `keras_tuner.Tuner`.

    Example:

    ```python
    import tfadv.tuning

    hypermodel = tfadv.tuning.AdvHyperModel(
        tfadv.tuning.SearchSpace({"eps": {"values": [0.1, 0.3]}})
    )
    tuner = tfadv.tuning.make_tuner(hypermodel, "bayesian", max_trials=8, directory="runs")
    ```
    """
    validation.check_choice("kind", kind, tuple(TUNERS))
    if max_trials is not None:
        max_trials = validation.check_steps(max_trials, "max_trials")
    elif kind in ("random", "bayesian"):
        raise ValueError(
            f"A {kind} search needs `max_trials` (an int >= 1). Received: max_trials=None"
        )
    if objective is None:
        objective = getattr(hypermodel, "objective", None)
        if objective is None:
            raise ValueError(
                "Pass `objective=` for a hypermodel without an `objective` attribute. "
                f"Received: hypermodel={hypermodel!r}"
            )
    common = dict(
        objective=objective,
        seed=seed,
        directory=str(directory),
        project_name=project_name,
        overwrite=bool(overwrite),
        **kwargs,
    )
    if kind == "hyperband":
        if epochs is None:
            raise ValueError(
                "Hyperband needs `epochs` (its `max_epochs`, an int >= 1). Received: epochs=None"
            )
        max_epochs = validation.check_steps(epochs, "epochs")
        tuner = TUNERS[kind](hypermodel, max_epochs=max_epochs, **common)
        tuner.oracle.max_trials = max_trials
        return tuner
    return TUNERS[kind](hypermodel, max_trials=max_trials, **common)


def search(
    hypermodel,
    x,
    y,
    *,
    validation_data=None,
    kind="random",
    max_trials=10,
    epochs=3,
    batch_size=64,
    directory="tfadv_tuning",
    project_name="search",
    overwrite=False,
    seed=0,
    callbacks=None,
    verbose=1,
    print_summary=True,
    **tuner_kwargs,
):
    """Runs (or resumes) an adversarial-training hyperparameter search and reports its trials.

    Builds the tuner with `tfadv.tuning.make_tuner`, runs `tuner.search` on `(x, y)` with the
    robust validation objective, then prints the table of trials (`format_summary`) and saves it
    as `trials.csv`, `trials.json` and `trials.txt` in `directory/project_name`. Calling it again
    with the same `directory` and `project_name` resumes: finished trials are not run again.

    Read the results from the returned tuner: `tuner.get_best_hyperparameters()[0].values`,
    `tuner.get_best_models()[0]` (an `AdvModel` at its best epoch; `.classifier` is the network),
    or `tfadv.tuning.export_best(tuner, path)`.

    Args:
        hypermodel: a `tfadv.tuning.AdvHyperModel`, or a `tfadv.tuning.SearchSpace` (wrapped in
            an `AdvHyperModel` for images shaped like `x`, with its defaults).
        x: training images, float32 in [0, 1].
        y: integer training labels.
        validation_data: `(x_val, y_val)`, the examples of the robust objective. Defaults to
            `None` (the hypermodel's own `validation_data`).
        kind: `"random"`, `"bayesian"`, `"hyperband"` or `"grid"`. Defaults to `"random"`.
        max_trials: int >= 1, or `None` for a whole grid / Hyperband's own count. Defaults to
            `10`.
        epochs: int >= 1, epochs per trial (Hyperband: the most per model). Defaults to `3`.
        batch_size: int >= 1. Defaults to `64`.
        directory: the folder holding the search. Defaults to `"tfadv_tuning"`.
        project_name: the sub-folder of this search. Defaults to `"search"`.
        overwrite: bool, start afresh instead of resuming. Defaults to `False`.
        seed: optional int, the tuner's seed. Defaults to `0`.
        callbacks: optional extra Keras callbacks for every trial (deep-copied per trial).
            Defaults to `None`.
        verbose: `0`, `1` or `2`, Keras Tuner's and `fit`'s verbosity. Defaults to `1`.
        print_summary: bool, print the table of trials. Defaults to `True`.
        **tuner_kwargs: passed to `make_tuner` (`factor=`, `num_initial_points=`, ...).

    Returns:
        The `keras_tuner.Tuner`, after the search.

    Example:

    ```python
    import tfadv.tuning

    x, y = tfadv.data.load_numpy("embedded_mnist", split="train", limit=2000)
    val = tfadv.data.load_numpy("embedded_mnist", split="validation", limit=500)
    space = tfadv.tuning.SearchSpace(
        {"eps": {"values": [0.1, 0.2, 0.3, 0.4]}, "width": {"values": [1, 2]}}
    )
    tuner = tfadv.tuning.search(
        tfadv.tuning.AdvHyperModel(space, eval_eps=0.3),
        x, y, validation_data=val, max_trials=6, epochs=3, directory="runs",
    )
    tuner.get_best_hyperparameters()[0].values
    ```
    """
    if isinstance(hypermodel, SearchSpace):
        hypermodel = AdvHyperModel(hypermodel, input_shape=x.shape[1:], seed=seed)
    tuner = make_tuner(
        hypermodel,
        kind,
        max_trials=max_trials,
        epochs=epochs,
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
        seed=seed,
        **tuner_kwargs,
    )
    fit_kwargs = dict(
        epochs=validation.check_steps(epochs, "epochs"),
        batch_size=validation.check_steps(batch_size, "batch_size"),
        verbose=verbose,
    )
    if validation_data is not None:
        fit_kwargs["validation_data"] = validation_data
    if callbacks:
        fit_kwargs["callbacks"] = list(callbacks)
    tuner.search(x, y, **fit_kwargs)
    rows = trial_summary(tuner)
    save_summary(tuner, rows=rows)
    if print_summary:
        print(format_summary(tuner, rows=rows))
    if rows and not any(row["status"] == "COMPLETED" for row in rows):
        failed = [t for t in tuner.oracle.trials.values() if t.message]
        detail = failed[0].message if failed else ""
        raise RuntimeError(f"Every trial of the search failed. First failure:\n{detail}")
    return tuner


# ----------------------------------------------------------------------------------------- summary
_METRICS = ("val_clean_accuracy", "val_robust_accuracy", "val_weighted_accuracy")
_HIDDEN_HPS = ("tuner/bracket", "tuner/round")


def trial_summary(tuner):
    """One row per trial, best first: its id, status, hyperparameters, best epoch and accuracies.

    Each row is a dict with `trial_id`, `status`, one entry per hyperparameter (Hyperband adds
    `tuner/epochs`, `tuner/initial_epoch` and `tuner/trial_id`), `best_epoch` (1-based; `"last"`
    for an `AdvHyperModel(checkpoint="last")`) and, at that epoch, `score` (the objective) and the validation accuracies that exist
    (`val_clean_accuracy`, `val_robust_accuracy`, `val_weighted_accuracy`). Completed trials come
    first, sorted by score (best first).

    Args:
        tuner: a `keras_tuner.Tuner` (after `search`, or reloaded from its directory).

    Returns:
        A list of dicts (JSON-able).
    """
    objective = tuner.oracle.objective
    rows = []
    for trial in tuner.oracle.trials.values():
        row = {"trial_id": trial.trial_id, "status": str(trial.status)}
        for name, value in trial.hyperparameters.values.items():
            if name not in _HIDDEN_HPS:
                row[name] = _plain(value)
        if trial.score is None:
            row["best_epoch"] = None
        elif getattr(tuner.hypermodel, "checkpoint", "best") == "last":
            row["best_epoch"] = "last"
        else:
            row["best_epoch"] = int(trial.best_step) + 1
        row["score"] = None if trial.score is None else float(trial.score)
        for name in _METRICS:
            if trial.metrics.exists(name):
                row[name] = float(trial.metrics.get_last_value(name))
        rows.append(row)
    sign = 1.0 if getattr(objective, "direction", "max") == "max" else -1.0
    rows.sort(key=lambda r: (r["score"] is None, -sign * (r["score"] or 0.0), r["trial_id"]))
    return rows


def format_summary(tuner, rows=None):
    """The table of trials as text, headed by the objective and the evaluation protocol."""
    rows = trial_summary(tuner) if rows is None else rows
    objective = tuner.oracle.objective
    hypermodel = getattr(tuner, "hypermodel", None)
    completed = sum(row["status"] == "COMPLETED" for row in rows)
    lines = [
        f"Search '{tuner.project_name}' ({_kind(tuner)}): {len(rows)} trials, {completed} "
        f"completed; objective {objective.name} ({objective.direction})"
    ]
    if isinstance(hypermodel, AdvHyperModel):
        lines.append(
            f"Method {hypermodel.space.method}, model {hypermodel.space.model}; validation "
            f"accuracy under protocol '{_protocol_name(hypermodel.eval_protocol)}' at l-inf "
            f"eps={hypermodel.eval_eps:g}" + _limit_text(hypermodel)
        )
    lines.append(_table(rows))
    return "\n".join(lines)


def save_summary(tuner, directory=None, rows=None):
    """Writes the table of trials as `trials.csv`, `trials.json` and `trials.txt`.

    Args:
        tuner: a `keras_tuner.Tuner`.
        directory: optional folder. Defaults to `None` (the tuner's `directory/project_name`).
        rows: optional rows from `trial_summary`. Defaults to `None` (computed).

    Returns:
        A dict `{"csv": path, "json": path, "txt": path}`.
    """
    rows = trial_summary(tuner) if rows is None else rows
    directory = tuner.project_dir if directory is None else str(directory)
    os.makedirs(directory, exist_ok=True)
    paths = {ext: os.path.join(directory, f"trials.{ext}") for ext in ("csv", "json", "txt")}
    columns = _columns(rows)
    with open(paths["csv"], "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c) for c in columns})
    objective = tuner.oracle.objective
    with open(paths["json"], "w", encoding="utf-8") as f:
        json.dump(
            {"objective": objective.name, "direction": objective.direction, "trials": rows},
            f,
            indent=2,
        )
    with open(paths["txt"], "w", encoding="utf-8") as f:
        f.write(format_summary(tuner, rows=rows) + "\n")
    return paths


def best_classifier(tuner):
    """The best trial's classifier (a `keras.Model` returning logits), at its best epoch."""
    return tuner.get_best_models(num_models=1)[0].classifier


def export_best(tuner, path, *, formats=("keras", "saved_model")):
    """Exports the best trial's classifier (no attack code) for deployment.

    Writes `path/classifier.keras`, `path/saved_model/1/` (`tfadv.export.to_saved_model`, the
    TF-Serving layout) and `path/model.onnx` (`tfadv.export.to_onnx`) for the formats asked, and
    `path/best_hyperparameters.json`.

    Args:
        tuner: a `keras_tuner.Tuner` with at least one completed trial.
        path: the output folder.
        formats: a list among `"keras"`, `"saved_model"` and `"onnx"`. Defaults to
            `("keras", "saved_model")`.

    Returns:
        A dict format -> written path (plus `"hyperparameters"`).

    Example:

    ```python
    tfadv.tuning.export_best(tuner, "artifacts/best", formats=["keras", "saved_model"])
    ```
    """
    from tfadv import export

    formats = list(formats)
    for fmt in formats:
        validation.check_choice("formats", fmt, ("keras", "saved_model", "onnx"))
    classifier = best_classifier(tuner)
    path = str(path)
    os.makedirs(path, exist_ok=True)
    written = {}
    if "keras" in formats:
        written["keras"] = os.path.join(path, "classifier.keras")
        classifier.save(written["keras"])
    if "saved_model" in formats:
        written["saved_model"] = str(
            export.to_saved_model(classifier, os.path.join(path, "saved_model"))
        )
    if "onnx" in formats:
        written["onnx"] = str(export.to_onnx(classifier, os.path.join(path, "model.onnx")))
    written["hyperparameters"] = os.path.join(path, "best_hyperparameters.json")
    values = tuner.get_best_hyperparameters(num_trials=1)[0].values
    with open(written["hyperparameters"], "w", encoding="utf-8") as f:
        json.dump({k: _plain(v) for k, v in values.items()}, f, indent=2)
    return written


# ---------------------------------------------------------------------- cross-evaluation of trials
def evaluate_trials(
    tuner,
    data,
    eps_list,
    *,
    knob="eps",
    protocol="quick",
    limit=None,
    batch_size=256,
    seed=0,
    verbose=0,
):
    """Robust accuracy of every completed trial's model at several test radii.

    The question behind a training-epsilon search is which training radius is best against an
    attacker of radius `e`, for several `e`. Each completed trial's model (at its best epoch) is
    evaluated with `tfadv.evaluation.sweep` at every radius of `eps_list` on `data`; trials with
    the same `knob` value are averaged. For every test radius the result names the best training
    value and, for `knob="eps"`, how much accuracy is lost by training with a larger radius than
    the test radius (over-estimating) and with a smaller one (under-estimating), relative to
    training at exactly the test radius.

    Args:
        tuner: a `keras_tuner.Tuner` after `search`.
        data: `(x, y)` test arrays.
        eps_list: non-empty list of test radii >= 0.
        knob: the hyperparameter the rows are grouped by. Defaults to `"eps"`.
        protocol: the evaluation protocol. Defaults to `"quick"`.
        limit: optional int, evaluate the first `limit` examples. Defaults to `None`.
        batch_size: int >= 1. Defaults to `256`.
        seed: int, the attacks' seed. Defaults to `0`.
        verbose: `0` or `1` (a line per trial). Defaults to `0`.

    Returns:
        A JSON-able dict: `knob`, `test_eps`, `protocol`, `n_examples`, `rows` (one per knob
        value: `value`, `trials`, `clean_accuracy`, `accuracy` (a list aligned with `test_eps`)),
        `best` (test radius -> best knob value) and, for `"eps"`, `over_under` (see above).
        Format it with `format_trial_evaluation`.

    Example:

    ```python
    result = tfadv.tuning.evaluate_trials(tuner, (x_test, y_test), [0.1, 0.2, 0.3, 0.4])
    print(tfadv.tuning.format_trial_evaluation(result))
    ```
    """
    from tfadv.evaluation import sweep

    if isinstance(eps_list, (int, float)) or not eps_list:
        raise ValueError(
            f"`eps_list` must be a non-empty list of radii. Received: eps_list={eps_list!r}"
        )
    test_eps = sorted(validation.check_eps(e) for e in eps_list)
    trials = [t for t in tuner.oracle.trials.values() if str(t.status) == "COMPLETED"]
    if not trials:
        raise ValueError(
            "The tuner has no completed trial to evaluate. Received: a tuner with "
            f"{len(tuner.oracle.trials)} trials"
        )
    groups, n, protocol_name, flags = {}, None, None, set()
    for trial in trials:
        if knob not in trial.hyperparameters.values:
            raise ValueError(
                f"The trials have no hyperparameter '{knob}'. Received: knob={knob!r} (trial "
                f"values: {sorted(trial.hyperparameters.values)})"
            )
        model = tuner.load_model(trial)
        result = sweep(
            model, data, test_eps, attacks=protocol, limit=limit, batch_size=batch_size, seed=seed
        )
        n, protocol_name = result.n_examples, result.protocol
        if result.protocol_version:
            protocol_name = f"{result.protocol} v{result.protocol_version}"
        flags.update(result.flagged)
        value = _plain(trial.hyperparameters.values[knob])
        groups.setdefault(value, []).append((trial.trial_id, result))
        if verbose:
            accuracies = ", ".join(f"{a:.3f}" for a in result.accuracy)
            print(f"trial {trial.trial_id} ({knob}={value}): clean {result.clean_accuracy:.3f}, "
                  f"robust {accuracies}")  # fmt: skip
    rows = []
    for value in sorted(groups):
        results = [r for _, r in groups[value]]
        rows.append(
            {
                "value": value,
                "trials": [trial_id for trial_id, _ in groups[value]],
                "clean_accuracy": _mean([r.clean_accuracy for r in results]),
                "accuracy": [_mean([r.accuracy[i] for r in results]) for i in range(len(test_eps))],
            }
        )
    best = {}
    for i, e in enumerate(test_eps):
        best[_key(e)] = max(rows, key=lambda r: r["accuracy"][i])["value"]
    out = {
        "knob": knob,
        "test_eps": test_eps,
        "protocol": protocol_name,
        "n_examples": n,
        "sanity_flags": sorted(flags),
        "rows": rows,
        "best": best,
    }
    if knob == "eps":
        out["over_under"] = _over_under(rows, test_eps)
    return out


def _over_under(rows, test_eps):
    """Accuracy lost against a test radius by training above it and below it."""
    by_value = {_key(r["value"]): r for r in rows}
    over, under, columns = [], [], {}
    for i, e in enumerate(test_eps):
        matched = by_value.get(_key(e))
        if matched is None:
            continue
        base = matched["accuracy"][i]
        column = {"matched": base, "over": [], "under": []}
        for row in rows:
            if math.isclose(row["value"], e):
                continue
            loss = base - row["accuracy"][i]
            side = "over" if row["value"] > e else "under"
            column[side].append({"train_eps": row["value"], "loss": loss})
            (over if side == "over" else under).append(loss)
        columns[_key(e)] = column
    diagonal = [
        _key(e) for e in test_eps if _key(e) in columns and math.isclose(
            max(r["accuracy"][test_eps.index(e)] for r in rows), columns[_key(e)]["matched"]
        )
    ]  # fmt: skip
    return {
        "columns": columns,
        "mean_loss_over": _mean(over) if over else None,
        "mean_loss_under": _mean(under) if under else None,
        "matched_is_best": diagonal,
    }


def format_trial_evaluation(result):
    """The result of `evaluate_trials` as a text table (rows: knob values; columns: test radii)."""
    knob, test_eps = result["knob"], result["test_eps"]
    header = [f"train {knob}", "clean"] + [f"eps={e:g}" for e in test_eps]
    body = []
    for row in result["rows"]:
        cells = [f"{row['value']:g}" if isinstance(row["value"], float) else str(row["value"])]
        cells.append(f"{row['clean_accuracy']:.3f}")
        for i, acc in enumerate(row["accuracy"]):
            star = "*" if result["best"][_key(test_eps[i])] == row["value"] else " "
            cells.append(f"{acc:.3f}{star}")
        body.append(cells)
    lines = [
        f"Robust accuracy by training {knob} (rows) and test l-inf eps (columns); protocol "
        f"'{result['protocol']}', {result['n_examples']} test examples; * = best in its column"
    ]
    lines.append(_grid(header, body))
    if result.get("sanity_flags"):
        lines.append(f"Sanity flags raised: {', '.join(result['sanity_flags'])}.")
    over_under = result.get("over_under")
    if over_under:
        lines.append(
            "Training at the test eps is best for test eps "
            f"{[float(k) for k in over_under['matched_is_best']]} of {test_eps}."
        )
        if over_under["mean_loss_over"] is not None and over_under["mean_loss_under"] is not None:
            lines.append(
                "Mean accuracy lost against training at the test eps: over-estimating (train eps > "
                f"test eps) {over_under['mean_loss_over']:+.3f}, under-estimating "
                f"{over_under['mean_loss_under']:+.3f}."
            )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ config runs
#: The keys of a `tfadv tune` config and their defaults.
DEFAULT_CONFIG = {
    "method": "pgdat",
    "model": "compact_cnn",
    "space": {},
    "tuner": "random",
    "tuner_options": {},
    "max_trials": 4,
    "epochs": 3,
    "batch_size": 64,
    "data": "embedded_mnist",
    "train_limit": None,
    "validation_size": 1000,
    "validation_limit": None,
    "attack_steps": 10,
    "ramp_epochs": 1.0,
    "eval_eps": 0.3,
    "eval_protocol": "quick",
    "objective_clean_weight": 0.0,
    "checkpoint": "best",
    "test_eps": None,
    "test_limit": None,
    "test_protocol": "quick",
    "directory": "artifacts/tune",
    "project_name": "search",
    "overwrite": False,
    "export": ["keras", "saved_model"],
    "seed": 0,
    "verbose": 1,
}


def check_config(config):
    """Validates a search config and returns it with every default filled in.

    Args:
        config: a dict with keys from `tfadv.tuning.DEFAULT_CONFIG` (all optional).

    Returns:
        A new dict with every key of `DEFAULT_CONFIG`.

    Raises:
        ValueError: an unknown key or a bad value, quoting it (the search space is validated by
            `tfadv.tuning.SearchSpace`).
    """
    if not isinstance(config, dict):
        raise TypeError(f"A search config is a dict (a JSON object). Received: config={config!r}")
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise ValueError(
            f"Unknown config key(s) {unknown}; the keys are {sorted(DEFAULT_CONFIG)}. "
            f"Received: {', '.join(f'{k}={config[k]!r}' for k in unknown)}"
        )
    merged = dict(DEFAULT_CONFIG)
    merged.update(config)
    SearchSpace(merged["space"], method=merged["method"], model=merged["model"])
    validation.check_choice("tuner", merged["tuner"], tuple(TUNERS))
    if not isinstance(merged["tuner_options"], dict):
        raise TypeError(
            f"`tuner_options` must be a dict. Received: tuner_options={merged['tuner_options']!r}"
        )
    if merged["max_trials"] is not None:
        validation.check_steps(merged["max_trials"], "max_trials")
    for key in ("epochs", "batch_size", "attack_steps"):
        validation.check_steps(merged[key], key)
    for key in ("train_limit", "validation_limit", "test_limit"):
        if merged[key] is not None:
            validation.check_steps(merged[key], key)
    validation.check_number("validation_size", merged["validation_size"], minimum=1, integer=True)
    validation.check_number("ramp_epochs", merged["ramp_epochs"], minimum=0.0)
    validation.check_eps(merged["eval_eps"], "eval_eps")
    check_clean_weight(merged["objective_clean_weight"], "objective_clean_weight")
    validation.check_choice("checkpoint", merged["checkpoint"], ("best", "last"))
    if merged["test_eps"] is not None:
        if not isinstance(merged["test_eps"], list) or not merged["test_eps"]:
            raise ValueError(
                "`test_eps` must be a non-empty list of radii or null. "
                f"Received: test_eps={merged['test_eps']!r}"
            )
        for e in merged["test_eps"]:
            validation.check_eps(e, "test_eps")
    export = merged["export"]
    if export is True:
        export = list(DEFAULT_CONFIG["export"])
    if export is False or export is None:
        export = []
    if not isinstance(export, list):
        raise ValueError(
            f"`export` must be a list of formats or a bool. Received: export={export!r}"
        )
    for fmt in export:
        validation.check_choice("export", fmt, ("keras", "saved_model", "onnx"))
    merged["export"] = export
    validation.check_choice("verbose", merged["verbose"], (0, 1, 2))
    return merged


def run_config(config, **overrides):
    """Runs the search a config describes, as `tfadv tune CONFIG` does.

    Loads the data (`tfadv.data.load_numpy`), builds a `SearchSpace` and an `AdvHyperModel`, runs
    `tfadv.tuning.search` (resuming from `directory/project_name` unless `overwrite`), prints and
    saves the table of trials, then, when `test_eps` is given, evaluates every trial at those test
    radii on the test split (`evaluate_trials`; saved as `trial_evaluation.json` / `.txt`), and
    exports the best classifier to `directory/project_name/best` (`export_best`). Everything goes
    to `directory/project_name`, with a `result.json` summing up the run.

    Config keys (see `tfadv.tuning.DEFAULT_CONFIG` for the defaults): `method`, `model`, `space`
    (the knobs, as for `SearchSpace`), `tuner` (`"random"`, `"bayesian"`, `"hyperband"`, `"grid"`),
    `tuner_options` (extra tuner arguments), `max_trials`, `epochs`, `batch_size`, `data`,
    `train_limit`, `validation_size`, `validation_limit`, `attack_steps`, `ramp_epochs`,
    `eval_eps`, `eval_protocol`, `objective_clean_weight`, `checkpoint` (`"best"` or `"last"`
    epoch of each trial), `test_eps`, `test_limit`,
    `test_protocol`, `directory`, `project_name`, `overwrite`, `export` (a list of formats, or a
    bool), `seed`, `verbose`.

    Args:
        config: a dict (or the path of a JSON file) describing the search.
        **overrides: config keys overriding the ones in `config`.

    Returns:
        A dict with the `tuner`, `best_hyperparameters`, `trials` (the summary rows),
        `trial_evaluation` (or `None`), `exports`, `seconds` and the full `config`.

    Example:

    ```python
    import tfadv.tuning

    result = tfadv.tuning.run_config(
        {
            "method": "trades",
            "space": {"eps": {"values": [0.2, 0.3]}, "beta": {"min": 1.0, "max": 6.0}},
            "max_trials": 4,
            "epochs": 3,
            "train_limit": 2000,
            "validation_limit": 500,
        }
    )
    result["best_hyperparameters"]
    ```
    """
    import keras

    from tfadv import data as tfadv_data

    if not isinstance(config, dict):
        with open(os.fspath(config), encoding="utf-8") as f:
            config = json.load(f)
    config = check_config({**config, **overrides})
    start = time.time()
    keras.utils.set_random_seed(config["seed"])
    split = dict(validation_size=config["validation_size"], seed=config["seed"])
    x, y = tfadv_data.load_numpy(config["data"], "train", limit=config["train_limit"], **split)
    val = tfadv_data.load_numpy(
        config["data"], "validation", limit=config["validation_limit"], **split
    )
    space = SearchSpace(config["space"], method=config["method"], model=config["model"])
    hypermodel = AdvHyperModel(
        space,
        input_shape=x.shape[1:],
        num_classes=int(max(y.max(), val[1].max()) + 1),
        attack_steps=config["attack_steps"],
        ramp_epochs=config["ramp_epochs"],
        eval_eps=config["eval_eps"],
        eval_protocol=config["eval_protocol"],
        objective_clean_weight=config["objective_clean_weight"],
        seed=config["seed"],
        checkpoint=config["checkpoint"],
    )
    if config["verbose"]:
        print(
            f"tfadv tune: {space.method} on {config['data']} ({len(x)} training, {len(val[1])} "
            f"validation examples), model {space.model}, {config['tuner']} search, "
            f"{config['max_trials'] or 'all'} trials x {config['epochs']} epochs"
        )
    tuner = search(
        hypermodel,
        x,
        y,
        validation_data=val,
        kind=config["tuner"],
        max_trials=config["max_trials"],
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        directory=config["directory"],
        project_name=config["project_name"],
        overwrite=config["overwrite"],
        seed=config["seed"],
        verbose=config["verbose"],
        **config["tuner_options"],
    )
    project = tuner.project_dir
    best = {k: _plain(v) for k, v in tuner.get_best_hyperparameters(1)[0].values.items()}
    print(f"Best hyperparameters: {json.dumps(best)}")
    evaluation = None
    if config["test_eps"]:
        test = tfadv_data.load_numpy(config["data"], "test", limit=config["test_limit"])
        evaluation = evaluate_trials(
            tuner, test, config["test_eps"], protocol=config["test_protocol"], seed=config["seed"]
        )
        text = format_trial_evaluation(evaluation)
        print(text)
        with open(os.path.join(project, "trial_evaluation.json"), "w", encoding="utf-8") as f:
            json.dump(evaluation, f, indent=2)
        with open(os.path.join(project, "trial_evaluation.txt"), "w", encoding="utf-8") as f:
            f.write(text + "\n")
    exports = {}
    if config["export"]:
        exports = export_best(tuner, os.path.join(project, "best"), formats=config["export"])
    seconds = time.time() - start
    result = {
        "config": config,
        "best_hyperparameters": best,
        "trials": trial_summary(tuner),
        "trial_evaluation": evaluation,
        "exports": exports,
        "seconds": round(seconds, 1),
    }
    with open(os.path.join(project, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, default=str)
    print(f"tfadv tune: done in {seconds:.0f} s; results in {project}")
    result["tuner"] = tuner
    return result


# ------------------------------------------------------------------------------- private helpers
def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    return value


def _key(eps):
    return f"{float(eps):g}"


def _mean(values):
    values = list(values)
    return float(sum(values) / len(values))


def _kind(tuner):
    for kind, cls in _KERAS_TUNERS.items():
        if isinstance(tuner, cls):
            return kind
    return type(tuner).__name__


def _protocol_name(protocol):
    if isinstance(protocol, str):
        return protocol
    name = getattr(protocol, "name", None)
    if name is not None:
        return name
    return "custom"


def _limit_text(hypermodel):
    return "" if hypermodel.eval_limit is None else f", first {hypermodel.eval_limit} examples"


def _columns(rows):
    columns = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns


def _format_cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(rows):
    if not rows:
        return "(no trials)"
    columns = _columns(rows)
    header = [c.replace("val_", "") if c.startswith("val_") else c for c in columns]
    body = [[_format_cell(row.get(c)) for c in columns] for row in rows]
    return _grid(header, body)


def _grid(header, body):
    widths = [max(len(str(x)) for x in column) for column in zip(header, *body)]
    buffer = io.StringIO()
    buffer.write("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip() + "\n")
    buffer.write("  ".join("-" * w for w in widths) + "\n")
    for cells in body:
        buffer.write("  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip() + "\n")
    return buffer.getvalue().rstrip("\n")
