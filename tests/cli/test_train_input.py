"""`tfadv train` answers bad input with one line and exit status 2, before any epoch runs."""

import json
import os
import subprocess
import sys

import keras
import pytest

from tfadv.cli.main import main
from tfadv.experiment import parse, workdir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRADES = os.path.join(ROOT, "recipes", "mnist", "trades.py")


def _error(capsys, argv):
    code = main(["train", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "argv, quoted",
    [
        (["--config.method.name=magic"], "method.name='magic'"),
        (["--config.evaluation.protocol=bogus"], "protocol='bogus'"),
        (["--config.attack.eps=-1"], "eps=-1"),
        (["--config.epochs=0"], "epochs=0"),
        (["--config.epochs=ten"], "--config.epochs=ten"),
        (["--config.no_such_field=1"], "no_such_field"),
        (["--config.method.knobs.beta=-2"], "beta=-2"),
        (["--config.model.name=resnet50"], "model.name='resnet50'"),
        (["--config.model.kwargs.depth=8"], "depth"),
        (["--config.data.name=imagenet"], "imagenet"),
        (["--config.data.augment_zoom=1.5"], "data.augment_zoom=1.5"),
        (["--config.data.augment_rotation=-5"], "data.augment_rotation=-5"),
        (["--config.validation.monitor=val_loss"], "val_loss"),
        (["--config.lr_schedule.name=piecewise"], "boundaries"),
        (["--epochs", "3"], "--epochs"),
    ],
)
def test_bad_fields_get_one_line_before_training(argv, quoted, capsys, tmp_path):
    out = tmp_path / "run"
    err = _error(capsys, ["--config", TRADES, f"--config.workdir={out}", *argv])
    assert quoted in err
    assert not out.exists()  # refused before the folder, the data or the first epoch


def test_missing_recipe_and_method_without_batch_norm(capsys, tmp_path):
    assert "no_such.py" in _error(capsys, ["--config", str(tmp_path / "no_such.py")])
    err = _error(
        capsys,
        ["--config.method.name=advprop", f"--config.workdir={tmp_path / 'x'}"],
    )
    assert "dual_bn" in err and "compact_cnn" in err


def test_unknown_option_is_an_argparse_error():
    with pytest.raises(SystemExit) as raised:
        main(["evaluate", "m.keras", "--config.epochs=3"])
    assert raised.value.code == 2


def test_unwritable_and_foreign_output_folders(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    err = _error(capsys, [f"--config.workdir={blocker / 'run'}"])
    assert "not writable" in err
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    err = _error(capsys, [f"--config.workdir={foreign}", "--overwrite"])
    assert "holds no tfadv run" in err
    assert (foreign / "notes.txt").exists()  # never emptied


def test_other_config_is_refused_naming_the_fields(capsys, tmp_path):
    out = tmp_path / "run"
    config, _ = parse(TRADES, [f"--config.workdir={out}", "--config.epochs=3"])
    with workdir.prepare(config):
        pass
    (out / "checkpoints" / "state.json").write_text("{}")
    err = _error(
        capsys,
        ["--config", TRADES, f"--config.workdir={out}", "--config.method.knobs.beta=6"],
    )
    assert "method.knobs.beta: 1.0 -> 6.0" in err and "--overwrite" in err
    assert "epochs:" not in err  # raised epochs extend a run: not a refused change
    config, _ = parse(TRADES, [f"--config.workdir={out}"])
    with workdir.prepare(config, overwrite=True):
        pass
    assert not (out / "checkpoints" / "state.json").exists()
    assert json.loads((out / "config.json").read_text())["epochs"] == 15


def test_corrupted_or_mismatched_init_model(capsys, tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"this is not a zip file")
    err = _error(
        capsys,
        [f"--config.model.init={bad}", f"--config.workdir={tmp_path / 'a'}", "--smoke"],
    )
    assert "not a readable .keras model" in err
    other = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    other.save(tmp_path / "cifar.keras")
    err = _error(
        capsys,
        [
            f"--config.model.init={tmp_path / 'cifar.keras'}",
            f"--config.workdir={tmp_path / 'b'}",
            "--smoke",
        ],
    )
    assert "(None, 32, 32, 3)" in err and "(None, 28, 28, 1)" in err


def test_smoke_keeps_overrides_and_recipe_smoke_fields():
    gairat = os.path.join(ROOT, "recipes", "mnist", "gairat.py")
    config, overridden = parse(gairat, ["--config.epochs=2", "--config.workdir=w"], smoke=True)
    assert config.epochs == 2 and config.workdir == "w"  # the command line wins over --smoke
    assert config.method.knobs.begin_epoch == 0  # the recipe's own smoke field
    assert config.data.train_limit == 128 and overridden == ["epochs", "workdir"]


def test_a_field_added_since_the_run_was_made_resumes_at_its_default(tmp_path):
    out = tmp_path / "run"
    config, _ = parse(TRADES, [f"--config.workdir={out}"])
    with workdir.prepare(config):
        pass
    stored = json.loads((out / "config.json").read_text())
    del stored["distribution"], stored["optimizer"]["ema_momentum"]  # as a run made before them
    (out / "config.json").write_text(json.dumps(stored))
    with workdir.prepare(config):  # the default values: the old run behaved that way, it resumes
        pass
    (out / "config.json").write_text(json.dumps(stored))
    config, _ = parse(TRADES, [f"--config.workdir={out}", "--config.optimizer.ema_momentum=0.9"])
    with pytest.raises(ValueError, match=r"optimizer\.ema_momentum: '<absent>' -> 0\.9"):
        with workdir.prepare(config):
            pass


def test_the_command_line_starts_without_tensorflows_start_up_lines():
    """A real `python -m tfadv_cli` process (the console script): its answer is its only stderr line."""
    done = subprocess.run(
        [sys.executable, "-m", "tfadv_cli", "train", "--config", "no/such/recipe.py"],
        capture_output=True,
        text=True,
        env={
            k: v
            for k, v in os.environ.items()
            if k not in ("TF_CPP_MIN_LOG_LEVEL", "TFADV_VERBOSE")
        },
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "tfadv train: error: No recipe file at this path. Received: --config no/such/recipe.py"
    ]
