"""`tfadv export MODEL --format saved_model|onnx --out DIR`: export, verify, report, exit code."""

import os
import subprocess
import sys

import keras
import numpy as np
import onnx
import pytest
import tensorflow as tf

import tfadv
import tfadv.layers
from tests.conftest import tiny_cnn
from tfadv.cli import main as cli_main
from tfadv.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_cli(*argv):
    """Runs `tfadv export ...` in-process; returns the exit code."""
    return main(["export", *map(str, argv)])


def randomized(model, seed=0):
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign(value + rng.normal(0.0, 0.1, value.shape).astype(value.dtype))
    return model


@pytest.fixture
def mnist_model_file(tmp_path):
    path = tmp_path / "digits.keras"
    randomized(tiny_cnn()).save(path)
    return path


def test_cli_is_registered_in_main():
    assert "tfadv.cli.export" in cli_main.SUBCOMMANDS


def test_onnx_round_trip_verifies_on_embedded_mnist(mnist_model_file, tmp_path, capsys):
    assert (
        run_cli(mnist_model_file, "--format", "onnx", "--out", tmp_path / "deploy", "--opset", 16)
        == 0
    )
    out = capsys.readouterr().out
    onnx_path = tmp_path / "deploy" / "digits.onnx"
    assert onnx_path.is_file()
    assert f"to {onnx_path}" in out
    assert "Verifying on 256 embedded MNIST test digits and on PGD(" in out
    assert "result:               PASSED" in out
    assert "adversarial accuracy: Keras" in out
    # The written file is the model that was saved.
    assert onnx.load(str(onnx_path)).opset_import[0].version == 16


def test_saved_model_versions_increment(mnist_model_file, tmp_path, capsys):
    serving = tmp_path / "serving"
    assert (
        run_cli(mnist_model_file, "--format", "saved_model", "--out", serving, "--no-verify") == 0
    )
    assert (
        run_cli(mnist_model_file, "--format", "saved_model", "--out", serving, "--no-verify") == 0
    )
    assert (
        run_cli(
            mnist_model_file,
            "--format",
            "saved_model",
            "--out",
            serving,
            "--version",
            7,
            "--no-verify",
        )
        == 0
    )
    assert sorted(os.listdir(serving)) == ["1", "2", "7"]
    out = capsys.readouterr().out
    assert "Export parity" not in out
    signature = tf.saved_model.load(str(serving / "7")).signatures["serving_default"]
    logits = signature(images=tf.zeros((2, 28, 28, 1)))["logits"]
    assert logits.shape == (2, 10) and logits.dtype == tf.float32


def test_other_shapes_verify_on_random_images(tmp_path, capsys):
    path = tmp_path / "rgb.keras"
    randomized(tiny_cnn(num_classes=4, input_shape=(16, 16, 3))).save(path)
    code = run_cli(
        path, "--format", "saved_model", "--out", tmp_path / "s", "--verify-examples", 16
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "16 uniform random images of shape (16, 16, 3)" in out
    assert "labelled with the Keras model's own predictions" in out
    assert "PASSED" in out


def test_adv_model_file_exports_its_classifier(tmp_path, capsys):
    model = tfadv.AdvModel(randomized(tiny_cnn()), attack=tfadv.attacks.PGD(eps=0.1, steps=2))
    path = tmp_path / "adv.keras"
    model.save(path)
    assert run_cli(path, "--format", "onnx", "--out", tmp_path / "adv.onnx") == 0
    assert "PASSED" in capsys.readouterr().out
    assert (tmp_path / "adv.onnx").is_file()


def test_stochastic_export_skips_parity(tmp_path, capsys):
    inputs = keras.Input((8, 8, 1))
    x = tfadv.layers.GaussianNoiseInjection(0.1)(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(x))
    path = tmp_path / "noisy.keras"
    keras.Model(inputs, outputs).save(path)
    assert run_cli(path, "--format", "onnx", "--out", tmp_path, "--stochastic") == 0
    assert "Parity check skipped" in capsys.readouterr().out
    # Deterministic by default: verified.
    assert run_cli(path, "--format", "onnx", "--out", tmp_path / "det", "--verify-examples", 8) == 0
    assert "PASSED" in capsys.readouterr().out


@keras.saving.register_keras_serializable(package="tfadv_export_tests")
class EagerShift(keras.layers.Layer):
    """Behaves differently eagerly and when traced: the exported graph differs from the model."""

    def call(self, x):
        return x + 1.0 if tf.executing_eagerly() else x


def test_failed_parity_exits_with_1(tmp_path, capsys):
    inputs = keras.Input((28, 28, 1))
    outputs = EagerShift()(keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    path = tmp_path / "shifty.keras"
    keras.Model(inputs, outputs).save(path)
    assert run_cli(path, "--format", "saved_model", "--out", tmp_path / "s") == 1
    out = capsys.readouterr().out
    assert "result:               FAILED" in out


def test_cli_errors(mnist_model_file, tmp_path, capsys):
    assert run_cli(tmp_path / "missing.keras", "--format", "onnx", "--out", tmp_path) == 2
    assert "No model file" in capsys.readouterr().err
    assert run_cli(mnist_model_file, "--format", "onnx", "--out", tmp_path, "--opset", 99) == 2
    assert "Received: opset=99" in capsys.readouterr().err
    assert (
        run_cli(mnist_model_file, "--format", "onnx", "--out", tmp_path, "--input-shape", "a,b")
        == 2
    )
    assert "--input-shape" in capsys.readouterr().err
    assert (
        run_cli(
            mnist_model_file, "--format", "saved_model", "--out", tmp_path, "--verify-examples", 0
        )
        == 2
    )
    with pytest.raises(SystemExit):
        run_cli(mnist_model_file, "--format", "tflite", "--out", tmp_path)


def test_export_model_script(mnist_model_file, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "export", "export_model.py"),
            str(mnist_model_file),
            "--format",
            "onnx",
            "--out",
            str(tmp_path / "script"),
            "--no-verify",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "script" / "digits.onnx").is_file()
