"""`run_table`: a seed experiment as one command, rows of recipes trained and tabulated.

A table config (`recipes/tables/*.py`, an `ml_collections` file read like a recipe) names a
`workdir`, a `title`, the seed's `claim`, a `common` partial config merged into every row's recipe
(the budget: epochs, data and evaluation limits), the ordered `rows` (a recipe under `recipes/` and
its `FIELD=VALUE` overrides each), optional extra `evaluations` (a registry attack or a protocol at
an epsilon and norm, applied to every trained row), an optional `sweep` (a field and its values:
each row once per value, plotted against it) and `curves` (per-epoch validation robust accuracy of
every row, plotted). `tfadv.experiment.table_config` builds those fields.

Every row is resolved and checked before the first one trains; each trains with
`tfadv.experiment.train` into `<workdir>/<row key>` (so an interrupted table resumes row by row,
with the runner's resume and refuse-another-config rules), and a row finished earlier is reused.
"""

import json
import os
import re

import ml_collections

from tfadv.experiment import config as config_lib
from tfadv.experiment import table_report
from tfadv.experiment.checks import check_config
from tfadv.experiment.run_state import write_json_atomic

#: Where an unknown field of a table config sends the reader.
FIELDS_HELP = (
    "a table config has workdir, title, claim, common, rows, evaluations, sweep, curves and "
    "smoke; --config.common.FIELD overrides only the fields its `common` lists"
)
#: The file in each row's folder that caches the table's extra evaluations.
EVALUATIONS_FILE = table_report.EVALUATIONS_FILE
_ROW_FIELDS = {"key", "label", "recipe", "overrides"}
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load(path, overrides=(), *, smoke=False):
    """Reads a table config and resolves every row's experiment config, checking all of it.

    Args:
        path: the table config file.
        overrides: `--config.FIELD=VALUE` arguments (e.g. `--config.common.epochs=20`).
        smoke: every row for one epoch on a few examples (the recipe's `--smoke`), into
            `WORKDIR_smoke`.

    Returns:
        `(table, rows)`: the table `ConfigDict` and one dict per row (`key`, `label`, `recipe`,
        `overrides`, `base` (the row key before the sweep), `value` (the swept value or `None`),
        `config` (the resolved, checked experiment config)).
    """
    table, overridden = config_lib.parse(
        path, overrides, kind="table config", fields_help=FIELDS_HELP
    )
    _check_table(table)
    workdir = table.workdir.rstrip("/")
    if smoke and "workdir" not in overridden:
        workdir += "_smoke"
    recipes = os.path.dirname(os.path.dirname(os.path.abspath(path.split(":", 1)[0])))
    rows = []
    for spec in table.rows:
        for value in table.sweep.points if table.sweep.field else (None,):
            overrides = tuple(spec.overrides)
            key = spec.key
            if value is not None:
                overrides += (f"{table.sweep.field}={value}",)
                key = f"{spec.key}_{table.sweep.field.rsplit('.', 1)[-1]}_{value}"
            entry = {"key": key, "label": spec.label, "recipe": spec.recipe, "base": spec.key}
            entry.update(overrides=overrides, value=value)
            entry["config"] = _row_config(table, entry, recipes, workdir, smoke)
            rows.append(entry)
    for key, spec in table.evaluations.items():
        build_evaluation(key, spec)
    return table, rows


def _check_table(table):
    for field in ("workdir", "title", "claim"):
        if not isinstance(table[field], str) or not table[field].strip():
            raise ValueError(
                f"A table config needs a non-empty `{field}`. Received: {field}={table[field]!r}"
            )
    if not table.rows:
        raise ValueError("A table config needs at least one row. Received: rows=()")
    keys = []
    for spec in table.rows:
        if not isinstance(spec, ml_collections.ConfigDict) or set(spec) != _ROW_FIELDS:
            raise ValueError(
                "Each row must be `row(key, label, recipe, *overrides)` (from "
                f"tfadv.experiment.table_config). Received: {spec!r}"
            )
        if not _KEY.match(str(spec.key)) or spec.key in keys:
            raise ValueError(
                "Row keys name folders: letters, digits, `_`, `.`, `-`, and no repeats. "
                f"Received: key={spec.key!r}"
            )
        keys.append(spec.key)
    sweep = table.sweep
    if bool(sweep.field) != bool(len(sweep.points)):
        raise ValueError(
            "A sweep needs both a field and its values. "
            f"Received: sweep.field={sweep.field!r}, sweep.points={tuple(sweep.points)!r}"
        )


def _row_config(table, entry, recipes, workdir, smoke):
    """The row's experiment config: recipe < common < row overrides (< smoke, then the row's).

    Under `--smoke` a row's own `epochs` is capped at the smoke's one epoch as well.
    """
    name = f"Row {entry['key']!r} ({entry['recipe']})"
    path = os.path.join(recipes, entry["recipe"])
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{name} names no recipe file (recipes are relative to {recipes}). "
            f"Received: recipe={entry['recipe']!r}"
        )
    arguments = [f"--config.{override}" for override in entry["overrides"]]
    try:
        config, overridden = config_lib.parse(path, arguments)
        values = {field: _get(config, field) for field in overridden}
        _merge(config, table.common.to_dict(), "common.", skip=set(overridden))
        if smoke:
            _merge(config, config_lib.SMOKE, "--smoke's ")
            _merge(config, config.smoke.to_dict(), "the recipe's smoke.")
            _merge(config, table.smoke.to_dict(), "smoke.")
            _merge(config, _nest(values), "")
            config.epochs = min(config.epochs, config_lib.SMOKE["epochs"])  # seconds, always
        config.workdir = os.path.join(workdir, entry["key"])
        check_config(config)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        message = " ".join(str(error).strip("\"'").split())
        raise ValueError(f"{name}: {message}") from None
    return config


def _get(config, field):
    for part in field.split("."):
        config = config[part]
    return config


def _nest(values):
    nested = {}
    for field, value in values.items():
        *parents, leaf = field.split(".")
        node = nested
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return nested


def _merge(config, values, where, skip=(), path=""):
    """Sets `values` (nested dicts) on existing fields of `config` except the `skip` paths."""
    for key, value in values.items():
        field = f"{path}{key}"
        if key not in config:
            raise ValueError(
                f"`{where}{field}` names no field of the recipe. Received: {where}{field}={value!r}"
            )
        if isinstance(value, dict) and isinstance(config[key], ml_collections.ConfigDict):
            _merge(config[key], value, where, skip, f"{field}.")
        elif field not in skip:
            config[key] = value


def build_evaluation(key, spec):
    """The protocol name or the attack of an extra evaluation (checked); errors name it."""
    import tfadv
    from tfadv.utils import validation

    name = f"Evaluation {key!r}"
    try:
        validation.check_eps(spec.eps, "eps")
        validation.check_choice("norm", spec.norm, ("linf", "l2"))
        if bool(spec.attack) == bool(spec.protocol):
            raise ValueError(
                "give exactly one of `attack` (a tfadv.attacks name) and `protocol`. "
                f"Received: attack={spec.attack!r}, protocol={spec.protocol!r}"
            )
        if spec.protocol:
            tfadv.evaluation.get_protocol(spec.protocol)
            return spec.protocol
        return tfadv.attacks.get(spec.attack)(eps=spec.eps, norm=spec.norm, **dict(spec.kwargs))
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name}: {' '.join(str(error).split())}") from None


def run_table(
    path, overrides=(), *, smoke=False, overwrite=False, command="tfadv table", say=print
):
    """Trains every row of a table config, runs its evaluations, writes and prints the table.

    Args:
        path: the table config file.
        overrides: `--config.FIELD=VALUE` arguments.
        smoke: one epoch on a few examples per row, into `WORKDIR_smoke`. Defaults to `False`.
        overwrite: retrain every row afresh. Defaults to `False`.
        command: the command line, written at the top of the table. Defaults to `"tfadv table"`.
        say: where progress lines go. Defaults to `print`.

    Returns:
        `0` when the table is written, `130` when a row was interrupted (rerun to resume).
    """
    import keras

    from tfadv.experiment.runner import train

    table, rows = load(path, overrides, smoke=smoke)
    workdir = os.path.dirname(rows[0]["config"].workdir)
    os.makedirs(workdir, exist_ok=True)
    write_json_atomic(os.path.join(workdir, "table_config.json"), config_lib.to_plain(table))
    for number, entry in enumerate(rows, 1):
        config = entry["config"]
        say(f"tfadv table: row {number}/{len(rows)} {entry['key']} ({entry['label']})")
        if not overwrite and _finished(config):
            say(f"  finished earlier, reused: {config.workdir}")
        else:
            keras.backend.clear_session()
            status = train(config, overwrite=overwrite, command=command)
            if status:
                return status
        _evaluate(table, entry, say)
    results = [table_report.collect(entry) for entry in rows]
    text = table_report.write(table, rows, results, workdir, command=command, smoke=smoke)
    say(text)
    return 0


def _finished(config):
    """Whether `config.workdir` holds a finished run (`summary.json`) of this very config."""
    folder = config.workdir
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as handle:
            stored = json.load(handle)
    except (OSError, ValueError):
        return False
    same = not config_lib.differences(stored, config_lib.to_plain(config))
    return same and os.path.exists(os.path.join(folder, "summary.json"))


def _evaluate(table, entry, say):
    """Runs the table's extra evaluations on the row's kept classifier (cached in its folder)."""
    if not table.evaluations:
        return
    import tfadv
    from tfadv.experiment import build

    config = entry["config"]
    cache_path = os.path.join(config.workdir, EVALUATIONS_FILE)
    cache = table_report.read_json(cache_path) or {}
    pending = {
        key: spec
        for key, spec in table.evaluations.items()
        if cache.get(key, {}).get("spec") != config_lib.to_plain(spec)
    }
    if not pending:
        return
    classifier = tfadv.evaluation.load_model(os.path.join(config.workdir, "classifier.keras"))
    test = build.load_data(config).test
    for key, spec in pending.items():
        protocol = build_evaluation(key, spec)
        report = tfadv.evaluation.evaluate(
            classifier,
            test,
            eps=spec.eps,
            norm=spec.norm,
            protocol=protocol if isinstance(protocol, str) else [(spec.label, protocol)],
            batch_size=config.evaluation.batch_size,
            checks=False,
            seed=config.seed,
        )
        result = report.to_dict()
        result.pop("per_example", None)
        cache[key] = {"spec": config_lib.to_plain(spec), "report": result}
        write_json_atomic(cache_path, cache)
        say(f"  {spec.label}: {report.robust_accuracy:.2%} ({report.seconds:.0f} s)")
