"""Resume that never lies: a real `tfadv train` process is killed (SIGKILL) or interrupted (SIGINT)
after its first epoch, and rerunning the same command finishes the run truthfully."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tfadv.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EPOCHS = 4


def _command(out):
    return [
        sys.executable,
        "-m",
        "tfadv_cli",
        "train",
        "--config",
        os.path.join(ROOT, "recipes", "mnist", "default.py"),
        f"--config.workdir={out}",
        f"--config.epochs={EPOCHS}",
        "--config.data.train_limit=256",
        "--config.data.validation_size=64",
        "--config.attack.steps=3",
        "--config.eps_schedule.ramp_epochs=1",
        "--config.evaluation.limit=8",
        "--config.evaluation.checks=False",
        "--config.evaluation.pgd_steps=0",
        "--config.export.enabled=False",
        "--config.plot=False",
    ]


def _env():
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env.pop("TFADV_VERBOSE", None)
    return env


def _state(out):
    try:
        with open(out / "checkpoints" / "state.json", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _interrupt(out, sig):
    """Starts the run, sends `sig` once an epoch is saved; returns (returncode, stdout, state)."""
    with open(out.parent / "first.out", "w") as stdout, open(out.parent / "first.err", "w") as err:
        process = subprocess.Popen(_command(out), stdout=stdout, stderr=err, env=_env(), cwd=ROOT)
        deadline = time.time() + 600
        while time.time() < deadline and process.poll() is None:
            state = _state(out)
            if state and state["epochs_done"] >= 1:
                break
            time.sleep(0.05)
        assert process.poll() is None, (out.parent / "first.err").read_text()[-2000:]
        process.send_signal(sig)
        code = process.wait(timeout=300)
    return code, (out.parent / "first.out").read_text(), _state(out)


def _finish_and_check(out, before):
    done = subprocess.run(_command(out), capture_output=True, text=True, env=_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    for noise in ("cpu_feature_guard", "oneDNN", "absl::InitializeLog"):
        assert noise not in done.stderr
    k = before["epochs_done"]
    assert f"resuming after epoch {k} of {EPOCHS}" in done.stdout
    state = _state(out)
    scores = [h["val_adv_accuracy"] for h in state["history"]]
    assert state["epochs_done"] == EPOCHS and len(scores) == EPOCHS
    assert state["history"][:k] == before["history"][:k]  # finished epochs are not redone
    best = int(np.argmax(scores)) + 1  # first maximum: what an uninterrupted run keeps
    assert (state["best_epoch"], state["best_score"]) == (best, max(scores))
    assert state["best_file"] == f"best-epoch-{best}.weights.h5"
    assert sorted(os.listdir(out / "checkpoints")) == sorted(
        {"state.json", f"epoch-{EPOCHS}.weights.h5", state["best_file"]}
    )
    assert state["train_seconds"] > before["train_seconds"]  # accumulated over both runs
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["best_epoch"], summary["epochs"]) == (best, EPOCHS)
    assert f"trained {EPOCHS} epochs in" in done.stdout
    assert f"(epoch {best}, {max(scores):.4f})" in done.stdout
    log = (out / "train.log").read_text()
    assert log.count("tfadv train: TRADES") == 2  # both runs' output is in the log


@pytest.mark.slow
def test_sigkill_then_same_command_resumes(tmp_path):
    out = tmp_path / "run"
    code, _, before = _interrupt(out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert 1 <= before["epochs_done"] < EPOCHS
    _finish_and_check(out, before)


@pytest.mark.slow
def test_sigint_stops_cleanly_refuses_other_config_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    code, printed, before = _interrupt(out, signal.SIGINT)
    assert code == 130
    assert "resume with the same command: tfadv train --config" in printed
    assert "Traceback" not in (tmp_path / "first.err").read_text()
    # Rerun with fewer epochs: refused with the differing field; the checkpoints are kept.
    argv = _command(out)[3:]
    assert main([*argv, "--config.epochs=2"]) == 2
    assert f"epochs: {EPOCHS} -> 2" in capsys.readouterr().err
    assert _state(out) == before
    _finish_and_check(out, before)
