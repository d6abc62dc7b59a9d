"""Tiny searches: every tuner kind runs, results come back, the search resumes, the best exports."""

import csv
import json
import os

import keras
import keras_tuner
import numpy as np
import pytest

import tfadv
import tfadv.tuning
from tfadv.tuning import AdvHyperModel, SearchSpace

EVAL_EPS = 0.1


@pytest.fixture(scope="module")
def digits(mnist_small):
    (x_train, y_train), (x_test, y_test) = mnist_small
    return (x_train[:64], y_train[:64]), (x_test[:32], y_test[:32])


def tiny_hypermodel(cls=AdvHyperModel, knobs=None, **kwargs):
    """compact_cnn, 2-step PGD-AT, validated with a 2-step PGD (the cheapest real setting)."""
    space = SearchSpace(knobs or {"eps": {"values": [0.1, 0.3]}}, method="pgdat")
    settings = dict(
        attack_steps=2, eval_eps=EVAL_EPS, eval_protocol=[tfadv.attacks.PGD(eps=EVAL_EPS, steps=2)]
    )
    settings.update(kwargs)
    return cls(space, **settings)


def run_search(digits, directory, kind="random", hypermodel=None, **kwargs):
    (x, y), validation = digits
    settings = dict(
        validation_data=validation,
        kind=kind,
        max_trials=2,
        epochs=1,
        batch_size=32,
        directory=str(directory),
        project_name=kind,
        verbose=0,
        print_summary=False,
    )
    settings.update(kwargs)
    return tfadv.tuning.search(hypermodel or tiny_hypermodel(), x, y, **settings)


@pytest.mark.parametrize(
    "kind, keras_class, extra",
    [
        ("random", keras_tuner.RandomSearch, {}),
        # Keras Tuner's own oracles behind our factory: the slow tier (`-m slow`).
        pytest.param(
            "bayesian",
            keras_tuner.BayesianOptimization,
            {"num_initial_points": 1},
            marks=pytest.mark.slow,
        ),
        # Hyperband with max_epochs=2, factor=2 starts with a bracket of 1-epoch trials.
        pytest.param(
            "hyperband", keras_tuner.Hyperband, {"epochs": 2, "factor": 2}, marks=pytest.mark.slow
        ),
        # The grid search (and its resume) also runs, end to end, in test_tuning_cli.py.
        pytest.param("grid", keras_tuner.GridSearch, {}, marks=pytest.mark.slow),
    ],
)
def test_each_tuner_runs_a_tiny_search(digits, tmp_path, kind, keras_class, extra):
    tuner = run_search(digits, tmp_path, kind, **extra)
    assert isinstance(tuner, keras_class)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 2
    assert all(str(t.status) == "COMPLETED" for t in trials), [t.message for t in trials]
    for trial in trials:  # the objective resolved: RobustEvaluation wrote it every epoch
        assert trial.metrics.exists("val_robust_accuracy")
        assert 0.0 <= trial.score <= 1.0
    if kind == "hyperband":
        assert all(t.hyperparameters.values["tuner/epochs"] == 1 for t in trials)
    best_hp = tuner.get_best_hyperparameters()[0].values
    assert best_hp["eps"] in (0.1, 0.3)
    if kind == "grid":
        assert sorted(t.hyperparameters.values["eps"] for t in trials) == [0.1, 0.3]
    best = tuner.get_best_models()[0]
    assert isinstance(best, tfadv.methods.PGDAT)
    assert best.attack.eps == pytest.approx(best_hp["eps"])
    x_val = digits[1][0]
    assert best.classifier.predict(x_val, verbose=0).shape == (len(x_val), 10)
    rows = tfadv.tuning.trial_summary(tuner)
    assert [r["status"] for r in rows] == ["COMPLETED", "COMPLETED"]
    assert rows[0]["score"] >= rows[1]["score"] and rows[0]["score"] == pytest.approx(
        max(t.score for t in trials)
    )
    with open(os.path.join(tuner.project_dir, "trials.csv"), newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 2 and "val_robust_accuracy" in table[0] and "eps" in table[0]
    saved = json.loads(open(os.path.join(tuner.project_dir, "trials.json")).read())
    assert saved["objective"] == "val_robust_accuracy" and len(saved["trials"]) == 2
    text = open(os.path.join(tuner.project_dir, "trials.txt")).read()
    assert (
        f"protocol 'custom' at l-inf eps={EVAL_EPS:g}" in text
    )  # robust numbers name the protocol


class CountingHyperModel(AdvHyperModel):
    fits = 0

    def fit(self, hp, model, *args, **kwargs):
        type(self).fits += 1
        return super().fit(hp, model, *args, **kwargs)


@pytest.mark.slow  # resuming is also run, end to end, by test_tuning_cli.py
def test_search_resumes_from_its_directory(digits, tmp_path):
    hypermodel = tiny_hypermodel(CountingHyperModel)
    tuner = run_search(digits, tmp_path, hypermodel=hypermodel, max_trials=1)
    assert CountingHyperModel.fits == 1
    first = next(iter(tuner.oracle.trials.values()))
    checkpoint = tuner._get_checkpoint_fname(first.trial_id)
    stamp = os.path.getmtime(checkpoint)

    # A new tuner on the same directory: trial 0 is reloaded, only the missing trial runs.
    tuner = run_search(digits, tmp_path, hypermodel=tiny_hypermodel(CountingHyperModel))
    assert CountingHyperModel.fits == 2
    assert len(tuner.oracle.trials) == 2
    assert os.path.getmtime(checkpoint) == stamp
    scores = {t.trial_id: t.score for t in tuner.oracle.trials.values()}

    # Everything finished: a third call trains nothing and reports the same trials.
    tuner = run_search(digits, tmp_path, hypermodel=tiny_hypermodel(CountingHyperModel))
    assert CountingHyperModel.fits == 2
    assert {t.trial_id: t.score for t in tuner.oracle.trials.values()} == scores

    # overwrite=True starts afresh.
    tuner = run_search(
        digits, tmp_path, hypermodel=tiny_hypermodel(CountingHyperModel), max_trials=1,
        overwrite=True,
    )  # fmt: skip
    assert CountingHyperModel.fits == 3 and len(tuner.oracle.trials) == 1


def test_weighted_objective_export_and_trial_evaluation(digits, tmp_path, capsys):
    hypermodel = tiny_hypermodel(knobs={"eps": 0.1}, objective_clean_weight=0.5)
    tuner = run_search(digits, tmp_path, hypermodel=hypermodel, max_trials=1, print_summary=True)
    assert "objective val_weighted_accuracy (max)" in capsys.readouterr().out
    (trial,) = tuner.oracle.trials.values()
    clean = trial.metrics.get_last_value("val_clean_accuracy")
    robust = trial.metrics.get_last_value("val_robust_accuracy")
    assert trial.score == pytest.approx(0.5 * clean + 0.5 * robust)
    assert robust <= clean

    written = tfadv.tuning.export_best(tuner, tmp_path / "best")
    classifier = keras.saving.load_model(written["keras"], safe_mode=True)
    x_val = digits[1][0]
    np.testing.assert_allclose(
        classifier.predict(x_val, verbose=0),
        tfadv.tuning.best_classifier(tuner).predict(x_val, verbose=0),
        atol=1e-5,
    )
    assert os.path.exists(os.path.join(written["saved_model"], "saved_model.pb"))
    assert json.loads(open(written["hyperparameters"]).read()) == {"eps": 0.1}

    result = tfadv.tuning.evaluate_trials(
        tuner, digits[1], [0.0, EVAL_EPS], protocol=[tfadv.attacks.PGD(eps=EVAL_EPS, steps=2)]
    )
    (row,) = result["rows"]
    assert row["value"] == 0.1 and row["accuracy"][0] == pytest.approx(row["clean_accuracy"])
    assert row["accuracy"][1] <= row["accuracy"][0]
    assert result["best"] == {"0": 0.1, "0.1": 0.1}
    assert result["over_under"]["matched_is_best"] == ["0.1"]
    text = tfadv.tuning.format_trial_evaluation(result)
    assert "protocol 'custom'" in text and "eps=0.1" in text
    with pytest.raises(ValueError, match="Received: knob='width'"):
        tfadv.tuning.evaluate_trials(tuner, digits[1], [0.1], knob="width")


def test_make_tuner_rejects_bad_arguments(tmp_path):
    hypermodel = tiny_hypermodel()
    with pytest.raises(ValueError, match="Received: kind='sgd'"):
        tfadv.tuning.make_tuner(hypermodel, "sgd", directory=tmp_path)
    with pytest.raises(ValueError, match="Received: epochs=None"):
        tfadv.tuning.make_tuner(hypermodel, "hyperband", directory=tmp_path)
    with pytest.raises(ValueError, match="Received: max_trials=None"):
        tfadv.tuning.make_tuner(hypermodel, "random", max_trials=None, directory=tmp_path)
    with pytest.raises(ValueError, match="Received: max_trials=0"):
        tfadv.tuning.make_tuner(hypermodel, "bayesian", max_trials=0, directory=tmp_path)


@pytest.mark.slow  # resuming is also run, end to end, by test_tuning_cli.py
def test_grid_search_resumes_from_a_folder_saved_without_its_position(digits, tmp_path):
    # Keras Tuner's own grid oracle forgets its place in the grid when reloaded; tfadv's saves it
    # (the CLI test resumes a grid search), and rebuilds it from the trials for a folder written
    # without it, as Keras Tuner's oracle writes them.
    tuner = run_search(digits, tmp_path, "grid", max_trials=1)
    assert [t.hyperparameters.values["eps"] for t in tuner.oracle.trials.values()] == [0.1]
    path = os.path.join(tuner.project_dir, "oracle.json")
    state = json.loads(open(path).read())
    state.pop("grid_ordered_ids"), state.pop("grid_populate_next")
    open(path, "w").write(json.dumps(state))
    tuner = run_search(digits, tmp_path, "grid", max_trials=3)  # the grid has 2 points
    assert sorted(t.hyperparameters.values["eps"] for t in tuner.oracle.trials.values()) == [
        0.1,
        0.3,
    ]


@pytest.mark.parametrize(
    "checkpoint, progress",
    [("best", None), pytest.param("last", 1.5, marks=pytest.mark.slow)],
)
def test_checkpoint_keeps_the_best_or_the_last_epoch(digits, tmp_path, checkpoint, progress):
    hypermodel = tiny_hypermodel(knobs={"eps": 0.1}, checkpoint=checkpoint)
    tuner = run_search(digits, tmp_path, hypermodel=hypermodel, max_trials=1, epochs=2)
    (trial,) = tuner.oracle.trials.values()
    (row,) = tfadv.tuning.trial_summary(tuner)
    model = tuner.get_best_models()[0]
    if checkpoint == "last":
        # 64 digits in batches of 32: the progress counter ends epoch 2 at 1 + 1/2.
        assert float(model.epoch_progress) == pytest.approx(progress)
        assert row["best_epoch"] == "last"
        assert trial.score == pytest.approx(trial.metrics.get_last_value("val_robust_accuracy"))
    else:
        assert row["best_epoch"] in (1, 2)
        assert float(model.epoch_progress) == pytest.approx(row["best_epoch"] - 0.5)


@pytest.mark.parametrize(
    "kind, keras_class",
    [
        ("random", keras_tuner.RandomSearch),
        ("bayesian", keras_tuner.BayesianOptimization),
        ("hyperband", keras_tuner.Hyperband),
        ("grid", keras_tuner.GridSearch),
    ],
)
def test_make_tuner_builds_each_kind_with_the_robust_objective(tmp_path, kind, keras_class):
    # Building only (the searches of the slower kinds run under `-m slow` above).
    tuner = tfadv.tuning.make_tuner(
        tiny_hypermodel(), kind, max_trials=3, epochs=2, directory=str(tmp_path), project_name=kind
    )
    assert isinstance(tuner, keras_class)
    assert tuner.oracle.objective.name == "val_robust_accuracy"
    assert tuner.oracle.objective.direction == "max"
    assert tuner.oracle.max_trials == 3
    if kind == "hyperband":
        assert tuner.oracle.max_epochs == 2
