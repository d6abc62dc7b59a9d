"""A run's output folder: created, locked while a run uses it, and bound to one config.

The lock is `fcntl.flock` on `run.lock` (naming the holder's PID and host), which the kernel drops
when its process dies: a killed run's lock is never in the way (POSIX only)."""

import contextlib
import dataclasses
import fcntl
import os
import shutil
import socket

from tfadv.experiment import config as config_lib
from tfadv.experiment.run_state import read_json, write_json_atomic, write_text

CONFIG_FILE = "config.json"
CHECKPOINTS = "checkpoints"
LOCK_FILE = "run.lock"
#: Fields whose change keeps a run: its kept classifier is evaluated and exported again.
REEVALUATED = ("evaluation.", "export.", "plot", "verbose")
#: Evaluation fields that also set the validation PGD, which picks the kept epoch.
VALIDATING = ("evaluation.eps", "evaluation.norm")


@dataclasses.dataclass(frozen=True)
class Run:
    """A prepared output folder (absolute `path`), with `notes` for the run's log (the fields
    changed since the stored run, a lock taken over) and the stored run's `previous_epochs` when
    this run extends it."""

    path: str
    notes: tuple = ()
    previous_epochs: int | None = None


@contextlib.contextmanager
def prepare(config, *, overwrite=False, command="tfadv train"):
    """Creates and locks `config.workdir` for `config`, or checks the run it holds; yields a `Run`.

    A run of the same config resumes; raised `epochs` extend it; changes of only `REEVALUATED`
    fields evaluate and export it again; any other change is refused, naming the fields
    (`overwrite` empties the folder). A non-empty folder holding no tfadv run is never emptied.
    """
    workdir = os.path.abspath(config.workdir)
    stored_path = os.path.join(workdir, CONFIG_FILE)
    if _contents(workdir) and not os.path.exists(stored_path):
        raise ValueError(
            "The output folder is not empty and holds no tfadv run (no config.json); choose "
            f"another --config.workdir. Received: workdir={config.workdir!r}"
        )
    with _writable(config):
        os.makedirs(workdir, exist_ok=True)
        lock = open(os.path.join(workdir, LOCK_FILE), "a+", encoding="utf-8")
    with lock:
        taken_over = _lock(lock, config.workdir)
        notes = (f"took over {LOCK_FILE} from a run that ended ({taken_over})",)
        run = Run(workdir, notes if taken_over else ())
        if overwrite:
            for name in _contents(workdir):
                path = os.path.join(workdir, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        elif os.path.exists(stored_path):
            run = _compare(config, read_json(stored_path, "stored config"), run)
        with _writable(config):
            write_json_atomic(stored_path, config_lib.to_plain(config))
            write_text(workdir, "command.txt", command + "\n")
            os.makedirs(os.path.join(workdir, CHECKPOINTS), exist_ok=True)
        try:
            yield run
        finally:
            lock.truncate(0)  # a clean exit leaves no holder behind; closing drops the lock


def _compare(config, stored, run):
    """`run` with notes on the allowed changes since `stored`; the other changes raise."""
    current = config_lib.to_plain(config)
    stored.pop("search", None), current.pop("search", None)  # `tfadv tune`'s, not the run's
    stored.setdefault("backend", "tensorflow")  # runs older than the field trained on TensorFlow
    validates = bool(current.get("data", {}).get("validation_size"))
    allowed, refused, previous = [], [], None
    for path, old, new in config_lib.changes(stored, current):
        line = f"{path}: {old!r} -> {new!r}"
        if path == "epochs" and isinstance(old, int) and new > old:
            allowed.append(f"{line} (extended)")
            previous = old
        elif path.startswith(REEVALUATED) and not (validates and path in VALIDATING):
            allowed.append(f"{line} (evaluation or export: the training is kept)")
        else:
            refused.append(line)
    if refused:
        raise ValueError(
            f"{config.workdir} holds a run made with another config ({'; '.join(refused)}). "
            "Rerun with the same config to resume it (raising epochs extends it; evaluation and "
            "export fields may change), pass --overwrite to start afresh, or choose another "
            "--config.workdir."
        )
    notes = run.notes + tuple(f"changed since the stored run: {line}" for line in allowed)
    return Run(run.path, notes, previous)


def _lock(lock, workdir):
    """Takes the folder's lock or refuses naming its holder; returns a dead holder's line."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        raise ValueError(
            f"{workdir} is in use by another run ({holder}, {LOCK_FILE}); wait for it to end or "
            f"stop it. Received: workdir={workdir!r}"
        ) from None
    lock.seek(0)
    stale = lock.read().strip()
    lock.truncate(0)
    lock.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    lock.flush()
    return stale


def _contents(workdir):
    return [n for n in os.listdir(workdir) if n != LOCK_FILE] if os.path.isdir(workdir) else []


@contextlib.contextmanager
def _writable(config):
    """Turns a file-system error while the folder is set up into one line naming the folder."""
    try:
        yield
    except OSError as error:
        raise ValueError(
            f"The output folder is not writable ({error.strerror or error}). "
            f"Received: workdir={config.workdir!r}"
        ) from None
