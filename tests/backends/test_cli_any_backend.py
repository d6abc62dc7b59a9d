"""`tfadv train` under whichever Keras backend this process runs, and `--backend` itself.

The run folder records the backend (`config.json`'s `backend`), a run resumes only on the backend
it was made with, and `--backend` names a backend before Keras loads: in a process where Keras
already runs another one, it is refused in one line. `test_backend_tiers.py` runs this file again
under JAX.
"""

import json

import keras
import pytest

import tfadv_cli
from tests.conftest import TINY_RUN
from tfadv import backend
from tfadv.cli.main import main

BACKEND = keras.backend.backend()
OTHER = "jax" if BACKEND == "tensorflow" else "tensorflow"


def _error(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_the_run_folder_records_the_backend(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", f"--config.workdir={out}", *TINY_RUN]) == 0, capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["backend"] == BACKEND


def test_backend_must_be_the_one_keras_runs(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", f"--config.workdir={out}", *TINY_RUN, f"--config.backend={OTHER}"]
    assert main(argv) == 2
    err = _error(capsys)
    assert f"Received: backend={OTHER!r}" in err and "--backend" in err
    assert not out.exists()


def test_a_run_resumes_only_on_its_backend(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", f"--config.workdir={out}", *TINY_RUN]) == 0
    stored = json.loads((out / "config.json").read_text())
    stored["backend"] = OTHER  # as if made on the other backend
    (out / "config.json").write_text(json.dumps(stored))
    capsys.readouterr()
    assert main(["train", f"--config.workdir={out}", *TINY_RUN]) == 2
    assert f"backend: {OTHER!r} -> {BACKEND!r}" in _error(capsys)


@pytest.mark.parametrize("flag", [["--backend", OTHER], [f"--backend={OTHER}"]])
def test_backend_flag_after_keras_loaded_is_refused(flag, capsys):
    assert main([*flag, "train", "--smoke"]) == 2
    err = _error(capsys)
    assert f"Keras is already loaded with the {BACKEND!r} backend" in err


def test_unknown_backend_is_refused(capsys):
    assert main(["--backend", "mxnet", "train"]) == 2
    assert "invalid choice: 'mxnet'" in _error(capsys)


@pytest.mark.skipif(BACKEND == "tensorflow", reason="TensorFlow exports")
def test_export_needs_tensorflow(tmp_path, capsys):
    argv = ["train", f"--config.workdir={tmp_path / 'run'}", *TINY_RUN]
    argv.remove("--config.export.enabled=False")
    assert main(argv) == 2
    assert "`export.enabled` needs the tensorflow backend" in _error(capsys)


@pytest.mark.skipif(BACKEND == "tensorflow", reason="tf.distribute runs on TensorFlow")
def test_tf_distribute_only_strategies_need_tensorflow(tmp_path, capsys):
    # On JAX 'mirrored' is Keras' DataParallel (tests/backends/test_distribution_jax.py); the
    # multi-worker and TPU strategies are tf.distribute's; PyTorch trains on one device.
    argv = ["train", f"--config.workdir={tmp_path / 'run'}", *TINY_RUN]
    for strategy in ("multi_worker", "tpu") if BACKEND == "jax" else ("mirrored",):
        assert main([*argv, f"--config.distribution.strategy={strategy}"]) == 2
        assert f"Received: distribution.strategy={strategy!r}" in _error(capsys)


def test_the_console_scripts_backend_names_are_the_registry_of_backends():
    """`tfadv_cli` loads before Keras (so it cannot import `tfadv.backend`); its copy must agree."""
    assert tfadv_cli.BACKENDS == backend.BACKENDS


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch evaluates on one device")
def test_evaluate_strategy_is_refused_on_torch(tmp_path, capsys):
    path = tmp_path / "model.keras"
    keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    ).save(path)
    assert main(["evaluate", str(path), "--limit", "4", "--strategy", "mirrored"]) == 2
    assert _error(capsys).endswith("Received: --strategy=mirrored")
