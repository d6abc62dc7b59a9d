"""`tfadv tune --config RECIPE`: a smoke grid search of `tfadv train` runs on synthetic digits, its
outputs, its resume (finished trials are not retrained, an interrupted one resumes through the
runner), and one line for every refused input."""

import contextlib
import io
import json
import os
import re

import pytest

from tfadv.cli.main import main
from tfadv.experiment.run_state import RunCheckpoint

RECIPE = """
import ml_collections

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()
    config.workdir = {workdir!r}
    config.method = method_config("pgdat")
    config.data.synthetic = True
    config.attack.steps = 1
    config.validation.steps = 1
    config.eps_schedule.kind = "constant"
    config.epochs = 2
    config.batch_size = 16
    config.verbose = 0
    config.evaluation.checks = False
    config.export.enabled = False
    config.plot = False
    with config.unlocked():
        config.search = ml_collections.ConfigDict(
            {{
                "tuner": "grid",
                "max_trials": 3,
                "space": ml_collections.ConfigDict(
                    {{"attack__eps": {{"values": (0.1, 0.2, 0.3)}}}}
                ),
                "test_eps": (0.1, 0.3),
                "test_limit": ml_collections.config_dict.placeholder(int),
            }}
        )
    config.smoke = ml_collections.ConfigDict(
        {{"data": {{"train_limit": 32, "validation_size": 16}}, "evaluation": {{"limit": 8}}}}
    )
    return config
"""


def recipe(folder):
    path = folder / "tiny_tune.py"
    path.write_text(RECIPE.format(workdir=str(folder / "search")))
    return str(path)


def tune(*args):
    """`tfadv tune ARGS`: (exit status, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["tune", *args])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def smoke_search(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tune")
    path = recipe(folder)
    code, printed = tune("--config", path, "--smoke")
    assert code == 0, printed
    return path, folder / "search_smoke", printed


def test_smoke_search_writes_trials_table_best_and_matrix(smoke_search):
    _, workdir, printed = smoke_search
    rows = json.loads((workdir / "trials.json").read_text())
    # --smoke caps the grid's three points at two trials, each a one-epoch run.
    assert [(r["trial"], r["status"], r["attack.eps"]) for r in rows] == [
        ("0", "COMPLETED", 0.1),
        ("1", "COMPLETED", 0.2),
    ]
    for row in rows:
        run = json.loads((workdir / "trials" / row["trial"] / "config.json").read_text())
        assert run["attack"]["eps"] == row["attack.eps"] and "search" not in run
        assert run["workdir"] == row["run_folder"] == str(workdir / "trials" / row["trial"])
        state = json.loads(
            (workdir / "trials" / row["trial"] / "checkpoints/state.json").read_text()
        )
        assert state["epochs_done"] == 1
        assert row["val_adv_accuracy"] == state["history"][-1]["val_adv_accuracy"]
    assert (
        (workdir / "trials.csv").read_text().splitlines()[0].startswith("trial,status,attack.eps")
    )
    assert "attack.eps" in (workdir / "trials.txt").read_text()
    best = json.loads((workdir / "best.json").read_text())
    assert best["val_adv_accuracy"] == max(r["val_adv_accuracy"] for r in rows)
    assert os.path.isfile(best["outputs"]["keras"])
    matrix = json.loads((workdir / "test_eps.json").read_text())
    assert matrix["test_eps"] == [0.1, 0.3] and matrix["n_examples"] == 8
    assert [len(r["accuracy"]) for r in matrix["rows"]] == [2, 2]
    assert "eps=0.3" in (workdir / "test_eps.txt").read_text() and "eps=0.3" in printed


def test_rerun_retrains_no_trial(smoke_search):
    path, workdir, _ = smoke_search
    logs = {t: (workdir / "trials" / t / "train.log").read_text() for t in ("0", "1")}
    code, printed = tune("--config", path, "--smoke")
    assert code == 0
    assert "tfadv train:" not in printed and "tune: trial 0 (" not in printed
    assert {t: (workdir / "trials" / t / "train.log").read_text() for t in logs} == logs
    assert len(json.loads((workdir / "trials.json").read_text())) == 2


def test_changed_recipe_is_refused_naming_the_field(smoke_search, capsys):
    path, _, _ = smoke_search
    code, _ = tune("--config", path, "--smoke", "--config.attack.steps=2")
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "attack.steps: 1 -> 2" in err and "--overwrite" in err


def test_interrupted_trial_resumes_and_more_trials_extend_the_grid(tmp_path, monkeypatch):
    path = recipe(tmp_path)
    original = RunCheckpoint.on_epoch_end

    def stop_in_second_trial(self, epoch, logs=None):
        original(self, epoch, logs)
        if self.state.folder.endswith(os.path.join("trials", "1", "checkpoints")):
            raise KeyboardInterrupt

    monkeypatch.setattr(RunCheckpoint, "on_epoch_end", stop_in_second_trial)
    args = ("--config", path, "--config.search.max_trials=2", "--config.data.train_limit=32",
            "--config.data.validation_size=16", "--config.evaluation.limit=8")  # fmt: skip
    code, printed = tune(*args)
    assert code == 130 and "resume the search with: tfadv tune --config" in printed
    monkeypatch.setattr(RunCheckpoint, "on_epoch_end", original)
    code, printed = tune(*args)
    assert code == 0
    assert "tune: trial 0 (" not in printed  # finished: not retrained
    assert "resuming after epoch 1 of 2" in printed  # trial 1, through the runner's resume
    rows = json.loads((tmp_path / "search" / "trials.json").read_text())
    assert [(r["trial"], r["status"]) for r in rows] == [("0", "COMPLETED"), ("1", "COMPLETED")]
    # More trials extend the search: the reloaded grid continues at its next point.
    code, printed = tune(*args, "--config.search.max_trials=3")
    assert code == 0 and "tune: trial 2 (attack.eps=0.3)" in printed
    assert "tune: trial 0 (" not in printed and "tune: trial 1 (" not in printed


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--config", "search.json"], "takes a recipe"),
        (["search.json"], "takes a recipe"),
        ([], "needs --config RECIPE"),
        (["--config", "recipes/mnist/trades.py"], "no `search` section|`search.space` is empty"),
        (["--config", "RECIPE", "--config.search.tuner=annealing"], r"`search\.tuner` must be"),
        (
            ["--config", "RECIPE", "--config.search.space.attack__eps.values=(0.1, -1.0)"],
            r"`search\.space\.attack\.eps` holds a value the run refuses",
        ),  # fmt: skip
    ],
)
def test_bad_input_is_one_line(args, expected, tmp_path, capsys):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = [recipe(tmp_path) if a == "RECIPE" else a for a in args]
    args = [os.path.join(root, a) if a.startswith("recipes/") else a for a in args]
    code, _ = tune(*args)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and re.search(expected, err), err
    assert not (tmp_path / "search").exists()  # refused before any trial
