"""Weight averaging in `tfadv train` (`optimizer.ema_momentum`): checked up front, the kept and
exported classifier is the optimizer's average, and a resumed run restarts from the very state
(raw weights, average, optimizer moments, step) that the uninterrupted run continued from."""

import json

import keras
import numpy as np
import pytest

from tfadv.experiment import RunCheckpoint, build, parse, train
from tfadv.experiment.checks import check_config

SMALL = [
    "--config.epochs=2",
    "--config.data.train_limit=64",
    "--config.data.validation_size=32",
    "--config.attack.steps=1",
    "--config.validation.steps=1",
    "--config.eps_schedule.ramp_epochs=1",
    "--config.batch_size=32",
    "--config.evaluation.limit=8",
    "--config.evaluation.checks=False",
    "--config.evaluation.pgd_steps=0",
    "--config.export.enabled=False",
    "--config.plot=False",
    "--config.verbose=0",
]


def _config(out, momentum=0.9):
    overrides = [f"--config.workdir={out}", f"--config.optimizer.ema_momentum={momentum}"]
    return parse(None, [*SMALL, *overrides])[0]


@pytest.mark.parametrize("momentum", [1.0, 1.5, -0.1])
def test_ema_momentum_out_of_range_is_refused_naming_the_field(tmp_path, momentum):
    with pytest.raises(ValueError, match=rf"optimizer\.ema_momentum={momentum}"):
        check_config(_config(tmp_path, momentum))


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_build_optimizer_averages_only_when_asked(tmp_path, name):
    config = _config(tmp_path, 0.995)
    with config.unlocked():
        config.optimizer.name = name
    check_config(config)
    optimizer = build.build_optimizer(config, 64)
    assert optimizer.use_ema and optimizer.ema_momentum == 0.995
    with config.unlocked():
        config.optimizer.ema_momentum = 0.0
    assert not build.build_optimizer(config, 64).use_ema


def _state(model):
    """The model's trainable weights and every optimizer variable (averages, moments, step)."""
    return (
        [w.numpy() for w in model.trainable_variables],
        {v.path.split("/", 1)[-1]: v.numpy() for v in model.optimizer.variables},
    )


def _averages(optimizer_state):
    return [value for path, value in optimizer_state.items() if path.endswith("_average")]


@pytest.mark.slow
def test_kept_model_is_the_average_and_resume_restarts_from_the_saved_state(tmp_path, monkeypatch):
    saved, started, interrupt = {}, {}, {"after": None}
    on_epoch_begin, on_epoch_end = RunCheckpoint.on_epoch_begin, RunCheckpoint.on_epoch_end

    def begin(self, epoch, logs=None):
        started[(self.state.folder, epoch)] = _state(self.model)
        on_epoch_begin(self, epoch, logs)

    def end(self, epoch, logs=None):
        on_epoch_end(self, epoch, logs)  # writes the checkpoint, then the state
        saved[(self.state.folder, epoch)] = _state(self.model)
        if interrupt["after"] == epoch:
            interrupt["after"] = None
            raise KeyboardInterrupt  # what Ctrl-C does: the run stops after a saved epoch

    monkeypatch.setattr(RunCheckpoint, "on_epoch_begin", begin)
    monkeypatch.setattr(RunCheckpoint, "on_epoch_end", end)

    # An uninterrupted run: the exported classifier is the average of the kept epoch.
    a = tmp_path / "a"
    assert train(_config(a)) == 0
    summary = json.loads((a / "summary.json").read_text())
    assert summary["ema_momentum"] == 0.9
    log = (a / "train.log").read_text()
    assert "the kept model is the weight average (EMA, momentum 0.9)" in log
    raw, optimizer_state = saved[(str(a / "checkpoints"), summary["best_epoch"] - 1)]
    averages = _averages(optimizer_state)
    assert len(averages) == len(raw)
    exported = keras.saving.load_model(a / "classifier.keras").trainable_weights
    for weight, average in zip(exported, averages, strict=True):
        np.testing.assert_array_equal(weight.numpy(), average)
    # Two steps per epoch at momentum 0.9: the average is not the raw weights.
    assert any(not np.allclose(w, m) for w, m in zip(raw, averages, strict=True))

    # Stopped after epoch 1, then the same config again: epoch 2 starts from the saved raw
    # weights with the saved average and optimizer state, exactly as in the uninterrupted run.
    b = tmp_path / "b"
    interrupt["after"] = 0
    assert train(_config(b)) == 130
    assert train(_config(b)) == 0
    weights_a, optimizer_a = saved[(str(a / "checkpoints"), 0)]
    for run in (a, b):  # a continues in memory, b from the checkpoint file
        weights, optimizer_state = started[(str(run / "checkpoints"), 1)]
        assert sorted(optimizer_state) == sorted(optimizer_a)
        for x, y in zip(weights_a, weights, strict=True):
            np.testing.assert_array_equal(x, y)
        for path, value in optimizer_a.items():
            np.testing.assert_array_equal(value, optimizer_state[path], err_msg=path)
    history = [
        json.loads((d / "checkpoints" / "state.json").read_text())["history"] for d in (a, b)
    ]
    assert history[0][0] == history[1][0] and len(history[1]) == 2

    # ... and ends where the uninterrupted run ends: each epoch's batches are keyed by (seed,
    # epoch) and the random starts by (seed, batch), so the kept classifier is the same.
    summaries = [json.loads((d / "summary.json").read_text()) for d in (a, b)]
    assert summaries[0]["best_epoch"] == summaries[1]["best_epoch"]
    kept = [keras.saving.load_model(d / "classifier.keras").get_weights() for d in (a, b)]
    for x, y in zip(*kept, strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)


def test_epoch_batches_resume_with_the_uninterrupted_order():
    x = np.arange(10, dtype="float32")[:, None]
    y = np.arange(10, dtype="int32")

    def batches(first):
        dataset, steps = build.epoch_batches(x, y, 4, seed=3, first_epoch=first, epochs=3)
        assert steps == 3  # 4 + 4 + 2: nothing dropped
        return [b[1].numpy().tolist() for b in dataset]

    full, resumed = batches(0), batches(1)
    assert len(full) == 9 and resumed == full[3:]
    for epoch in range(3):  # every example once per epoch, in an order that changes
        assert sorted(sum(full[3 * epoch : 3 * epoch + 3], [])) == list(range(10))
    assert full[:3] != full[3:6]
    for images, labels in build.epoch_batches(x, y, 4, 3, 0, 1)[0]:
        np.testing.assert_array_equal(images.numpy()[:, 0], labels.numpy())


def test_epoch_batches_augment_resumes_with_the_uninterrupted_crops():
    """`data.augment`: batch b of epoch e gets the same random shifts whatever epoch a run began."""
    x = np.random.default_rng(0).uniform(size=(10, 8, 8, 1)).astype("float32")
    y = np.arange(10, dtype="int32")
    options = {"padding": 2, "flip": False}

    def batches(first):
        dataset, _ = build.epoch_batches(x, y, 4, 3, first, 3, augment=options)
        return list(dataset.as_numpy_iterator())

    full, resumed = batches(0), batches(1)
    assert len(resumed) == 6
    for (xa, ya), (xb, yb) in zip(full[3:], resumed, strict=True):
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(xa, xb)
    # Augmented: not the raw digits, and a new draw for the same examples in another epoch.
    images, labels = full[0]
    assert not np.array_equal(images, x[labels])
    firsts = [np.concatenate([b[0] for b in full[3 * e : 3 * e + 3]]) for e in range(3)]
    orders = [np.concatenate([b[1] for b in full[3 * e : 3 * e + 3]]) for e in range(3)]
    by_example = [f[np.argsort(o)] for f, o in zip(firsts, orders, strict=True)]
    assert not np.array_equal(by_example[0], by_example[1])
