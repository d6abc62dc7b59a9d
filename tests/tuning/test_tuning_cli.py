"""`tfadv tune CONFIG` on a tiny config, its resume, and its error messages."""

import json

import keras
import pytest

import tfadv.tuning
from tfadv.cli.main import main

TINY = {
    "method": "pgdat",
    "space": {"eps": {"values": [0.1, 0.2]}},
    "tuner": "grid",
    "max_trials": 1,
    "epochs": 1,
    "batch_size": 32,
    "train_limit": 64,
    "validation_size": 100,
    "validation_limit": 32,
    "attack_steps": 2,
    "eval_eps": 0.1,
    "test_eps": [0.1],
    "test_limit": 32,
    "export": ["keras"],
    "verbose": 0,
}


def write(tmp_path, config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_tune_cli_runs_and_saves(tmp_path, capsys):
    config = write(tmp_path, {**TINY, "directory": str(tmp_path / "out"), "project_name": "p"})
    assert main(["tune", config]) == 0
    printed = capsys.readouterr().out
    assert "objective val_robust_accuracy (max)" in printed
    assert "Best hyperparameters" in printed and "protocol 'quick v1.0'" in printed
    project = tmp_path / "out" / "p"
    for name in ("trials.csv", "trials.json", "trials.txt", "trial_evaluation.json", "result.json"):
        assert (project / name).exists(), name
    result = json.loads((project / "result.json").read_text())
    assert result["best_hyperparameters"] == {"eps": 0.1}  # the grid's first point
    assert [t["status"] for t in result["trials"]] == ["COMPLETED"]
    classifier = keras.saving.load_model(project / "best" / "classifier.keras", safe_mode=True)
    assert classifier.output_shape == (None, 10)


@pytest.mark.slow  # a second search (the first one runs above)
def test_tune_cli_resumes_with_one_more_trial(tmp_path, capsys):
    config = write(tmp_path, {**TINY, "directory": str(tmp_path / "out"), "project_name": "p"})
    assert main(["tune", config]) == 0
    # The same command with one more trial resumes: trial 0 is kept, the grid's next point runs.
    assert main(["tune", config, "--max-trials", "2"]) == 0
    result = json.loads((tmp_path / "out" / "p" / "result.json").read_text())
    assert sorted(t["eps"] for t in result["trials"]) == [0.1, 0.2]


@pytest.mark.parametrize(
    "config, message",
    [
        ({"epochz": 3}, "Unknown config key(s) ['epochz']"),
        ({"space": {"eps": {"min": 0.3, "max": 0.1}}}, "empty range"),
        ({"space": {"beta": 1.0}}, "Unknown knob for method 'pgdat'"),
        ({"method": "magic"}, "Received: method='magic'"),
        ({"tuner": "annealing"}, "Received: tuner='annealing'"),
        ({"export": ["tflite"]}, "Received: export='tflite'"),
    ],
)
def test_tune_cli_rejects_bad_configs(tmp_path, capsys, config, message):
    assert main(["tune", write(tmp_path, config)]) == 2
    assert message in capsys.readouterr().err


def test_tune_cli_rejects_missing_and_invalid_files(tmp_path, capsys):
    assert main(["tune", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["tune", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_check_config_fills_defaults():
    config = tfadv.tuning.check_config({"max_trials": 3, "export": True})
    assert set(config) == set(tfadv.tuning.DEFAULT_CONFIG)
    assert config["export"] == ["keras", "saved_model"] and config["max_trials"] == 3
    assert tfadv.tuning.check_config({"export": False})["export"] == []


def test_check_config_defaults_follow_the_signatures_they_feed():
    import inspect

    hypermodel = inspect.signature(tfadv.tuning.AdvHyperModel).parameters
    for key in ("attack_steps", "ramp_epochs", "eval_eps", "eval_protocol", "checkpoint", "seed"):
        assert tfadv.tuning.DEFAULT_CONFIG[key] == hypermodel[key].default, key
    search = inspect.signature(tfadv.tuning.search).parameters
    for key in ("epochs", "batch_size", "project_name", "overwrite", "verbose"):
        assert tfadv.tuning.DEFAULT_CONFIG[key] == search[key].default, key


@pytest.mark.parametrize(
    "config, message",
    [
        ({"eval_protocol": "nope"}, "Received: protocol='nope'"),
        ({"attack_steps": 0}, "Received: attack_steps=0"),
        ({"objective_clean_weight": 2.0}, "Received: objective_clean_weight=2.0"),
        ({"checkpoint": "first"}, "Received: checkpoint='first'"),
        ({"test_limit": 0}, "Received: test_limit=0"),
    ],
)
def test_check_config_validates_before_anything_runs(config, message):
    with pytest.raises(ValueError, match=message):
        tfadv.tuning.check_config(config)
