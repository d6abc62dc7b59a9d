"""`tfadv train --strategy` runs, and the loop that replaces `fit` under several workers.

`tfadv.experiment.distributed.fit_multi_worker` (Keras' `fit` cannot run under
MultiWorkerMirroredStrategy, keras-team/keras#20585) runs under any strategy: here under
`MirroredStrategy` on the two logical CPU devices of `tests/conftest.py`, against `fit`. The CLI
runs: `--strategy mirrored` on those two devices, and `--strategy multi_worker` as two `tfadv train`
processes on loopback. All slow (tracing under a strategy takes tens of seconds on a shared CPU).
"""

import json
import os
import subprocess
import sys

import _tiny
import keras
import ml_collections
import numpy as np
import pytest
import tensorflow as tf
from _cluster import free_ports

import tfadv
from tfadv.experiment import build, distributed

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


def _tiny_model():
    attack = tfadv.attacks.PGD(eps=0.1, step_size=0.05, steps=1, seed=0)
    model = tfadv.methods.PGDAT(_tiny.classifier(), attack, eval_attack=attack)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.build((None, *_tiny.SHAPE))
    model.optimizer.build(model.trainable_variables)
    return model


class _Logs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs, self.tests = [], 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, dict(logs)))

    def on_test_end(self, logs=None):
        self.tests += 1


def test_multi_worker_epochs_visit_the_examples_in_fit_order():
    """Epoch e's order is the one `tfadv train`'s `fit` path uses (and the same after a resume)."""
    x, y = _tiny.data(10)
    for epoch in (0, 3):
        got_x, got_y = distributed._epoch((x, y), 7, epoch)
        batches, _ = build.epoch_batches(x, y, 4, 7, epoch, epoch + 1)
        want = list(batches.as_numpy_iterator())
        np.testing.assert_array_equal(got_x, np.concatenate([b[0] for b in want]))
        np.testing.assert_array_equal(got_y, np.concatenate([b[1] for b in want]))
    assert not np.array_equal(distributed._epoch((x, y), 7, 0)[1], got_y)


def test_multi_worker_epochs_augment_as_fit_does():
    """With `data.augment`, the multi-worker loop trains on the crops `fit`'s batches get."""
    x = np.random.default_rng(0).uniform(size=(10, 8, 8, 1)).astype("float32")
    y = np.arange(10, dtype="int32")
    options = {"padding": 2, "flip": False}
    got_x, got_y = distributed._epoch((x, y), 7, 2, options, batch_size=4)
    batches, _ = build.epoch_batches(x, y, 4, 7, 2, 3, augment=options)
    want = list(batches.as_numpy_iterator())
    np.testing.assert_array_equal(got_y, np.concatenate([b[1] for b in want]))
    np.testing.assert_array_equal(got_x, np.concatenate([b[0] for b in want]))
    assert not np.array_equal(got_x, x[got_y])  # y indexes x: these are shifted digits


@pytest.mark.slow
def test_multi_worker_loop_logs_what_fit_logs_on_two_replicas():
    """The loop that replaces `fit` under MultiWorkerMirroredStrategy, run under MirroredStrategy."""
    x, y = _tiny.data(40)
    data = build.Data(
        train=(x[:32], y[:32]),
        validation=(x[32:], y[32:]),
        test=(x[32:], y[32:]),
        shape=x.shape[1:],
        classes=10,
    )
    config = ml_collections.ConfigDict(
        {"batch_size": 8, "seed": 0, "verbose": 0, "epochs": 3, "data": {"augment": False}}
    )
    strategy = tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    with strategy.scope():
        model = _tiny_model()
    logs = _Logs()
    distributed.fit_multi_worker(model, config, data, [logs], initial_epoch=1)
    reference = _tiny_model()
    fitted = reference.fit(x[:32], y[:32], batch_size=8, epochs=1, validation_data=data.validation)
    assert [epoch for epoch, _ in logs.epochs] == [1, 2] and logs.tests == 2
    assert set(logs.epochs[-1][1]) == set(fitted.history)
    assert "val_adv_accuracy" in logs.epochs[-1][1]
    # 4 global batches per epoch; the last one of epoch 2 runs at progress 2 + 3/4.
    assert float(model.epoch_progress.numpy()) == 2.75
    # The validation metrics are global: the clean accuracy of the trained classifier on all 8.
    logits = model.classifier(x[32:], training=False).numpy()
    clean = float(np.mean(np.argmax(logits, -1) == y[32:]))
    assert logs.epochs[-1][1]["val_clean_accuracy"] == pytest.approx(clean)


@pytest.mark.slow
def test_mirrored_smoke_run_on_two_logical_cpus(tmp_path):
    """In a process of its own: its strategy's collective ops must not meet another test's."""
    out = tmp_path / "run"
    argv = ["train", "--strategy", "mirrored", f"--config.workdir={out}", *TINY]
    script = (
        "import sys, tensorflow as tf\n"
        "cpu = tf.config.list_physical_devices('CPU')[0]\n"
        "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
        "from tfadv.cli.main import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT, CUDA_VISIBLE_DEVICES="")
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, timeout=900
    )
    printed = run.stdout.decode()
    assert run.returncode == 0, printed[-3000:] + run.stderr.decode()[-3000:]
    assert "strategy mirrored (2 replicas)" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 1 and (out / "classifier.keras").exists()
    assert "--strategy mirrored" in (out / "command.txt").read_text()
    history = json.loads((out / "checkpoints" / "state.json").read_text())["history"]
    assert 0.0 <= history[0]["val_adv_accuracy"] <= history[0]["val_clean_accuracy"] <= 1.0


@pytest.mark.slow
def test_two_multi_worker_processes_train_and_the_chief_reports(tmp_path):
    out = tmp_path / "run"
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
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
