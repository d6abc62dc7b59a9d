"""`RunCheckpoint` / `RunState`: the best epoch survives a restart; stale files never count."""

import os

import keras
import numpy as np
import tensorflow as tf

from tfadv.experiment import EventFileLogger, RunCheckpoint, RunState


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def _epoch(callback, model, epoch, score):
    callback.set_model(model)
    callback.on_epoch_begin(epoch)
    model.layers[0].kernel.assign(np.full((3, 2), float(epoch), "float32"))
    callback.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_adv_accuracy": score})


def test_best_epoch_survives_a_restart(tmp_path):
    folder = str(tmp_path)
    model = _model()
    first = RunCheckpoint(RunState(folder))
    _epoch(first, model, 0, 0.5)
    _epoch(first, model, 1, 0.9)  # the best epoch, before the "kill"
    # A new process: the state is read back, and a worse epoch must not replace the best.
    state = RunState.load(folder)
    assert (state.epochs_done, state.best_epoch, state.best_score) == (2, 2, 0.9)
    second = RunCheckpoint(state)
    _epoch(second, model, 2, 0.7)
    state = RunState.load(folder)
    assert (state.epochs_done, state.best_epoch, state.best_score) == (3, 2, 0.9)
    assert [h["val_adv_accuracy"] for h in state.history] == [0.5, 0.9, 0.7]
    assert sorted(os.listdir(folder)) == [
        "best-epoch-2.weights.h5",
        "epoch-3.weights.h5",
        "state.json",
    ]
    restored = _model()
    restored.load_weights(state.path(state.best_file))
    np.testing.assert_array_equal(restored.layers[0].kernel.numpy(), np.ones((3, 2)))
    restored.load_weights(state.path(state.last_file))
    np.testing.assert_array_equal(restored.layers[0].kernel.numpy(), np.full((3, 2), 2.0))


def test_ties_keep_the_earlier_epoch_and_last_keeps_every_epoch(tmp_path):
    model = _model()
    callback = RunCheckpoint(RunState(str(tmp_path / "a")))
    _epoch(callback, model, 0, 0.8)
    _epoch(callback, model, 1, 0.8)
    assert callback.state.best_epoch == 1
    last = RunCheckpoint(RunState(str(tmp_path / "b")), monitor="last")
    _epoch(last, model, 0, 0.9)
    _epoch(last, model, 1, 0.1)
    assert last.state.best_epoch == 2 and last.state.best_score is None


def test_files_of_an_unrecorded_epoch_are_removed(tmp_path):
    model = _model()
    callback = RunCheckpoint(RunState(str(tmp_path)))
    _epoch(callback, model, 0, 0.5)
    # A kill after the weights were written but before the state: the files are not trusted.
    model.save_weights(str(tmp_path / "epoch-2.weights.h5"))
    model.save_weights(str(tmp_path / "best-epoch-2.weights.h5"))
    state = RunState.load(str(tmp_path))
    state.remove_stale()
    assert sorted(os.listdir(tmp_path)) == [
        "best-epoch-1.weights.h5",
        "epoch-1.weights.h5",
        "state.json",
    ]
    assert state.get_config() == RunState.from_config(state.get_config()).get_config()


def test_event_files_hold_the_epoch_scalars(tmp_path):
    logger = EventFileLogger(str(tmp_path))
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 2.0, "val_adv_accuracy": 0.25})
    logger.on_epoch_end(1, {"loss": 1.0, "val_adv_accuracy": 0.5})
    logger.on_train_end()
    (path,) = tmp_path.glob("events.out.tfevents.*")
    seen = {}
    for event in tf.compat.v1.train.summary_iterator(str(path)):
        for value in event.summary.value:
            seen[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
            assert value.metadata.plugin_data.plugin_name == "scalars"
    assert seen == {
        ("train/loss", 1): 2.0,
        ("validation/adv_accuracy", 1): 0.25,
        ("train/loss", 2): 1.0,
        ("validation/adv_accuracy", 2): 0.5,
    }
