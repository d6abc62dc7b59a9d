"""`tune`: a recipe's `search` section, run as Keras Tuner trials that are `tfadv train` runs."""

import csv
import functools
import json
import os
import shutil

import keras
import keras_tuner
from keras_tuner.src.tuners import gridsearch

from tfadv.evaluation.loading import load_model
from tfadv.evaluation.sweep import SweepResult, sweep
from tfadv.experiment import build, runner
from tfadv.experiment import config as config_lib
from tfadv.experiment.run_state import RunState, read_json, write_json_atomic, write_text
from tfadv.experiment.workdir import CHECKPOINTS
from tfadv.tuning.space import parse_space, with_values
from tfadv.utils import validation
from tfadv.utils.registry import Registry

SMOKE_MAX_TRIALS = 2  # the most trials a `--smoke` search runs
CONFIG_FILE = "tune_config.json"
_TUNER_ID = "tfadv"


class _GridOracle(keras_tuner.oracles.GridSearchOracle):
    """Keras Tuner 1.4's grid oracle keeps its place in the grid out of its saved state, so a
    reloaded grid search finds no next point and stops; this one rebuilds it from the trials."""

    def set_state(self, state):
        super().set_state(state)
        values = {i: self.trials[i].hyperparameters.values for i in self.start_order}
        order = functools.cmp_to_key(lambda a, b: self._compare(values[a], values[b]))
        self._ordered_ids = gridsearch.LinkedList()
        for trial_id in sorted(values, key=order):
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(self.end_order)


#: Keras Tuner's oracles by `search.tuner` name: `(max_trials, config, common arguments)` to an oracle.
TUNERS = Registry("tuner", ordered=True)
TUNERS.register(
    lambda n, config, common: keras_tuner.oracles.RandomSearchOracle(max_trials=n, **common),
    name="random",
)
TUNERS.register(
    lambda n, config, common: keras_tuner.oracles.BayesianOptimizationOracle(
        max_trials=n, **common
    ),
    name="bayesian",
)
TUNERS.register(lambda n, config, common: _hyperband(n, config, common), name="hyperband")
TUNERS.register(lambda n, config, common: _GridOracle(max_trials=n, **common), name="grid")


def tune(config, *, overwrite=False, smoke=False, command="tfadv tune"):
    """Runs the search of `config.search`: each trial a run of `config` with the trial's values.

    Keras Tuner's oracle (`search.tuner`) picks each trial's values of `search.space`
    (`tfadv.tuning.space`; Hyperband also its `epochs`); `tfadv.experiment.train` runs the trial
    into `WORKDIR/trials/ID`, scored by `validation.monitor` (`"last"`: the last epoch's
    `val_adv_accuracy`). WORKDIR receives `trials.csv|json|txt`, `best.json` and, with
    `search.test_eps`, `test_eps.txt|json` (every trial's classifier at those radii). Rerunning
    resumes: finished trials are kept, an interrupted one resumes through the runner.

    Args:
        config: a resolved recipe `ConfigDict` with a `search` section.
        overwrite: start afresh in a folder that holds a search. Defaults to `False`.
        smoke: run at most `SMOKE_MAX_TRIALS` trials (of a config `parse(..., smoke=True)`
            shrank). Defaults to `False`.
        command: the command line, for the resume hint. Defaults to `"tfadv tune"`.

    Returns:
        `0` when finished, `130` when interrupted.
    """
    _check_search(config)
    search = config.search
    dimensions = parse_space(config)
    max_trials = min(search.max_trials, SMOKE_MAX_TRIALS) if smoke else search.max_trials
    workdir = _prepare(config, overwrite)
    monitor = config.validation.monitor
    objective = keras_tuner.Objective("val_adv_accuracy" if monitor == "last" else monitor, "max")
    oracle = _oracle(search.tuner, objective, max_trials, config, dimensions)
    oracle._set_project_dir(workdir, "oracle")  # Keras Tuner's tuners call it the same way
    if os.path.exists(os.path.join(workdir, "oracle", "oracle.json")):
        oracle.reload()
    print(
        f"tfadv tune: {search.tuner} search over {', '.join(d.path for d in dimensions)}, "
        f"at most {max_trials} trials, objective {objective.name}"
        f"{' (last epoch)' if monitor == 'last' else ''} -> {config.workdir}",
        flush=True,
    )
    while True:
        trial = oracle.create_trial(_TUNER_ID)
        if trial.status != "RUNNING":  # "STOPPED": the oracle has no more trials
            break
        values = _trial_values(dimensions, trial.hyperparameters.values)
        folder = os.path.join(config.workdir, "trials", trial.trial_id)
        described = ", ".join(f"{path}={value}" for path, value in values.items())
        print(f"tfadv tune: trial {trial.trial_id} ({described}) -> {folder}", flush=True)
        if not os.path.exists(os.path.join(folder, "summary.json")):
            keras.backend.clear_session()
            run = with_values(config, {**values, "workdir": folder})
            if runner.train(run, overwrite=False, command=command):
                print(f"tfadv tune: interrupted; resume the search with: {command}", flush=True)
                return runner.INTERRUPTED
        state = RunState.load(os.path.join(folder, CHECKPOINTS))
        score = state.history[-1]["val_adv_accuracy"] if monitor == "last" else state.best_score
        oracle.update_trial(trial.trial_id, {objective.name: score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        oracle.save()  # `end_trial` saves before it drops the trial from the ongoing ones
        print(f"tfadv tune: trial {trial.trial_id}: {objective.name} {score:.4f}", flush=True)
    rows = _trials_table(oracle, dimensions, objective.name, config, workdir)
    if search.get("test_eps") and rows:
        _test_eps_matrix(config, search, rows, dimensions, workdir)
    return 0


def _check_search(config):
    """The rules of a search beyond the schema's (`parse_space` checks the fields)."""
    if "search" not in config:
        raise ValueError(
            "The recipe has no `search` section (tuner, max_trials, space, test_eps, test_limit); "
            "see recipes/tuning/mnist_tune.py. Received: a config without `search`"
        )
    search = config.search
    for eps in search.get("test_eps") or ():
        validation.check_eps(eps, "search.test_eps")
    if not config.data.validation_size:
        raise ValueError(
            "A search scores every trial on its validation split: set data.validation_size > 0. "
            "Received: data.validation_size=0"
        )
    if config.distribution.strategy == "multi_worker":
        raise ValueError(
            "`tfadv tune` runs its trials in one process; use the default, mirrored or tpu "
            "strategy. Received: distribution.strategy='multi_worker'"
        )
    if search.tuner == "hyperband" and "epochs" in search.space:
        raise ValueError(
            "Hyperband sets every trial's epochs (up to the recipe's `epochs`); remove `epochs` "
            f"from the space. Received: search.space.epochs={search.space.epochs!r}"
        )


def _prepare(config, overwrite):
    """Creates the search folder, or checks that it holds a search of the same config."""
    workdir = os.path.abspath(config.workdir)
    stored, plain = os.path.join(workdir, CONFIG_FILE), config_lib.to_plain(config)
    if os.path.isdir(workdir) and os.listdir(workdir):
        if not os.path.exists(stored):
            raise ValueError(
                "The output folder is not empty and holds no tfadv search (no tune_config.json); "
                f"choose another --config.workdir. Received: workdir={config.workdir!r}"
            )
        if overwrite:
            shutil.rmtree(workdir)
        else:
            old = read_json(stored, "stored search config")
            for values in (old, plain):  # they change no trial (more trials extend the search)
                for field in ("max_trials", "test_eps", "test_limit"):
                    values.get("search", {}).pop(field, None)
            changed = config_lib.differences(old, plain)
            if changed:
                raise ValueError(
                    f"{config.workdir} holds a search made with another config "
                    f"({'; '.join(changed)}). Rerun with the same config to resume it, pass "
                    "--overwrite to start afresh, or choose another --config.workdir."
                )
    os.makedirs(workdir, exist_ok=True)
    write_json_atomic(stored, config_lib.to_plain(config))
    return workdir


def _oracle(tuner, objective, max_trials, config, dimensions):
    hp = keras_tuner.HyperParameters()
    for dimension in dimensions:
        dimension.declare(hp)
    common = {"objective": objective, "seed": config.seed, "hyperparameters": hp}
    oracle = TUNERS[tuner](max_trials, config, common)
    oracle.verbose = 0  # the search prints its own lines
    return oracle


def _hyperband(max_trials, config, common):
    oracle = keras_tuner.oracles.HyperbandOracle(max_epochs=config.epochs, **common)
    oracle.max_trials = max_trials  # Hyperband takes no max_trials; the base oracle honours it
    return oracle


def _trials_table(oracle, dimensions, objective, config, workdir):
    """Writes `trials.csv|json|txt` and `best.json`; returns the completed trials' rows."""
    rows = []
    for trial_id in oracle.start_order:
        trial, folder = oracle.trials[trial_id], os.path.join(config.workdir, "trials", trial_id)
        report = _read_json(os.path.join(folder, "summary.json")).get("report", {})
        rows.append({
            "trial": trial_id, "status": trial.status,
            **_trial_values(dimensions, trial.hyperparameters.values), objective: trial.score,
            "test_clean_accuracy": report.get("clean_accuracy"),
            "test_robust_accuracy": report.get("robust_accuracy"), "run_folder": folder,
        })  # fmt: skip
    ev = config.evaluation
    title = (
        f"Trials ({objective}: validation; test accuracy: protocol '{ev.protocol}' at "
        f"{ev.norm} eps {ev.eps:g} on each run's test examples)"
    )
    columns = list(rows[0]) if rows else ["trial"]  # every trial has the same fields
    text = _grid(columns, [list(r.values()) for r in rows])
    write_text(workdir, "trials.txt", f"{title}\n{text}\n")
    write_json_atomic(os.path.join(workdir, "trials.json"), rows)
    with open(os.path.join(workdir, "trials.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{title}\n{text}", flush=True)
    completed = [r for r in rows if r["status"] == "COMPLETED"]
    if completed:
        best = max(completed, key=lambda r: r[objective])
        outputs = _read_json(os.path.join(best["run_folder"], "summary.json")).get("outputs", {})
        write_json_atomic(os.path.join(workdir, "best.json"), {**best, "outputs": outputs})
        print(
            f"tfadv tune: best trial {best['trial']} ({objective} {best[objective]:.4f}); "
            f"its classifier: {os.path.join(best['run_folder'], 'classifier.keras')}",
            flush=True,
        )
    return completed


def _test_eps_matrix(config, search, rows, dimensions, workdir):
    """Evaluates every trial's classifier at `search.test_eps`; writes `test_eps.txt|json`."""
    ev, eps = config.evaluation, sorted(float(e) for e in search.test_eps)
    limit = ev.limit if search.get("test_limit") is None else search.test_limit
    x, y = build.load_data(with_values(config, {"evaluation.limit": limit})).test
    results = []
    for row in rows:
        path = os.path.join(row["run_folder"], "test_eps.json")  # kept: a rerun reuses it
        result = SweepResult.from_json(path) if os.path.exists(path) else None
        if result is None or (result.eps, result.protocol, result.norm, result.n_examples) != (
            eps, ev.protocol, ev.norm, len(y)
        ):  # fmt: skip
            model = load_model(os.path.join(row["run_folder"], "classifier.keras"))
            result = sweep(
                model, (x, y), eps, attacks=ev.protocol, norm=ev.norm,
                batch_size=ev.batch_size, seed=config.seed, json_path=path,
            )  # fmt: skip
        results.append(result)
    best = [max(range(len(rows)), key=lambda i: results[i].accuracy[j]) for j in range(len(eps))]
    version = f" v{results[0].protocol_version}" if results[0].protocol_version else ""
    title = (
        f"Robust accuracy of each trial's classifier (rows) at each test eps (columns); protocol "
        f"'{results[0].protocol}{version}', {ev.norm}, {len(y)} test examples; "
        "* = best in its column"
    )
    paths = [d.path for d in dimensions]
    body = [
        [row["trial"], *[row[p] for p in paths], f"{result.clean_accuracy:.3f}"]
        + [f"{a:.3f}{'*' if best[j] == i else ' '}" for j, a in enumerate(result.accuracy)]
        for i, (row, result) in enumerate(zip(rows, results))
    ]
    text = _grid(["trial", *paths, "clean", *[f"eps={e:g}" for e in eps]], body)
    print(f"{title}\n{text}", flush=True)
    write_text(workdir, "test_eps.txt", f"{title}\n{text}\n")
    matrix = {
        "test_eps": eps, "protocol": results[0].protocol,
        "protocol_version": results[0].protocol_version, "norm": ev.norm, "n_examples": len(y),
        "rows": [
            {"trial": row["trial"], **{p: row[p] for p in paths},
             "clean_accuracy": result.clean_accuracy, "accuracy": result.accuracy,
             "sanity_flags": result.flagged}
            for row, result in zip(rows, results)
        ],
        "best": {f"{e:g}": rows[i]["trial"] for e, i in zip(eps, best)},
    }  # fmt: skip
    write_json_atomic(os.path.join(workdir, "test_eps.json"), matrix)


def _trial_values(dimensions, hp_values):
    """A trial's config values: its point in the space and, under Hyperband, its `epochs`."""
    values = {d.path: d.value(hp_values) for d in dimensions}
    if "tuner/epochs" in hp_values:  # Hyperband's budget for the trial
        values["epochs"] = hp_values["tuner/epochs"]
    return values


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _grid(header, body):
    """A left-aligned text table: the header, a rule, then one line per row."""
    cell = lambda v: "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
    cells = [[cell(v) for v in row] for row in [header, *body]]
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
