"""The command line answers bad input with one line on stderr and exit code 2, never a traceback."""

import os
import subprocess
import sys

import keras
import pytest
import tensorflow as tf

import tfadv_cli as _quiet
from tests.conftest import tiny_cnn
from tfadv.cli import evaluate as evaluate_cli
from tfadv.cli.main import main
from tfadv.evaluation import load_model
from tfadv.export import to_saved_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CUSTOM_LAYERS = """
import keras


@keras.saving.register_keras_serializable(package="tfadv_cli_errors_tests")
class Shift(keras.layers.Layer):
    def call(self, x):
        return x + 0.5
"""


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A logits model, the same truncated to 100 bytes, and a model ending in a softmax."""
    root = tmp_path_factory.mktemp("models")
    tiny_cnn().save(root / "m.keras")
    (root / "cut.keras").write_bytes((root / "m.keras").read_bytes()[:100])
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
    keras.Model(inputs, outputs).save(root / "softmax.keras")
    return root


def one_error_line(capsys, command):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"tfadv {command}: error: ")
    return lines[0]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_an_output_folder_that_cannot_be_created_is_refused_before_any_work(tmp_path, capsys):
    # The model file does not even exist: `--out` is checked first.
    argv = ["export", str(tmp_path / "nope.keras"), "--format", "saved_model", "--out", "/proc/x"]
    assert main(argv) == 2
    line = one_error_line(capsys, "export")
    assert "`--out`" in line and "'/proc/x'" in line and "Received: --out='/proc/x'" in line
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = str(blocker / "m.onnx")  # the folder of the file is a file
    assert main(["export", "m.keras", "--format", "onnx", "--out", out]) == 2
    line = one_error_line(capsys, "export")
    assert "an existing file" in line and line.endswith(f"Received: --out={out!r}")
    # The library refuses before tracing too, naming its argument.
    with pytest.raises(ValueError, match=r"`path` must be a folder .* Received: path='/proc/x'"):
        to_saved_model(tiny_cnn(), "/proc/x")


@pytest.mark.parametrize("command", ["evaluate", "export"])
def test_a_truncated_keras_file_is_not_reported_as_missing(model_files, tmp_path, capsys, command):
    extra = ["--format", "onnx", "--out", str(tmp_path)] if command == "export" else []
    cut = str(model_files / "cut.keras")
    assert main([command, cut, *extra]) == 2
    line = one_error_line(capsys, command)
    assert "not a complete .keras file" in line and repr(cut) in line
    assert "not found" not in line.lower()
    missing = str(tmp_path / "missing.keras")
    assert main([command, missing, *extra]) == 2
    assert "No model file" in one_error_line(capsys, command)
    assert os.listdir(tmp_path) == []


def test_the_library_reports_a_truncated_keras_file(model_files):
    with pytest.raises(ValueError, match="not a complete .keras file"):
        load_model(model_files / "cut.keras")
    with pytest.raises(FileNotFoundError):
        load_model(model_files / "missing.keras")


@pytest.mark.parametrize("format", ["onnx", "saved_model"])
def test_a_softmax_model_is_refused_before_anything_is_written(
    model_files, tmp_path, capsys, format
):
    out = tmp_path / "deploy"
    argv = ["export", str(model_files / "softmax.keras"), "--format", format, "--out", str(out)]
    assert main([*argv, "--no-verify"]) == 2
    line = one_error_line(capsys, "export")
    assert "must output logits" in line and "softmax" in line
    assert not out.exists() and os.listdir(tmp_path) == []


@pytest.fixture
def custom_model(tmp_path, monkeypatch):
    """A model file with a layer of a module that is no longer imported (nor registered)."""
    (tmp_path / "cli_custom_layers.py").write_text(CUSTOM_LAYERS)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    import cli_custom_layers

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Flatten()(cli_custom_layers.Shift()(inputs))
    keras.Model(inputs, keras.layers.Dense(10)(x)).save(tmp_path / "custom.keras")
    monkeypatch.delitem(keras.saving.get_custom_objects(), "tfadv_cli_errors_tests>Shift")
    monkeypatch.delitem(sys.modules, "cli_custom_layers")
    monkeypatch.setattr(sys, "path", sys.path[1:])
    monkeypatch.chdir(tmp_path)
    return "custom.keras"


def test_an_unregistered_custom_layer_is_explained_and_loads_with_custom_objects(
    custom_model, capsys
):
    argv = ["evaluate", custom_model, "--limit", "2", "--protocol", "quick", "--no-checks"]
    assert main([*argv, "--quiet"]) == 2
    line = one_error_line(capsys, "evaluate")
    # The whole Keras error (it ends with the layer's config), then how to register the layer.
    assert "Could not locate class 'Shift'" in line and "'registered_name':" in line
    assert "@keras.saving.register_keras_serializable()" in line
    assert "--custom-objects MODULE" in line and line.endswith("Received: path='custom.keras'")
    assert main([*argv, "--quiet", "--custom-objects", "cli_custom_layers"]) == 0
    assert "worst case" in capsys.readouterr().out
    assert main([*argv, "--custom-objects", "no_such_module_anywhere"]) == 2
    line = one_error_line(capsys, "evaluate")
    assert "`--custom-objects`" in line and "no_such_module_anywhere" in line


def test_traceback_shows_the_full_trace_before_or_after_the_subcommand(tmp_path, capsys):
    argv = ["evaluate", str(tmp_path / "missing.keras")]
    for where in (["--traceback", *argv], [*argv, "--traceback"], [*argv, "--verbose"]):
        with pytest.raises(FileNotFoundError, match="missing.keras"):
            main(where)


@pytest.mark.parametrize(
    "error, expected",
    [
        (RuntimeError("boom"), "RuntimeError: boom (run with --traceback for the full trace)"),
        (KeyError("k"), "KeyError: 'k' (run with --traceback for the full trace)"),
        (
            tf.errors.PermissionDeniedError(None, None, "/x; denied"),
            "PermissionDeniedError: /x; denied",
        ),
        (ImportError("No module named 'x'"), "No module named 'x'"),
        (TypeError("`a` must\nbe b"), "`a` must be b"),
    ],
)
def test_every_error_type_is_one_line(monkeypatch, tmp_path, capsys, error, expected):
    def fail(path):
        raise error

    monkeypatch.setattr(evaluate_cli, "load_model", fail)
    assert main(["evaluate", str(tmp_path / "m.keras")]) == 2
    assert one_error_line(capsys, "evaluate") == f"tfadv evaluate: error: {expected}"


def test_an_interrupt_exits_with_130(monkeypatch, capsys):
    def interrupt(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate_cli, "load_model", interrupt)
    assert main(["evaluate", "m.keras"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_the_start_up_filter_keeps_every_line_but_tensorflows_start_up_lines(capfd):
    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796105228.554638     395 port.cc:153] oneDNN custom operations are on.\n"
        "I0000 00:00:1796105211.138539     356 cpu_feature_guard.cc:227] This TensorFlow binary\n"
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
        "with the appropriate compiler flags.\n"
    )
    with _quiet.startup_lines_dropped():
        os.write(2, noise.encode())
        os.write(2, b"W0000 00:00:1.0 12 op_kernel.cc:1] a real warning\n")
        os.write(2, b'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: v\n')
    assert capfd.readouterr().err.splitlines() == [
        "W0000 00:00:1.0 12 op_kernel.cc:1] a real warning",
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
        "ValueError: v",
    ]


def test_a_real_process_prints_one_line_and_no_start_up_lines(tmp_path):
    """`python -m tfadv_cli` (the console script), TF's log level unset: the error is the one line."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TFADV_VERBOSE")
    }
    missing = str(tmp_path / "missing.keras")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfadv_cli",
            "export",
            missing,
            "--format",
            "onnx",
            "--out",
            str(tmp_path),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"tfadv export: error: No model file at {missing!r}. Received: path={missing!r}"
    ]


@pytest.mark.parametrize(
    "argv",
    [["evaluate", "m.keras", "--norm", "l3"], ["train", "--strategy"], ["nope"], []],
)
def test_usage_errors_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error:" in err, err
