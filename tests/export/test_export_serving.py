"""`export/serve_onnx.py` classifies images from an ONNX export alone (no TensorFlow, no tfadv)."""

import ast
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import tfadv.export
from tests.conftest import tiny_cnn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "export", "serve_onnx.py")

# Runs the script with TensorFlow, Keras and tfadv made unimportable.
LAUNCHER = (
    "import runpy, sys\n"
    "for name in ('tensorflow', 'keras', 'tfadv', 'tf2onnx'):\n"
    "    sys.modules[name] = None\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def serve(*args):
    env = dict(os.environ, PYTHONPATH="")
    return subprocess.run(
        [sys.executable, "-c", LAUNCHER, SCRIPT, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


@pytest.fixture
def exported(tmp_path):
    model = tiny_cnn()
    rng = np.random.default_rng(0)
    for weight in model.trainable_weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign(value + rng.normal(0.0, 0.1, value.shape).astype("float32"))
    path = tfadv.export.to_onnx(model, tmp_path / "digits.onnx")
    return model, path


def test_script_imports_only_numpy_onnxruntime_and_the_standard_library():
    with open(SCRIPT, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names)
    assert third_party == {"numpy", "onnxruntime"}


def test_serving_example_classifies_npy_images(exported, tmp_path):
    model, path = exported
    rng = np.random.default_rng(1)
    single = rng.uniform(size=(28, 28, 1)).astype("float32")  # one float image
    batch_uint8 = rng.integers(
        0, 256, size=(3, 28, 28), dtype=np.uint8
    )  # grayscale, no channel axis
    np.save(tmp_path / "one.npy", single)
    np.save(tmp_path / "batch.npy", batch_uint8)
    x = np.concatenate([single[None], batch_uint8[..., None].astype("float32") / 255.0])
    expected = np.argmax(keras.ops.convert_to_numpy(model(x, training=False)), axis=-1)
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"digit-{i}" for i in range(10)))

    result = serve(path, tmp_path / "one.npy", tmp_path / "batch.npy", "--json", "--top-k", "3")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["index"] for r in records] == expected.tolist()
    assert records[0]["image"].endswith("one.npy")
    assert records[1]["image"].endswith("batch.npy[0]")
    for record in records:
        probabilities = [entry["probability"] for entry in record["top_k"]]
        assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)

    result = serve(path, tmp_path / "batch.npy", "--labels", labels)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{tmp_path / 'batch.npy'}[0]: digit-{expected[1]} (")


def test_serving_example_rejects_bad_images(exported, tmp_path):
    _, path = exported
    np.save(tmp_path / "big.npy", np.full((28, 28, 1), 3.0, "float32"))
    np.save(tmp_path / "wrong.npy", np.zeros((32, 32, 3), "float32"))
    result = serve(path, tmp_path / "big.npy")
    assert result.returncode == 2 and "[0, 1]" in result.stderr
    result = serve(path, tmp_path / "wrong.npy")
    assert result.returncode == 2 and "expected images of shape (28, 28, 1)" in result.stderr
