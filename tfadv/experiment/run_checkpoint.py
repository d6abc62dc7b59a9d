"""`RunCheckpoint`: per-epoch checkpoints that resume exactly and keep the true best epoch."""

import os
import shutil
import time

import keras


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the last epoch (weights and optimizer state) and the best one, then a `RunState`.

    At the end of every epoch it writes `epoch-N.weights.h5` (the model's weights with the
    optimizer's variables, so the learning-rate schedule and Adam's moments continue), copies it
    to `best-epoch-N.weights.h5` when the monitored score beats the best so far (read from the
    state, so a restart does not forget it), and only then writes the state that names both files.
    Files of an epoch whose state was never written are deleted at the next start. With
    `monitor="last"` every epoch is kept.

    Args:
        state: the `tfadv.experiment.RunState` to update (its `folder` receives the files).
        monitor: the epoch-log key to maximise, or `"last"`. Defaults to `"val_adv_accuracy"`.

    Example:

    ```python
    state = tfadv.experiment.RunState.load("run/checkpoints")
    model.fit(x, y, epochs=10, initial_epoch=state.epochs_done,
              callbacks=[tfadv.experiment.RunCheckpoint(state)])
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
        best = self.state.best_score
        improved = self.monitor == "last" or best is None or score > best
        state = self.state
        last_file = f"epoch-{epoch + 1}.weights.h5"
        os.makedirs(state.folder, exist_ok=True)
        self.model.save_weights(state.path(last_file))
        if improved:
            best_file = f"best-epoch-{epoch + 1}.weights.h5"
            shutil.copyfile(state.path(last_file), state.path(best_file))
            state.best_file = best_file
        state.last_file = last_file
        state.record(epoch, logs, seconds, score, improved=improved)
        state.save()

    def get_config(self):
        return {
            "state": self.state.get_config(),
            "folder": self.state.folder,
            "monitor": self.monitor,
        }

    @classmethod
    def from_config(cls, config):
        from tfadv.experiment.run_state import RunState

        state = RunState.from_config(config["state"], os.fspath(config["folder"]))
        return cls(state, monitor=config["monitor"])
