"""`run_table`: a seed experiment as one command, rows of recipes trained and tabulated.

Every row of a table config (`tfadv.experiment.table_config`) is resolved and checked before the
first trains; each is a `tfadv train` run in `<workdir>/<row key>` (an interrupted table resumes
row by row; a finished row is reused), then `tfadv.experiment.table_report` writes the table.
"""

import dataclasses
import os
import re

import keras
import ml_collections

from tfadv.attacks import ATTACKS
from tfadv.evaluation import evaluate, get_protocol, load_model
from tfadv.experiment import config as config_lib
from tfadv.experiment import table_report
from tfadv.experiment.build import load_data
from tfadv.experiment.checks import check_config
from tfadv.experiment.run_state import write_json_atomic
from tfadv.experiment.runner import train
from tfadv.experiment.table_report import EVALUATIONS_FILE
from tfadv.utils import validation

#: Where an unknown field of a table config sends the reader.
HELP = "table_config.py lists a table's fields; --config.common.FIELD only for fields `common` sets"
_ROW_FIELDS = {"key", "label", "recipe", "overrides"}
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclasses.dataclass(frozen=True)
class TableRow:
    """One row of a table, resolved: `key` (its folder: `base`, the key of the table config's
    row, with the swept `value` after a sweep), `label`, `recipe`, `overrides` (`FIELD=VALUE`
    strings, the sweep's last) and `config` (the resolved, checked experiment config)."""

    key: str
    label: str
    recipe: str
    base: str
    value: object
    overrides: tuple
    config: ml_collections.ConfigDict


def load(path, overrides=(), *, smoke=False):
    """`(table, rows)`: the table config `path` (with `--config.FIELD=VALUE` `overrides`) and
    its `TableRow`s; `smoke`: each row for one epoch on a few examples, into `WORKDIR_smoke`."""
    table, overridden = config_lib.parse(path, overrides, kind="table config", fields_help=HELP)
    _check_table(table)
    workdir = table.workdir.rstrip("/") + "_smoke" * (smoke and "workdir" not in overridden)
    recipes = os.path.dirname(os.path.dirname(os.path.abspath(path.partition(":")[0])))
    field = table.sweep.field
    rows = []
    for spec in table.rows:
        for value in table.sweep.points if field else (None,):
            own = (*spec.overrides, *([f"{field}={value}"] if field else []))
            key = f"{spec.key}_{field.rsplit('.', 1)[-1]}_{value}" if field else spec.key
            folder = os.path.join(workdir, key)
            config = _row_config(table, key, spec.recipe, own, recipes, folder, smoke)
            rows.append(TableRow(key, spec.label, spec.recipe, spec.key, value, own, config))
    for key, spec in table.evaluations.items():
        build_evaluation(key, spec)
    return table, rows


def _require(ok, message):
    if not ok:
        raise ValueError(message)


def _check_table(table):
    for name in ("workdir", "title", "claim"):
        value = table[name]
        ok = isinstance(value, str) and value.strip()
        _require(ok, f"A table config needs a non-empty `{name}`. Received: {name}={value!r}")
    _require(table.rows, "A table config needs at least one row. Received: rows=()")
    keys = [getattr(spec, "key", None) for spec in table.rows]
    for spec, key in zip(table.rows, keys):
        ok = isinstance(spec, ml_collections.ConfigDict) and set(spec) == _ROW_FIELDS
        _require(ok, f"Each row must be table_config.row(...). Received: {spec!r}")
        ok = _KEY.match(str(key)) and keys.count(key) == 1
        _require(ok, f"Row keys name folders: [A-Za-z0-9_.-], no repeats. Received: key={key!r}")
    sweep = table.sweep
    _require(
        bool(sweep.field) == bool(len(sweep.points)),
        "A sweep needs both a field and its values. "
        f"Received: sweep.field={sweep.field!r}, sweep.points={tuple(sweep.points)!r}",
    )


def _row_config(table, key, recipe, overrides, recipes, workdir, smoke):
    """The recipe < `common` < the row's overrides; under `--smoke`, the full run's config is
    checked, then < `SMOKE` < the recipe's `smoke` < the table's `smoke` < the row's overrides,
    and at most one epoch (a row's own `epochs` too)."""
    arguments = [f"--config.{override}" for override in overrides]
    try:
        config, overridden = config_lib.parse(os.path.join(recipes, recipe), arguments)
        own = {field: config_lib.get_field(config, field) for field in overridden}

        def apply(*layers):
            for where, values in layers:
                for field, value in values.items():
                    config_lib.set_field(config, field, value, where=where)

        apply(("common.", table.common.to_dict()), ("", own))
        config.workdir = workdir
        if smoke:
            check_config(config)  # --smoke refuses what the full run refuses
            recipe_smoke = ("the recipe's smoke.", config.smoke.to_dict())
            apply(("--smoke's ", config_lib.SMOKE), recipe_smoke, ("smoke.", table.smoke.to_dict()))
            apply(("", own))
            config.epochs = min(config.epochs, config_lib.SMOKE["epochs"])
        check_config(config)
    except (ValueError, TypeError, KeyError, AttributeError, OSError) as error:
        message = " ".join(str(error).strip("\"'").split())
        raise ValueError(f"Row {key!r} ({recipe}): {message}") from None
    return config


def build_evaluation(key, spec):
    """The protocol name or the attack of the extra evaluation `key` (checked; errors name it)."""
    try:
        validation.check_eps(spec.eps, "eps")
        validation.check_choice("norm", spec.norm, ("linf", "l2"))
        _require(
            bool(spec.attack) != bool(spec.protocol),
            "give exactly one of `attack` (a tfadv.attacks name) and `protocol`. "
            f"Received: attack={spec.attack!r}, protocol={spec.protocol!r}",
        )
        if spec.protocol:
            get_protocol(spec.protocol)
            return spec.protocol
        return ATTACKS.get(spec.attack)(eps=spec.eps, norm=spec.norm, **dict(spec.kwargs))
    except (ValueError, TypeError) as error:
        raise ValueError(f"Evaluation {key!r}: {' '.join(str(error).split())}") from None


def run_table(
    path, overrides=(), *, smoke=False, overwrite=False, command="tfadv table", say=print
):
    """Trains every row of a table config (as `load` reads it), runs its evaluations, writes and
    prints the table; `overwrite` retrains every row, `command` heads the table, `say` prints.
    Returns `0`, or the status of a row's run that stopped (`130`: interrupted; rerun to resume).
    """
    table, rows = load(path, overrides, smoke=smoke)
    workdir = os.path.dirname(rows[0].config.workdir)
    os.makedirs(workdir, exist_ok=True)
    write_json_atomic(os.path.join(workdir, "table_config.json"), config_lib.to_plain(table))
    for number, row in enumerate(rows, 1):
        say(f"tfadv table: row {number}/{len(rows)} {row.key} ({row.label})")
        if not overwrite and _finished(row.config):
            say(f"  finished earlier, reused: {row.config.workdir}")
        else:
            keras.backend.clear_session()
            status = train(row.config, overwrite=overwrite, command=command)
            if status:
                return status
        _evaluate(table, row, say)
    say(table_report.write(table, rows, workdir, command=command, smoke=smoke))
    return 0


def _finished(config):
    """Whether `config.workdir` holds a finished run (`summary.json`) of this very config."""
    if not os.path.exists(os.path.join(config.workdir, "summary.json")):
        return False
    stored = table_report.read_json(os.path.join(config.workdir, "config.json"))
    return stored is not None and not config_lib.differences(stored, config_lib.to_plain(config))


def _evaluate(table, row, say):
    """Runs the table's extra evaluations on the row's kept classifier, cached in its folder."""
    config = row.config
    cache_path = os.path.join(config.workdir, EVALUATIONS_FILE)
    cache = table_report.read_json(cache_path) or {}
    specs = {key: config_lib.to_plain(spec) for key, spec in table.evaluations.items()}
    pending = [key for key, spec in specs.items() if cache.get(key, {}).get("spec") != spec]
    if not pending:
        return
    classifier = load_model(os.path.join(config.workdir, "classifier.keras"))
    test = load_data(config).test
    for key in pending:
        spec = table.evaluations[key]
        protocol = build_evaluation(key, spec)
        protocol = protocol if isinstance(protocol, str) else [(spec.label, protocol)]
        options = {"batch_size": config.evaluation.batch_size, "checks": False, "seed": config.seed}
        report = evaluate(
            classifier, test, eps=spec.eps, norm=spec.norm, protocol=protocol, **options
        )
        result = report.to_dict()
        result.pop("per_example", None)
        cache[key] = {"spec": specs[key], "report": result}
        write_json_atomic(cache_path, cache)
        say(f"  {spec.label}: {report.robust_accuracy:.2%} ({report.seconds:.0f} s)")
