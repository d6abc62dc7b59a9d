"""Building and running a search: `make_tuner` (a Keras Tuner tuner of one kind) and `search`."""

from tfadv.tuning._keras_tuner_fixes import TUNERS
from tfadv.tuning.adv_hyper_model import AdvHyperModel
from tfadv.tuning.results import format_summary, save_summary, trial_summary
from tfadv.tuning.search_space import SearchSpace
from tfadv.utils import validation


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
