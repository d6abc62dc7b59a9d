"""`train`: one experiment config in, one output folder out (resumable, validated up front)."""

import contextlib
import json
import os
import sys
import time

from tfadv.experiment import build, distributed, outputs
from tfadv.experiment import workdir as workdir_lib
from tfadv.experiment.checks import check_config
from tfadv.experiment.run_state import RunState, write_json_atomic

#: The exit status of a run stopped by Ctrl-C (the shell's convention for SIGINT).
INTERRUPTED = 130


class _Tee:
    """Writes to the terminal and to the run's log file (flushed, so a killed run keeps its log)."""

    def __init__(self, stream, log):
        self._stream, self._log = stream, log

    def write(self, text):
        self._stream.write(text)
        self._log.write(text)
        self._log.flush()
        return len(text)

    def flush(self):
        self._stream.flush()
        self._log.flush()

    def isatty(self):
        return getattr(self._stream, "isatty", lambda: False)()

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def _logging_to(path):
    with open(path, "a", encoding="utf-8") as log:
        stdout = sys.stdout
        sys.stdout = _Tee(stdout, log)
        try:
            yield
        finally:
            sys.stdout = stdout


def train(config, *, overwrite=False, command="tfadv train"):
    """Trains, evaluates and exports the experiment `config` into `config.workdir`.

    Everything is validated before data is read; a folder holding a run of the same config resumes
    it from its last finished epoch (a finished run goes straight to evaluation), one of another
    config is refused naming the fields that differ (`overwrite` starts afresh). Ctrl-C stops at
    once and says how to resume.

    Args:
        config: a resolved `ml_collections.ConfigDict` (see `tfadv/experiment/defaults.py`).
        overwrite: start afresh in a folder that holds a run. Defaults to `False`.
        command: the command line, for the resume hint and `command.txt`. Defaults to
            `"tfadv train"`.

    Returns:
        `0` when finished, `130` when interrupted.
    """
    plan = check_config(config)
    strategy = distributed.make_strategy(config)  # before any other TensorFlow op
    if distributed.is_chief(strategy):
        workdir = workdir_lib.prepare(config, overwrite=overwrite, command=command)
        log = os.path.join(workdir, "train.log")
    else:  # created once the chief has prepared the run's folder (`distributed.load_state`)
        workdir, log = distributed.worker_folder(config, strategy), os.devnull
    with _logging_to(log):
        try:
            return _run(config, plan, workdir, strategy, overwrite)
        except KeyboardInterrupt:
            state = RunState.load(os.path.join(workdir, workdir_lib.CHECKPOINTS))
            print(
                f"\ninterrupted: {state.epochs_done} of {config.epochs} epochs are saved in "
                f"{config.workdir}; resume with the same command: {command}",
                flush=True,
            )
            return INTERRUPTED


def _run(config, plan, workdir, strategy, overwrite=False):
    import keras

    start = time.time()
    keras.utils.set_random_seed(config.seed)
    data = build.load_data(config)
    with strategy.scope():
        model = _build(config, plan, data)
    state = distributed.load_state(
        strategy, os.path.join(workdir, workdir_lib.CHECKPOINTS), overwrite=overwrite
    )
    validation, replicas = data["validation"], strategy.num_replicas_in_sync
    print(
        f"tfadv train: {type(model).__name__} ({config.method.name}) on {config.data.name} "
        f"({data['train_size']} training, {0 if validation is None else len(validation[0])} "
        f"validation, {len(data['test'][0])} test examples), model "
        f"{config.model.init or config.model.name}, train eps {config.attack.eps:g} "
        f"({plan['budget'].steps} steps), epochs: {config.epochs}, global batch "
        f"{config.batch_size}, strategy {config.distribution.strategy} "
        f"({replicas} replica{'s' if replicas != 1 else ''}) -> "
        f"{config.workdir if distributed.is_chief(strategy) else workdir}",
        flush=True,
    )
    state.remove_stale()
    if state.epochs_done:
        _load(model, state.path(state.last_file))
        print(
            f"resuming after epoch {state.epochs_done} of {config.epochs} (best so far: epoch "
            f"{state.best_epoch}, {config.validation.monitor} {state.best_score})",
            flush=True,
        )
    resumed_at = state.epochs_done
    if state.epochs_done < config.epochs:
        _fit(config, model, data, state, workdir)
    if not distributed.is_chief(strategy):
        print(f"worker done: {state.epochs_done} epochs; the chief evaluates and exports")
        return 0
    outputs.write_history(state, workdir)
    if config.distribution.strategy != "default":  # evaluate and export outside the strategy
        model = _build(config, plan, data)
    _load(model, state.path(state.best_file))
    ema = config.optimizer.ema_momentum or None
    if ema:  # the checkpoint holds the raw weights and the average: keep the average
        model.optimizer.finalize_variable_values(model.trainable_variables)
    which = (
        f"the last epoch ({state.best_epoch})"
        if config.validation.monitor == "last"
        else f"the epoch with the best {config.validation.monitor} "
        f"(epoch {state.best_epoch}, {state.best_score:.4f})"
    )
    resumed = f"; this run resumed after epoch {resumed_at}" if resumed_at else ""
    print(
        f"trained {state.epochs_done} epochs in {state.train_seconds:.0f} s{resumed}; "
        f"restored {which}",
        flush=True,
    )
    if ema:
        print(
            f"the kept model is the weight average (EMA, momentum {ema:g}) of that epoch",
            flush=True,
        )
    classifier = model.classifier
    report, pgd = outputs.evaluate(config, classifier, data["test"], workdir, print)
    plot_path = (
        outputs.plot(state, workdir, config.validation.monitor, print) if config.plot else None
    )
    files = outputs.export(config, classifier, data["test"], workdir, print)
    if plot_path:
        files["plot"] = plot_path
    summary = {
        "method": type(model).__name__,
        "epochs": state.epochs_done,
        "best_epoch": state.best_epoch,
        "best_score": state.best_score,
        "monitor": config.validation.monitor,
        "ema_momentum": ema,
        "train_seconds": round(state.train_seconds, 1),
        "report": report.to_dict(),
        "pgd": None if pgd is None else pgd.to_dict(),
        "outputs": files,
    }
    write_json_atomic(os.path.join(workdir, "summary.json"), summary)
    print(f"done in {time.time() - start:.0f} s; outputs: {json.dumps(files)}", flush=True)
    return 0


def _fit(config, model, data, state, workdir):
    from tfadv.callbacks.weight_averaging import WeightAveraging
    from tfadv.experiment.event_file_logger import EventFileLogger
    from tfadv.experiment.run_checkpoint import RunCheckpoint

    # With weight averaging, validation (which picks the kept epoch) sees the averaged weights,
    # and the checkpoint after it holds the raw weights with the optimizer's average, so that a
    # resumed run continues the same trajectory.
    averaging = [WeightAveraging(swap_on_epoch=False)] if config.optimizer.ema_momentum else []
    callbacks = [
        *averaging,
        RunCheckpoint(state, monitor=config.validation.monitor),
        EventFileLogger(os.path.join(workdir, "tensorboard")),
    ]
    if distributed.is_multi_worker(model.distribute_strategy):  # Keras' fit cannot, yet
        distributed.fit_multi_worker(model, config, data, callbacks, state.epochs_done)
        return
    # Each epoch's order (and augmentation) is a function of (seed, epoch), so a resumed run sees
    # the batches the uninterrupted run would have seen (Keras' own shuffle restarts its sequence
    # on resume).
    train, steps_per_epoch = build.epoch_batches(
        *data["train"],
        config.batch_size,
        config.seed,
        state.epochs_done,
        config.epochs,
        augment=build.augment_options(config),
    )
    model.fit(
        train,
        epochs=config.epochs,
        initial_epoch=state.epochs_done,
        validation_data=data["validation"],
        callbacks=callbacks,
        verbose=config.verbose,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the order is the dataset's
    )


def _build(config, plan, data):
    """The method around its classifier, compiled, with built weights and optimizer."""
    classifier = build.build_classifier(config, plan, data["shape"], data["classes"])
    model = build.build_method(config, plan, classifier)
    model.compile(optimizer=build.build_optimizer(config, data["train_size"]))
    model.build((None, *data["shape"]))
    model.optimizer.build(model.trainable_variables)
    return model


def _load(model, path):
    """Loads checkpoint weights (with the optimizer state), or one line naming the bad file."""
    try:
        model.load_weights(path)
    except Exception as error:  # h5py and Keras raise many types for a damaged file.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"The checkpoint is unreadable ({reason}); start afresh with --overwrite. "
            f"Received: {path}"
        ) from None
