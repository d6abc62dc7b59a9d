"""`RunState`: a run's finished epochs, kept with its checkpoints for truthful restarts."""

import json
import os


def write_json_atomic(path, value):
    """Writes JSON to `path` through a temporary file and `os.replace` (never half a file)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class RunState:
    """The finished epochs of a run: their logs, the best score and epoch, the checkpoint files.

    It is written (atomically) after each epoch's checkpoint files, and names them, so that a run
    killed at any instant restarts from the last epoch whose files and state were both written:
    the best-so-far score and epoch, the per-epoch history and the accumulated training time
    survive the restart, and the kept checkpoint is the one an uninterrupted run would keep.

    Args:
        folder: the checkpoint folder (holding `state.json`).
        epochs_done: finished epochs. Defaults to `0`.
        history: one dict of epoch logs per finished epoch. Defaults to `None` (empty).
        best_epoch: 1-based epoch of the kept checkpoint. Defaults to `None`.
        best_score: its monitored score. Defaults to `None`.
        train_seconds: wall time of the finished epochs, over every run. Defaults to `0.0`.
        last_file: weights (with optimizer state) after the last finished epoch. Defaults to `None`.
        best_file: weights of the kept epoch. Defaults to `None`.

    Example:

    ```python
    state = tfadv.experiment.RunState.load("artifacts/run/checkpoints")
    state.epochs_done, state.best_epoch, state.best_score
    ```
    """

    FILE = "state.json"

    def __init__(
        self,
        folder,
        epochs_done=0,
        history=None,
        best_epoch=None,
        best_score=None,
        train_seconds=0.0,
        last_file=None,
        best_file=None,
    ):
        self.folder = str(folder)
        self.epochs_done = int(epochs_done)
        self.history = [dict(h) for h in history or []]
        self.best_epoch = best_epoch
        self.best_score = best_score
        self.train_seconds = float(train_seconds)
        self.last_file = last_file
        self.best_file = best_file

    @classmethod
    def load(cls, folder):
        """The state stored in `folder`, or a fresh one when there is none."""
        path = os.path.join(folder, cls.FILE)
        if not os.path.exists(path):
            return cls(folder)
        try:
            with open(path, encoding="utf-8") as handle:
                values = json.load(handle)
            return cls(folder, **values)
        except (OSError, ValueError, TypeError) as error:
            raise ValueError(
                f"The run state is unreadable ({error}); start afresh with --overwrite. "
                f"Received: {path}"
            ) from None

    def path(self, name):
        """The path of a checkpoint file named by the state (`None` stays `None`)."""
        return None if name is None else os.path.join(self.folder, name)

    def get_config(self):
        return {
            "epochs_done": self.epochs_done,
            "history": self.history,
            "best_epoch": self.best_epoch,
            "best_score": self.best_score,
            "train_seconds": self.train_seconds,
            "last_file": self.last_file,
            "best_file": self.best_file,
        }

    @classmethod
    def from_config(cls, config, folder="."):
        return cls(folder, **config)

    def save(self):
        """Writes `state.json` atomically, then removes checkpoint files it no longer names."""
        os.makedirs(self.folder, exist_ok=True)
        write_json_atomic(os.path.join(self.folder, self.FILE), self.get_config())
        self.remove_stale()

    def remove_stale(self):
        """Deletes checkpoint files the state does not name (left by a run killed mid-epoch)."""
        keep = {self.FILE, self.last_file, self.best_file}
        for name in os.listdir(self.folder):
            if name not in keep and (name.endswith(".h5") or name.endswith(".tmp")):
                os.remove(os.path.join(self.folder, name))

    def record(self, epoch, logs, seconds, score, *, improved):
        """Adds a finished epoch (0-based `epoch`), its logs, duration and monitored score."""
        self.history = self.history[:epoch] + [{key: float(value) for key, value in logs.items()}]
        self.epochs_done = epoch + 1
        self.train_seconds += float(seconds)
        if improved:
            self.best_epoch = epoch + 1
            self.best_score = None if score is None else float(score)
