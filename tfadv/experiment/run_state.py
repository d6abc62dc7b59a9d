"""What a run keeps of each epoch: `RunState` and checkpoints (`RunCheckpoint`), and event files."""

import dataclasses
import json
import os
import shutil
import time

import keras
import tensorflow as tf


def write_json_atomic(path, value):
    """Writes JSON to `path` through a temporary file and `os.replace` (never half a file)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_text(folder, name, text):
    """Writes `text` to the file `name` in `folder`."""
    with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
        handle.write(text)


def read_json(path, what, make=None):
    """`make(value)` (default: the value) of `path`'s JSON; a one-line `ValueError` if unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
        return value if make is None else make(value)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(
            f"The {what} is unreadable ({error}); start afresh with --overwrite. Received: {path}"
        ) from None


@dataclasses.dataclass
class RunState:
    """The finished epochs of a run: their logs, the best score and epoch, the checkpoint files.

    Written atomically after each epoch's checkpoint files, and naming them: a run killed at any
    instant restarts from the last epoch whose files and state were both written.

    Args:
        folder: the checkpoint folder (holding `state.json`).
        epochs_done: finished epochs. Defaults to `0`.
        history: one dict of epoch logs per finished epoch. Defaults to `[]`.
        best_epoch: 1-based epoch of the kept checkpoint. Defaults to `None`.
        best_score: its monitored score. Defaults to `None`.
        train_seconds: wall time of the finished epochs, over every run. Defaults to `0.0`.
        last_file: weights (with optimizer state) after the last finished epoch. Defaults to `None`.
        best_file: weights of the kept epoch. Defaults to `None`.
        epochs_history: the run's budgets, `{"epochs": N, "at_epoch": K}` each (a run extended
            from 15 to 20 epochs after its 15th holds both). Defaults to `[]`.
    """

    FILE = "state.json"

    folder: str
    epochs_done: int = 0
    history: list = dataclasses.field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    train_seconds: float = 0.0
    last_file: str | None = None
    best_file: str | None = None
    epochs_history: list = dataclasses.field(default_factory=list)

    @classmethod
    def load(cls, folder):
        """The state stored in `folder`, or a fresh one when there is none."""
        path = os.path.join(folder, cls.FILE)
        if not os.path.exists(path):
            return cls(str(folder))
        return read_json(path, "run state", lambda values: cls(str(folder), **values))

    def path(self, name):
        """The path of a checkpoint file named by the state (`None` stays `None`)."""
        return None if name is None else os.path.join(self.folder, name)

    def get_config(self):
        return {key: value for key, value in dataclasses.asdict(self).items() if key != "folder"}

    @classmethod
    def from_config(cls, config, folder="."):
        return cls(str(folder), **config)

    def save(self):
        """Writes `state.json` atomically, then removes checkpoint files it no longer names."""
        os.makedirs(self.folder, exist_ok=True)
        write_json_atomic(os.path.join(self.folder, self.FILE), self.get_config())
        self.remove_stale()

    def remove_stale(self):
        """Deletes checkpoint files the state does not name (left by a run killed mid-epoch)."""
        keep = {self.FILE, self.last_file, self.best_file}
        for name in os.listdir(self.folder):
            if name not in keep and name.endswith((".h5", ".tmp")):
                os.remove(os.path.join(self.folder, name))

    def record(self, epoch, logs, seconds, score, *, improved):
        """Adds a finished epoch (0-based `epoch`), its logs, duration and monitored score."""
        self.history = self.history[:epoch] + [{key: float(value) for key, value in logs.items()}]
        self.epochs_done = epoch + 1
        self.train_seconds += float(seconds)
        if improved:
            self.best_epoch = epoch + 1
            self.best_score = None if score is None else float(score)

    def set_budget(self, epochs, previous=None):
        """Records `epochs` as the run's budget from now on (`previous`: the stored run's)."""
        if not self.epochs_history and previous is not None:
            self.epochs_history.append({"epochs": int(previous), "at_epoch": 0})
        if not self.epochs_history or self.epochs_history[-1]["epochs"] != epochs:
            self.epochs_history.append({"epochs": int(epochs), "at_epoch": self.epochs_done})
            self.save()


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the last epoch (weights and optimizer state) and the best one, then a `RunState`.

    Each epoch writes `epoch-N.weights.h5` (with the optimizer's variables, so schedules and moments
    continue), copies it to `best-epoch-N.weights.h5` when the monitored score beats the state's
    best (a tie keeps the earlier epoch; `"last"` keeps every epoch), then writes the state.

    Args:
        state: the `RunState` to update (its `folder` receives the files).
        monitor: the epoch-log key to maximise, or `"last"`. Defaults to `"val_adv_accuracy"`.

    Example:

    ```python
    state = tfadv.experiment.RunState.load("run/checkpoints")
    model.fit(x, y, epochs=10, initial_epoch=state.epochs_done, callbacks=[RunCheckpoint(state)])
    ```
    """

    def __init__(self, state, monitor="val_adv_accuracy"):
        super().__init__()
        self.state = state
        self.monitor = monitor
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        seconds = time.time() - (self._start or time.time())
        score = None
        if self.monitor != "last":
            if self.monitor not in logs:
                raise ValueError(
                    f"The epoch logs have no `{self.monitor}` (they have {sorted(logs)}). "
                    f"Received: validation.monitor={self.monitor!r}"
                )
            score = float(logs[self.monitor])
        state = self.state
        improved = self.monitor == "last" or state.best_score is None or score > state.best_score
        state.last_file = f"epoch-{epoch + 1}.weights.h5"
        os.makedirs(state.folder, exist_ok=True)
        self.model.save_weights(state.path(state.last_file))
        if improved:
            state.best_file = f"best-epoch-{epoch + 1}.weights.h5"
            shutil.copyfile(state.path(state.last_file), state.path(state.best_file))
        state.record(epoch, logs, seconds, score, improved=improved)
        state.save()


class EventFileLogger(keras.callbacks.Callback):
    """Writes every epoch's logs as TensorBoard scalars (`train/...` and `validation/...`).

    `keras.callbacks.TensorBoard` needs the `tensorboard` package, which TensorFlow 2.21 no longer
    installs; these scalars are at step `epoch + 1`, so a resumed run continues the curves.

    Args:
        log_dir: the folder of the event files.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = str(log_dir)
        self._writer = None
        # TensorBoard's scalar plugin tag, as `tensorboard.summary.scalar` writes it.
        self._metadata = tf.compat.v1.SummaryMetadata()
        self._metadata.plugin_data.plugin_name = "scalars"

    def on_epoch_end(self, epoch, logs=None):
        self._writer = self._writer or tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            for key, value in (logs or {}).items():
                name = f"validation/{key[4:]}" if key.startswith("val_") else f"train/{key}"
                tensor = tf.constant(float(value), tf.float32)
                tf.summary.write(name, tensor, step=epoch + 1, metadata=self._metadata)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
