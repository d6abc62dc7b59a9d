"""`tfadv train --strategy`: checked up front and stored with the run.

The runs under a strategy are in `tests/distribution/test_train_strategy_runs.py`.
"""

import pytest
from test_train_input import _error

from tfadv.cli.main import main
from tfadv.distribute import make_strategy
from tfadv.experiment import parse, runner
from tfadv.experiment.checks import check_config


@pytest.mark.parametrize(
    "argv, quoted",
    [
        (["--strategy", "horovod"], "--strategy='horovod'"),
        (["--config.distribution.strategy=mirorred"], "distribution.strategy='mirorred'"),
    ],
)
def test_bad_strategy_is_one_line_before_anything_runs(argv, quoted, capsys, tmp_path):
    out = tmp_path / "run"
    err = _error(capsys, [f"--config.workdir={out}", *argv])
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

    monkeypatch.setattr(runner, "train", fake_train)
    argv = ["train", "--config.distribution.strategy=tpu", "--strategy", "mirrored", "--smoke"]
    assert main([*argv, f"--config.workdir={tmp_path / 'run'}"]) == 0
    assert seen["config"].distribution.strategy == "mirrored"  # the flag wins
    assert "--strategy mirrored" in seen["command"]
    assert "--config.distribution.strategy=tpu" in seen["command"]


def test_make_strategy_checks_its_arguments():
    with pytest.raises(ValueError, match="Received: name='gpu'"):
        make_strategy("gpu")
    with pytest.raises(TypeError, match="Received: tpu=3"):
        make_strategy("tpu", tpu=3)
    assert make_strategy("default").num_replicas_in_sync == 1
