"""The backend tiers: the backend-agnostic tests again under JAX and PyTorch, in a process each.

Keras fixes its backend when it is first imported, so each backend runs in a process of its own.
JAX (the `jax` extra, in `test`) runs in the default tier; PyTorch, whose wheel from the package
index carries the CUDA libraries, is opt in (`-m torch_backend`, the `torch` extra).
"""

import importlib.util
import os
import pathlib
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

import tfadv

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: The backend-agnostic files, each run in a process of its own per backend.
AGNOSTIC = ["attacks", "methods", "evaluation", "cli"]
sys.path.insert(0, str(HERE))

from _cross_backend_pgd import build_model, run  # noqa: E402


def _environment(backend):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTEST_XDIST_WORKER", None)
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def _run_tier(backend, part, path=None, env=None):
    path = path or f"tests/backends/test_{part}_any_backend.py"
    command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", path]
    environment = {**_environment(backend), **(env or {})}
    done = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, (
        f"{backend} tier failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    )
    assert " passed" in done.stdout
    return done.stdout


def _skip_without(module):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[{module}]')")


@pytest.mark.parametrize("part", AGNOSTIC)
def test_jax_tier(part):
    _skip_without("jax")
    _run_tier("jax", part)


def test_jax_distribution_on_two_devices():
    """Keras' DataParallel on two logical CPU devices (`test_distribution_jax.py`)."""
    _skip_without("jax")
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    out = _run_tier("jax", "distribution", path="tests/backends/test_distribution_jax.py", env=env)
    assert " skipped" not in out, out[-2000:]  # the two devices were there


@pytest.mark.slow
def test_jax_multi_host_fit(tmp_path):
    """Two JAX processes on 127.0.0.1 (`jax.distributed` through
    `make_distribution("multi_worker")`) train as one process does on the same global batches."""
    _skip_without("jax")
    script = str(HERE / "_multi_host_fit.py")
    with socket.socket() as probe:  # a free port for the cluster's coordinator
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    env = _environment("jax")
    hosts = [
        subprocess.Popen(
            [sys.executable, script, str(i), "2", port, str(tmp_path / f"p{i}.npz")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    for host in hosts:
        out, _ = host.communicate(timeout=600)
        assert host.returncode == 0, out[-3000:]
    alone = subprocess.run(
        [sys.executable, script, "0", "1", port, str(tmp_path / "alone.npz")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert alone.returncode == 0, alone.stderr[-3000:]
    one, first, second = (np.load(tmp_path / f"{n}.npz") for n in ("alone", "p0", "p1"))
    assert int(first["devices"]) == int(second["devices"]) == 2 and int(one["devices"]) == 1
    np.testing.assert_allclose(first["loss"], one["loss"], rtol=1e-5)
    for key in one.files:
        if key.startswith("w"):
            np.testing.assert_array_equal(first[key], second[key])  # the hosts agree
            np.testing.assert_allclose(first[key], one[key], rtol=1e-4, atol=1e-5)


def test_keras_distribution_is_refused_on_tensorflow():
    with pytest.raises(ValueError, match="Received: backend='tensorflow'"):
        tfadv.distribute.make_distribution("mirrored")


@pytest.mark.torch_backend
@pytest.mark.parametrize("part", AGNOSTIC)
def test_torch_tier(part):
    _skip_without("torch")
    _run_tier("torch", part)


def test_same_verdicts_on_tensorflow_and_jax(tmp_path):
    """PGD-10 without random start on the same weights and digits: the same adversarial digits
    (to float tolerance) and the same verdict on each, under TensorFlow (here) and JAX."""
    _skip_without("jax")
    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(3)
    model = build_model()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(64, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, size=64).astype("int32")
    weights = model.get_weights()
    source, target = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(
        source, x=x, y=y, n_weights=len(weights), **{f"w{i}": w for i, w in enumerate(weights)}
    )
    done = subprocess.run(
        [sys.executable, str(HERE / "_cross_backend_pgd.py"), str(source), str(target)],
        cwd=ROOT,
        env=_environment("jax"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    other = np.load(target)
    assert str(other["backend"]) == "jax"
    for norm, eps in (("linf", 0.3), ("l2", 2.0)):
        x_adv, logits = run(weights, x, y, norm, eps)
        verdicts = logits.argmax(axis=1) == y
        other_verdicts = other[f"logits_{norm}"].argmax(axis=1) == y
        assert (verdicts != other_verdicts).sum() == 0, norm
        # l-inf steps are signs: a gradient entry at zero can flip one pixel by a step.
        close = np.isclose(x_adv, other[f"x_adv_{norm}"], atol=1e-4).mean()
        assert close > 0.99, (norm, close)
