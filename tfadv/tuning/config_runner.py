"""Config-driven searches: `DEFAULT_CONFIG`, `check_config` and `run_config` (`tfadv tune CONFIG`).

A config names the search (method, model, space, tuner), its data, its validation and test
protocols and its output folder. Every default is read from the signature of the function that
the key is passed to (`SearchSpace`, `make_tuner`, `search`, `tfadv.data.load_numpy`,
`AdvHyperModel`, `evaluate_trials`, `export_best`), except the few where a config run chooses
otherwise, and `check_config` validates a config once, before anything is loaded or trained.
"""

import inspect
import json
import os
import time

from tfadv.data import load_numpy
from tfadv.tuning._keras_tuner_fixes import TUNERS
from tfadv.tuning._text import plain
from tfadv.tuning.adv_hyper_model import AdvHyperModel
from tfadv.tuning.results import export_best, trial_summary
from tfadv.tuning.search_space import SearchSpace
from tfadv.tuning.trial_evaluation import evaluate_trials, format_trial_evaluation
from tfadv.tuning.tuners import make_tuner, search
from tfadv.utils import validation

#: Config keys passed to `AdvHyperModel` under their own names (with `seed`).
_HYPERMODEL_KEYS = (
    "attack_steps",
    "ramp_epochs",
    "eval_eps",
    "eval_protocol",
    "objective_clean_weight",
    "checkpoint",
)
#: Config keys passed to `search` under their own names.
_SEARCH_KEYS = (
    "max_trials",
    "epochs",
    "batch_size",
    "directory",
    "project_name",
    "overwrite",
    "seed",
    "verbose",
)
_EXPORT_FORMATS = ("keras", "saved_model", "onnx")


def _default(function, parameter):
    """The default value of `parameter` in the signature of `function` (or class)."""
    return inspect.signature(function).parameters[parameter].default


#: The keys of a `tfadv tune` config and their defaults.
DEFAULT_CONFIG = {
    "method": _default(SearchSpace, "method"),
    "model": _default(SearchSpace, "model"),
    "space": {},  # every knob at its default
    "tuner": _default(make_tuner, "kind"),
    "tuner_options": {},
    "max_trials": 4,  # a config run starts short (`search` defaults to 10)
    "epochs": _default(search, "epochs"),
    "batch_size": _default(search, "batch_size"),
    "data": _default(load_numpy, "name"),
    "train_limit": _default(load_numpy, "limit"),
    "validation_size": _default(load_numpy, "validation_size"),
    "validation_limit": _default(load_numpy, "limit"),
    **{key: _default(AdvHyperModel, key) for key in _HYPERMODEL_KEYS},
    "test_eps": None,  # no evaluation of the trials at test radii
    "test_limit": _default(evaluate_trials, "limit"),
    "test_protocol": _default(evaluate_trials, "protocol"),
    "directory": "artifacts/tune",  # next to the other tfadv CLI outputs
    "project_name": _default(search, "project_name"),
    "overwrite": _default(search, "overwrite"),
    "export": list(_default(export_best, "formats")),
    "seed": _default(AdvHyperModel, "seed"),
    "verbose": _default(search, "verbose"),
}


def check_config(config):
    """Validates a search config and returns it with every default filled in.

    The space, method and model are validated by `tfadv.tuning.SearchSpace`, the validation
    settings by `tfadv.tuning.AdvHyperModel` (built once, on the space), the rest here.

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
    space = SearchSpace(merged["space"], method=merged["method"], model=merged["model"])
    _hypermodel(space, merged)
    validation.check_choice("tuner", merged["tuner"], tuple(TUNERS))
    if not isinstance(merged["tuner_options"], dict):
        raise TypeError(
            f"`tuner_options` must be a dict. Received: tuner_options={merged['tuner_options']!r}"
        )
    for key in ("epochs", "batch_size"):
        validation.check_steps(merged[key], key)
    for key in ("max_trials", "train_limit", "validation_limit", "test_limit"):
        if merged[key] is not None:
            validation.check_steps(merged[key], key)
    validation.check_number("validation_size", merged["validation_size"], minimum=1, integer=True)
    if merged["test_eps"] is not None:
        if not isinstance(merged["test_eps"], list) or not merged["test_eps"]:
            raise ValueError(
                "`test_eps` must be a non-empty list of radii or null. "
                f"Received: test_eps={merged['test_eps']!r}"
            )
        for e in merged["test_eps"]:
            validation.check_eps(e, "test_eps")
    merged["export"] = _export_formats(merged["export"])
    validation.check_choice("verbose", merged["verbose"], (0, 1, 2))
    return merged


def _hypermodel(space, config, **kwargs):
    """The `AdvHyperModel` of a config (its constructor validates the validation settings)."""
    hyper = {key: config[key] for key in _HYPERMODEL_KEYS}
    return AdvHyperModel(space, **hyper, seed=config["seed"], **kwargs)


def _export_formats(export):
    """The `export` key as a list of formats: `true` is the default list, `false`/null none."""
    if export is True:
        export = list(DEFAULT_CONFIG["export"])
    if export is False or export is None:
        export = []
    if not isinstance(export, list):
        raise ValueError(
            f"`export` must be a list of formats or a bool. Received: export={export!r}"
        )
    for fmt in export:
        validation.check_choice("export", fmt, _EXPORT_FORMATS)
    return export


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

    if not isinstance(config, dict):
        with open(os.fspath(config), encoding="utf-8") as f:
            config = json.load(f)
    config = check_config({**config, **overrides})
    start = time.time()
    keras.utils.set_random_seed(config["seed"])
    split = dict(validation_size=config["validation_size"], seed=config["seed"])
    x, y = load_numpy(config["data"], "train", limit=config["train_limit"], **split)
    val = load_numpy(config["data"], "validation", limit=config["validation_limit"], **split)
    space = SearchSpace(config["space"], method=config["method"], model=config["model"])
    hypermodel = _hypermodel(
        space, config, input_shape=x.shape[1:], num_classes=int(max(y.max(), val[1].max()) + 1)
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
        **{key: config[key] for key in _SEARCH_KEYS},
        **config["tuner_options"],
    )
    project = tuner.project_dir
    best = {k: plain(v) for k, v in tuner.get_best_hyperparameters(1)[0].values.items()}
    print(f"Best hyperparameters: {json.dumps(best)}")
    evaluation = None
    if config["test_eps"]:
        evaluation = _evaluate_on_test(tuner, config, project)
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


def _evaluate_on_test(tuner, config, project):
    """Evaluates every trial at the config's test radii; prints and saves the table."""
    test = load_numpy(config["data"], "test", limit=config["test_limit"])
    evaluation = evaluate_trials(
        tuner, test, config["test_eps"], protocol=config["test_protocol"], seed=config["seed"]
    )
    text = format_trial_evaluation(evaluation)
    print(text)
    with open(os.path.join(project, "trial_evaluation.json"), "w", encoding="utf-8") as f:
        json.dump(evaluation, f, indent=2)
    with open(os.path.join(project, "trial_evaluation.txt"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return evaluation
