"""A search's results: the table of its trials (printed and saved) and its best classifier.

`trial_summary` gives one row per trial, `format_summary` the table as text and `save_summary`
writes it as CSV, JSON and text; `best_classifier` and `export_best` give the best trial's
network, in memory or exported for deployment.
"""

import csv
import json
import os

from tfadv.tuning._keras_tuner_fixes import tuner_kind
from tfadv.tuning._text import columns, format_cell, grid, plain
from tfadv.tuning.adv_hyper_model import AdvHyperModel
from tfadv.utils import validation

_METRICS = ("val_clean_accuracy", "val_robust_accuracy", "val_weighted_accuracy")
_HIDDEN_HPS = ("tuner/bracket", "tuner/round")


def trial_summary(tuner):
    """One row per trial, best first: its id, status, hyperparameters, best epoch and accuracies.

    Each row is a dict with `trial_id`, `status`, one entry per hyperparameter (Hyperband adds
    `tuner/epochs`, `tuner/initial_epoch` and `tuner/trial_id`), `best_epoch` (1-based; `"last"`
    for an `AdvHyperModel(checkpoint="last")`) and, at that epoch, `score` (the objective) and the
    validation accuracies that exist (`val_clean_accuracy`, `val_robust_accuracy`,
    `val_weighted_accuracy`). Completed trials come first, sorted by score (best first).

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
                row[name] = plain(value)
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
        f"Search '{tuner.project_name}' ({tuner_kind(tuner)}): {len(rows)} trials, {completed} "
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
    names = columns(rows)
    with open(paths["csv"], "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=names)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c) for c in names})
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
        json.dump({k: plain(v) for k, v in values.items()}, f, indent=2)
    return written


def _protocol_name(protocol):
    if isinstance(protocol, str):
        return protocol
    name = getattr(protocol, "name", None)
    if name is not None:
        return name
    return "custom"


def _limit_text(hypermodel):
    return "" if hypermodel.eval_limit is None else f", first {hypermodel.eval_limit} examples"


def _table(rows):
    if not rows:
        return "(no trials)"
    names = columns(rows)
    header = [c.replace("val_", "") if c.startswith("val_") else c for c in names]
    body = [[format_cell(row.get(c)) for c in names] for row in rows]
    return grid(header, body)
