"""Runs that bend without lying: raised epochs extend a run, evaluation-only changes re-evaluate it,
other changes are refused naming the fields; a folder is locked while a run uses it; every bad
field is one line naming its full path, `--smoke` included; recipe files that do not load are one
line; `tfadv train --help` lists the schema's fields."""

import fcntl
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import TINY_RUN
from tfadv.cli.main import main
from tfadv.experiment import parse, schema
from tfadv.experiment.run_state import RunCheckpoint

TINY = TINY_RUN


@pytest.fixture
def epochs_trained(monkeypatch):
    """Counts the epochs each `train` call runs (RunCheckpoint sees every finished epoch)."""
    count = {"epochs": 0}
    on_epoch_end = RunCheckpoint.on_epoch_end

    def counting(self, epoch, logs=None):
        count["epochs"] += 1
        on_epoch_end(self, epoch, logs)

    monkeypatch.setattr(RunCheckpoint, "on_epoch_end", counting)
    return count


def _train(capsys, out, *extra):
    code = main(["train", f"--config.workdir={out}", *TINY, *extra])
    return code, capsys.readouterr()


def _state(out):
    return json.loads((out / "checkpoints" / "state.json").read_text())


def _one_line_error(capsys, argv):
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_raised_epochs_train_only_the_extra_epochs(tmp_path, capsys, epochs_trained):
    out = tmp_path / "run"
    assert _train(capsys, out)[0] == 0
    first = _state(out)
    assert epochs_trained["epochs"] == 1
    code, printed = _train(capsys, out, "--config.epochs=3")
    assert code == 0, printed.err
    state = _state(out)
    assert epochs_trained["epochs"] == 3  # 1 + the 2 extra epochs, none redone
    assert state["epochs_done"] == 3 and len(state["history"]) == 3
    assert state["history"][0] == first["history"][0]
    assert state["epochs_history"] == [{"epochs": 1, "at_epoch": 0}, {"epochs": 3, "at_epoch": 1}]
    assert "extended from 1 to 3 epochs at epoch 1" in printed.out
    assert json.loads((out / "config.json").read_text())["epochs"] == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 3 and summary["epochs_history"] == state["epochs_history"]
    # Fewer epochs than the stored run: refused, naming the field; nothing changes.
    err = _one_line_error(capsys, [f"--config.workdir={out}", *TINY, "--config.epochs=2"])
    assert "epochs: 3 -> 2" in err and "--overwrite" in err
    assert _state(out) == state


def test_evaluation_change_re_evaluates_and_other_changes_are_refused(
    tmp_path, capsys, epochs_trained
):
    out = tmp_path / "run"
    assert _train(capsys, out)[0] == 0
    state = _state(out)
    # `search` is `tfadv tune`'s: not compared.
    code, printed = _train(
        capsys, out, "--config.evaluation.limit=12", "--config.search.max_trials=3"
    )
    assert code == 0, printed.err
    assert epochs_trained["epochs"] == 1  # no training in the second run
    assert _state(out) == state
    assert "evaluation.limit: 8 -> 12" in printed.out
    assert json.loads((out / "summary.json").read_text())["report"]["n_examples"] == 12
    assert len((out / "per_example.csv").read_text().splitlines()) == 1 + 12
    # A training field, and the evaluation radius that the validation PGD (which picks the kept
    # epoch) uses: refused, naming the fields.
    argv = [f"--config.workdir={out}", *TINY, "--config.evaluation.limit=12"]
    err = _one_line_error(capsys, [*argv, "--config.attack.steps=2"])
    assert "attack.steps: 1 -> 2" in err and "evaluation.limit" not in err
    err = _one_line_error(capsys, [*argv, "--config.evaluation.eps=0.2"])
    assert "evaluation.eps: 0.3 -> 0.2" in err
    assert _state(out) == state and epochs_trained["epochs"] == 1


def test_a_folder_in_use_is_refused_with_the_holders_pid(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    with open(out / "run.lock", "a+") as lock:  # what a running `tfadv train` holds
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write(f"pid {os.getpid()} on this-host\n")
        lock.flush()
        err = _one_line_error(capsys, [f"--config.workdir={out}", *TINY])
    assert f"pid {os.getpid()} on this-host" in err and "in use" in err
    assert not (out / "config.json").exists()
    assert _train(capsys, out)[0] == 0  # released: the folder is free again
    assert (out / "run.lock").read_text() == ""  # a finished run leaves no holder behind


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    script = (
        "import fcntl, os, signal\n"
        f"lock = open({str(out / 'run.lock')!r}, 'a+')\n"
        "fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "lock.write(f'pid {os.getpid()} on this-host\\n'); lock.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert killed.returncode == -9
    holder = (out / "run.lock").read_text().strip()
    assert holder.startswith("pid ")
    code, printed = _train(capsys, out)
    assert code == 0, printed.err
    assert f"took over run.lock from a run that ended ({holder})" in printed.out


@pytest.mark.parametrize(
    "argv, quoted",
    [
        (["--config.attack.eps=-1"], ["`attack.eps` must be >= 0", "attack.eps=-1"]),
        (["--config.attack.norm=l3"], ["`attack.norm` must be one of", "attack.norm='l3'"]),
        (
            ["--config.attack.eps=-1", "--config.evaluation.norm=l3"],
            ["attack.eps=-1", "evaluation.norm='l3'"],
        ),
        (["--config.method.knobs.beta=-2"], ["method.knobs.beta=-2"]),
        (["--config.search.max_trials=0"], ["search.max_trials=0"]),
    ],
)
def test_bad_fields_are_named_by_their_full_path(argv, quoted, tmp_path, capsys):
    out = tmp_path / "run"
    err = _one_line_error(capsys, [f"--config.workdir={out}", *argv])
    for text in quoted:
        assert text in err
    assert not out.exists()


def test_smoke_refuses_what_the_full_run_refuses(tmp_path, capsys):
    recipe = tmp_path / "recipe.py"
    recipe.write_text(
        "from tfadv.experiment.schema import base_config\n\n\n"
        "def get_config():\n"
        "    config = base_config()\n"
        "    config.data.train_limit = 0  # --smoke sets 128: only the full run would see it\n"
        "    return config\n"
    )
    err = _one_line_error(
        capsys, ["--config", str(recipe), "--smoke", f"--config.workdir={tmp_path / 'x'}"]
    )
    assert "`data.train_limit` must be >= 1. Received: data.train_limit=0" in err


def test_recipe_files_that_do_not_load_are_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("import ml_collections\n\ndef get_config(:\n    pass\n")
    with pytest.raises(ValueError, match=rf"^{broken}:3: SyntaxError: invalid syntax"):
        parse(str(broken))
    raising = tmp_path / "raising.py"
    raising.write_text(
        "def get_config():\n    config = None\n    raise RuntimeError('no data here')\n"
    )
    with pytest.raises(ValueError) as raised:
        parse(str(raising))
    assert str(raised.value) == f"{raising}:3: RuntimeError: no data here"
    err = _one_line_error(capsys, ["--config", str(broken)])
    assert f"{broken}:3: SyntaxError" in err


def test_help_lists_the_schemas_fields(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", "--help"])
    assert exited.value.code == 0
    printed = capsys.readouterr().out
    for field in schema.FIELDS:
        assert f"  {field.path} = " in printed
    assert "attack.eps = 0.3: training attack radius [>= 0]" in printed


def test_the_schema_is_consistent():
    config = schema.base_config()
    assert schema.check_fields(config) == []
    assert {f.path for f in schema.FIELDS} >= {"search.tuner", "search.space", "search.test_eps"}
    (search,) = [f for f in schema.FIELDS if f.path == "search.tuner"]
    assert search.default == "random" and tuple(search.choices) == (
        "random", "bayesian", "hyperband", "grid"
    )  # fmt: skip
    with config.unlocked():
        del config["search"]  # a `tfadv tune` trial drops it
        config.data.extra = 1
    assert schema.check_fields(config) == [
        "`data.extra` is no config field (tfadv train --help lists them). Received: data.extra=1"
    ]
