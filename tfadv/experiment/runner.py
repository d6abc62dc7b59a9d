"""`train`: one experiment config in, one output folder out (checked up front, resumable, locked)."""

import contextlib
import json
import os
import sys
import time

import keras

from tfadv import backend
from tfadv.callbacks.weight_averaging import WeightAveraging
from tfadv.distribute import make_distribution, make_strategy
from tfadv.experiment import build, distributed, outputs
from tfadv.experiment import workdir as workdir_lib
from tfadv.experiment.checks import check_config
from tfadv.experiment.run_state import EventFileLogger, RunCheckpoint, RunState, write_json_atomic

#: The exit status of a run stopped by Ctrl-C (the shell's convention for SIGINT).
INTERRUPTED = 130


class _Tee:
    """Writes to the terminal and to the run's log file, flushed (a killed run keeps its log)."""

    def __init__(self, stream, log):
        self._streams = (stream, log)

    def write(self, text):
        for stream in self._streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self):
        for stream in self._streams:
            stream.flush()

    def __getattr__(self, name):  # isatty, encoding, ...: the terminal's
        return getattr(self._streams[0], name)


def train(config, *, overwrite=False, command="tfadv train"):
    """Trains, evaluates and exports the experiment `config` into `config.workdir`.

    The config is checked once, before the folder, the data or the first epoch. The run the locked
    folder holds resumes, is extended or evaluated again, or is refused (`workdir.prepare`).

    Args:
        config: a resolved `ml_collections.ConfigDict` (`tfadv train --help` lists its fields).
        overwrite: start afresh in a folder that holds a run. Defaults to `False`.
        command: the command line, for the resume hint and `command.txt`. Defaults to
            `"tfadv train"`.

    Returns:
        `0` when finished, `130` when interrupted. The run's `RunState` is
        `RunState.load(os.path.join(config.workdir, "checkpoints"))`.
    """
    plan = check_config(config)
    if config.backend is None:  # the run folder records the backend the run trains on
        config.backend = backend.name()
    distribution = config.distribution
    strategy, spread = make_strategy("default"), None  # one device (PyTorch: `checks` refuse more)
    if backend.name() == "tensorflow":  # the strategy comes before any other TensorFlow op
        strategy = make_strategy(distribution.strategy, tpu=distribution.tpu)
    elif backend.name() == "jax":  # Keras' own distribution API spreads `fit` and the evaluation
        spread = make_distribution(distribution.strategy)
    if distributed.is_chief(strategy):
        folder = workdir_lib.prepare(config, overwrite=overwrite, command=command)
    else:  # created once the chief has prepared the run's folder (`distributed.load_state`)
        folder = contextlib.nullcontext(
            workdir_lib.Run(distributed.worker_folder(config, strategy))
        )
    with folder as run:
        log = os.path.join(run.path, "train.log") if distributed.is_chief(strategy) else os.devnull
        with (
            open(log, "a", encoding="utf-8") as handle,
            contextlib.redirect_stdout(_Tee(sys.stdout, handle)),
        ):
            try:
                with contextlib.nullcontext() if spread is None else spread.scope():
                    return _run(config, plan, run, strategy, overwrite)
            except KeyboardInterrupt:
                state = RunState.load(os.path.join(run.path, workdir_lib.CHECKPOINTS))
                print(
                    f"\ninterrupted: {state.epochs_done} of {config.epochs} epochs are saved in "
                    f"{config.workdir}; resume with the same command: {command}"
                )
                return INTERRUPTED


def _run(config, plan, run, strategy, overwrite=False):
    start = time.time()
    chief = distributed.is_chief(strategy)
    keras.utils.set_random_seed(config.seed)
    data = build.load_data(config)
    with strategy.scope():
        model = _build(config, plan, data)
    folder = os.path.join(run.path, workdir_lib.CHECKPOINTS)
    state = distributed.load_state(strategy, folder, overwrite=overwrite)
    validation, replicas = data.validation, _replicas(strategy)
    if keras.distribution.distribution() is not None and config.batch_size % replicas:
        raise ValueError(
            f"`batch_size` is the global batch, split evenly between the {replicas} devices of "
            f"'{config.distribution.strategy}': make it a multiple of {replicas}. "
            f"Received: batch_size={config.batch_size}"
        )
    print(
        f"tfadv train: {type(model).__name__} ({config.method.name}) on {config.data.name} "
        f"({data.train_size} training, {0 if validation is None else len(validation[0])} "
        f"validation, {len(data.test[0])} test examples), model "
        f"{config.model.init or config.model.name}, train eps {config.attack.eps:g} "
        f"({plan.budget.steps} steps, {plan.budget.norm}), epochs: {config.epochs}, global "
        f"batch {config.batch_size}, strategy {config.distribution.strategy} "
        f"({replicas} replica{'s' if replicas != 1 else ''}) -> "
        f"{config.workdir if chief else run.path}"
    )
    for note in run.notes:
        print(note)
    state.remove_stale()
    if state.epochs_done:
        _load(model, state.path(state.last_file))
        print(
            f"resuming after epoch {state.epochs_done} of {config.epochs} (best so far: epoch "
            f"{state.best_epoch}, {config.validation.monitor} {state.best_score})"
        )
    state.set_budget(config.epochs, run.previous_epochs)
    if run.previous_epochs is not None:
        print(
            f"extended from {run.previous_epochs} to {config.epochs} epochs at epoch "
            f"{state.epochs_done}: the learning-rate schedule now spans {config.epochs} epochs"
        )
    resumed_at = state.epochs_done
    if state.epochs_done < config.epochs:
        _fit(config, model, data, state, run.path)
    if not chief:
        print(f"worker done: {state.epochs_done} epochs; the chief evaluates and exports")
        return 0
    outputs.write_history(state, run.path)
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
        f"restored {which}"
    )
    if ema:
        print(f"the kept model is the weight average (EMA, momentum {ema:g}) of that epoch")
    classifier = model.classifier
    report, pgd = outputs.evaluate(config, classifier, data.test, run.path, print)
    plot = outputs.plot(state, run.path, config.validation.monitor, print) if config.plot else None
    files = outputs.export(config, classifier, data.test, run.path, print)
    files |= {"plot": plot} if plot else {}
    summary = {
        "method": type(model).__name__, "epochs": state.epochs_done,
        "epochs_history": state.epochs_history, "best_epoch": state.best_epoch,
        "best_score": state.best_score, "monitor": config.validation.monitor, "ema_momentum": ema,
        "train_seconds": round(state.train_seconds, 1), "report": report.to_dict(),
        "pgd": None if pgd is None else pgd.to_dict(), "outputs": files,
    }  # fmt: skip
    write_json_atomic(os.path.join(run.path, "summary.json"), summary)
    print(f"done in {time.time() - start:.0f} s; outputs: {json.dumps(files)}")
    return 0


def _fit(config, model, data, state, workdir):
    # With weight averaging, validation (which picks the kept epoch) sees the averaged weights, and
    # the checkpoint holds the raw weights with the average, so a resumed run continues both.
    averaging = [WeightAveraging(swap_on_epoch=False)] if config.optimizer.ema_momentum else []
    callbacks = [
        *averaging,
        RunCheckpoint(state, monitor=config.validation.monitor),
        EventFileLogger(os.path.join(workdir, "tensorboard")),
    ]
    if distributed.is_multi_worker(
        getattr(model, "distribute_strategy", None)
    ):  # Keras' fit cannot, yet
        distributed.fit_multi_worker(model, config, data, callbacks, state.epochs_done)
        return
    # The batches are a function of (seed, epoch): a resumed run sees the uninterrupted run's
    # (Keras' own shuffle would restart its sequence).
    # Under Keras' DataParallel (JAX) every batch is split evenly between the devices.
    devices = 1 if keras.distribution.distribution() is None else _replicas(None)
    train, steps_per_epoch = build.epoch_batches(
        *data.train, config.batch_size, config.seed, state.epochs_done, config.epochs,
        augment=build.augment_options(config), multiple=devices,
    )  # fmt: skip
    validation, split = data.validation, {}
    if validation is not None and devices > 1:  # validation batches of the global batch size
        rest = (len(validation[0]) % config.batch_size) % devices
        validation = tuple(a[: len(a) - rest] for a in validation)
        split = {"validation_batch_size": config.batch_size}
    model.fit(
        train, epochs=config.epochs, initial_epoch=state.epochs_done, callbacks=callbacks,
        validation_data=validation, verbose=config.verbose, steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the order is the dataset's
        **split,
    )  # fmt: skip


def _replicas(strategy):
    """The devices a step runs on: `strategy`'s replicas, or the Keras distribution's devices."""
    spread = keras.distribution.distribution()
    if spread is None:
        return strategy.num_replicas_in_sync
    return int(spread.device_mesh.devices.size)


def _build(config, plan, data):
    """The method around its classifier, compiled, with built weights and optimizer."""
    classifier = build.build_classifier(config, plan, data.shape, data.classes)
    model = build.build_method(config, plan, classifier)
    model.compile(optimizer=build.build_optimizer(config, data.train_size))
    model.build((None, *data.shape))
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
