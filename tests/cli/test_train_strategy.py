"""`tfadv train --strategy`: checked up front, stored with the run, and trained under the strategy.

The mirrored runs use the two logical CPU devices that `tests/conftest.py` configures before
TensorFlow starts; the multi-worker run starts two `tfadv train` processes on loopback.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

import tfadv
import tfadv.experiment
from tfadv.cli.main import main
from tfadv.experiment import parse
from tfadv.experiment.checks import check_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: A smoke run as small as it gets: two training steps, no export, eight test digits.
TINY = [
    "--smoke",
    "--config.attack.steps=2",
    "--config.validation.steps=2",
    "--config.evaluation.limit=8",
    "--config.evaluation.checks=False",
    "--config.evaluation.pgd_steps=0",
    "--config.export.enabled=False",
    "--config.plot=False",
]


def _one_line_error(capsys, argv):
    code = main(["train", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "argv, quoted",
    [
        (["--strategy", "horovod"], "--strategy='horovod'"),
        (["--config.distribution.strategy=mirorred"], "distribution.strategy='mirorred'"),
    ],
)
def test_bad_strategy_is_one_line_before_anything_runs(argv, quoted, capsys, tmp_path):
    out = tmp_path / "run"
    err = _one_line_error(capsys, [f"--config.workdir={out}", *argv])
    assert quoted in err
    assert not out.exists()


def test_config_check_names_the_field():
    config, _ = parse(None, ["--config.distribution.strategy=gpu"])
    with pytest.raises(ValueError, match=r"distribution\.strategy='gpu'"):
        check_config(config)
    assert parse()[0].distribution.strategy == "default"


def test_strategy_flag_reaches_the_config_and_the_stored_command(monkeypatch, tmp_path):
    seen = {}

    def fake_train(config, *, overwrite=False, command="tfadv train"):
        seen["config"], seen["command"] = config, command
        return 0

    monkeypatch.setattr(tfadv.experiment, "train", fake_train)
    argv = ["train", "--config.distribution.strategy=tpu", "--strategy", "mirrored", "--smoke"]
    assert main([*argv, f"--config.workdir={tmp_path / 'run'}"]) == 0
    assert seen["config"].distribution.strategy == "mirrored"  # the flag wins
    assert "--strategy mirrored" in seen["command"]
    assert "--config.distribution.strategy=tpu" in seen["command"]


@pytest.mark.slow
def test_mirrored_smoke_run_on_two_logical_cpus(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--strategy", "mirrored", f"--config.workdir={out}", *TINY]) == 0
    printed = capsys.readouterr().out
    assert "strategy mirrored (2 replicas)" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 1 and (out / "classifier.keras").exists()
    assert "--strategy mirrored" in (out / "command.txt").read_text()
    history = json.loads((out / "checkpoints" / "state.json").read_text())["history"]
    assert 0.0 <= history[0]["val_adv_accuracy"] <= history[0]["val_clean_accuracy"] <= 1.0


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_multi_worker_processes_train_and_the_chief_reports(tmp_path):
    out = tmp_path / "run"
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    command = [sys.executable, "-m", "tfadv.cli.main", "train", "--strategy", "multi_worker"]
    command += [f"--config.workdir={out}", *TINY]
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        env = dict(os.environ, TF_CONFIG=tf_config, PYTHONPATH=ROOT, CUDA_VISIBLE_DEVICES="")
        workers.append(
            subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        )
    logs = []
    try:
        for worker in workers:
            logs.append(worker.communicate(timeout=900)[0].decode()[-3000:])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert [w.returncode for w in workers] == [0, 0], "\n".join(logs)
    assert "strategy multi_worker (2 replicas)" in logs[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 1 and (out / "report.txt").exists()
    assert "--strategy multi_worker" in (out / "command.txt").read_text()
    chief = json.loads((out / "checkpoints" / "state.json").read_text())
    other = json.loads((out / "workers" / "1" / "checkpoints" / "state.json").read_text())
    assert not (out / "workers" / "1" / "report.txt").exists()
    # The epoch logs are global metrics: both workers record the same ones.
    assert chief["history"] == other["history"]
    assert "val_adv_accuracy" in chief["history"][0]
