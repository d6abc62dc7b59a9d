"""Keras' distribution API on JAX: adversarial training on two devices is training on one.

Runs in a JAX process with two logical CPU devices
(`XLA_FLAGS=--xla_force_host_platform_device_count=2`, `test_backend_tiers.py`); skipped in any
other process. Under `keras.distribution.DataParallel` the weights are replicated and each batch
is split between the devices; the attack, the loss and the update are functions of the global
batch, so the weights after an epoch match a one-device run to float tolerance. (Over more
epochs the runs drift apart: the order of a sum differs between one device and two, and PGD's sign
steps on TRADES' near-zero KL gradients amplify the last bit.)
"""

import json

import keras
import numpy as np
import pytest

import tfadv
from tests.backends.test_methods_any_backend import _classifier
from tests.conftest import TINY_RUN
from tfadv import AttackBudget, backend
from tfadv.cli.main import main

BACKEND = keras.backend.backend()
DEVICES = keras.distribution.list_devices() if BACKEND == "jax" else []
pytestmark = pytest.mark.skipif(
    len(DEVICES) < 2, reason="needs the jax backend with two devices (test_backend_tiers.py)"
)


def _train(name, distribution):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, size=(64, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, size=64).astype("int32")
    with distribution.scope() if distribution is not None else _nothing():
        model = tfadv.methods.METHODS[name].from_knobs(
            _classifier(), budget=AttackBudget(eps=0.1, steps=3, seed=1)
        )
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
        history = model.fit(
            x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, validation_data=(x, y)
        )
        kernel = model.classifier.trainable_variables[0].value
    return model.classifier.get_weights(), history.history, kernel


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


@pytest.mark.parametrize("name", ["pgdat", "trades", "awp"])  # awp: around TRADES
def test_data_parallel_training_matches_one_device(name):
    one, one_logs, _ = _train(name, None)
    two, two_logs, kernel = _train(name, tfadv.distribute.make_distribution("mirrored"))
    assert len(kernel.sharding.device_set) == 2  # replicated on both devices
    for a, b in zip(one, two, strict=True):  # batch-norm statistics included
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    for key in ("loss", "adv_accuracy", "val_clean_accuracy"):
        np.testing.assert_allclose(two_logs[key], one_logs[key], rtol=1e-4, atol=1e-5)


def test_make_distribution_names():
    assert tfadv.distribute.make_distribution("default") is None
    mirrored = tfadv.distribute.make_distribution("mirrored")
    assert isinstance(mirrored, keras.distribution.DataParallel)
    assert mirrored.device_mesh.devices.size == len(DEVICES)
    with pytest.raises(ValueError, match="Received: name='tpu'"):
        tfadv.distribute.make_distribution(
            "tpu"
        )  # (multi_worker: tests/backends/_multi_host_fit.py)
    with pytest.raises(ValueError, match="Received: name='ring'"):
        tfadv.distribute.make_distribution("ring")


def test_train_mirrored_on_two_devices_with_uneven_batches(tmp_path, capsys):
    # 61 training digits in batches of 16 (last batch 13) and 31 validation digits: the last
    # batches lose one digit each so that both devices get the same share.
    out = tmp_path / "run"
    argv = ["train", f"--config.workdir={out}", *TINY_RUN, "--config.batch_size=16"]
    argv += ["--config.data.train_limit=61", "--config.data.validation_size=31"]
    argv += ["--config.distribution.strategy=mirrored"]
    assert main(argv) == 0, capsys.readouterr()
    printed = capsys.readouterr().out
    assert "(61 training, 31 validation" in printed and "mirrored (2 replicas)" in printed, printed
    config = json.loads((out / "config.json").read_text())
    assert config["distribution"]["strategy"] == "mirrored" and config["backend"] == "jax"
    assert (out / "summary.json").exists()
    assert keras.distribution.distribution() is None  # the run's distribution is not left set
    odd = [*argv, "--config.batch_size=15", f"--config.workdir={tmp_path / 'odd'}"]
    assert main(odd) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("Received: batch_size=15") and len(err.splitlines()) == 1, err


def test_evaluation_split_between_two_devices_gives_one_devices_verdicts():
    keras.utils.set_random_seed(0)
    classifier = _classifier()
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, size=(40, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, size=40).astype("int32")
    options = dict(eps=0.5, protocol="standard", checks=False, batch_size=16)
    one = tfadv.evaluation.evaluate(classifier, (x, y), **options)
    two = tfadv.evaluation.evaluate(classifier, (x, y), strategy="mirrored", **options)
    assert keras.distribution.distribution() is None
    assert one.per_example["broken_by"] == two.per_example["broken_by"]
    assert one.robust_accuracy == two.robust_accuracy < one.clean_accuracy
    with pytest.raises(ValueError, match="Received: strategy='multi_worker'"):
        tfadv.evaluation.evaluate(classifier, (x, y), strategy="multi_worker", **options)


def test_compiled_calls_split_their_batches_between_the_devices():
    def probe(x):
        return x * 2.0

    model = _classifier()
    with tfadv.distribute.make_distribution("mirrored").scope():
        out = backend.compiled_call(probe, model)(np.ones((16, 3), "float32"))
        odd = backend.compiled_call(probe, model)(np.ones((15, 3), "float32"))  # stays whole
    np.testing.assert_array_equal(np.asarray(out), 2.0)
    assert out.sharding.shard_shape(out.shape) == (8, 3)  # half the batch on each device
    assert odd.sharding.shard_shape(odd.shape) == (15, 3)


def test_evaluate_command_splits_batches_on_jax(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    path = tmp_path / "model.keras"
    layers = [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    keras.Sequential(layers).save(path)
    argv = ["evaluate", str(path), "--limit", "16", "--protocol", "quick"]
    argv += ["--no-checks", "--quiet", "--batch-size", "8"]
    assert main([*argv, "--strategy", "mirrored"]) == 0, capsys.readouterr().err
    assert "worst case" in capsys.readouterr().out
    assert main([*argv, "--strategy", "multi_worker"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("Received: --strategy=multi_worker") and len(err.splitlines()) == 1, err
