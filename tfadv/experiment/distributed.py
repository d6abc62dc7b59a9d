"""An experiment under a `tf.distribute` strategy: the chief, each worker's folder, the loop.

Keras 3's `fit` cannot run under `MultiWorkerMirroredStrategy` yet (keras-team/keras#20585,
`docs/scaling.md`): `fit_multi_worker` runs the epochs with `fit`'s steps, callbacks and logs. The
chief keeps the run's folder; the other workers checkpoint into `<workdir>/workers/<index>`.
"""

import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from tfadv._training import ProgressCallback
from tfadv.experiment import build
from tfadv.experiment.run_state import RunState
from tfadv.utils import validation as validation_lib


def is_multi_worker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy):
    """Whether this process keeps the run's folder, evaluates and exports (always, on one machine)."""
    return bool(strategy.extended.should_checkpoint)


def worker_folder(config, strategy):
    """A non-chief worker's folder, `<workdir>/workers/<index>` (created by `load_state`)."""
    index = str(strategy.cluster_resolver.task_id)
    return os.path.join(os.path.abspath(config.workdir), "workers", index)


def load_state(strategy, folder, *, overwrite=False):
    """The run's `RunState`; across workers, once the chief has prepared the run's folder (a
    non-chief worker's folder is inside it), and refused unless every worker is at one epoch."""
    if not is_multi_worker(strategy):
        return RunState.load(folder)
    _gather(strategy, 0)  # a barrier: the chief has prepared (or emptied) the run's folder
    if not is_chief(strategy):
        if overwrite:
            shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)
    state = RunState.load(folder)
    epochs = sorted(set(_gather(strategy, state.epochs_done)))
    if len(epochs) > 1:
        raise ValueError(
            "The workers' checkpoints are at different epochs: restart every worker with its "
            f"folder (<workdir>/workers/<index>), or start afresh with --overwrite. "
            f"Received: epochs done {epochs}"
        )
    return state


def _gather(strategy, value):
    """`value` of every replica (a collective: every worker must call it)."""

    @tf.function
    def gather():
        context = tf.distribute.get_replica_context()
        return context.all_gather(tf.constant([value], tf.int64), axis=0)

    result = strategy.experimental_local_results(strategy.run(gather))[0]
    return [int(v) for v in result.numpy()]


def fit_multi_worker(model, config, data, callbacks, initial_epoch):
    """`fit(epochs=config.epochs, initial_epoch=...)` of the compiled, built `model` (made under a
    `MultiWorkerMirroredStrategy`) on the run's `build.Data`, with `callbacks`.

    Epochs visit the examples in `build.epoch_batches`' order; the last incomplete global batch is
    dropped (an empty replica share would make the mean loss NaN).
    """
    strategy = model.distribute_strategy
    steps = data.train_size // config.batch_size
    if steps < 1:
        raise ValueError(
            "The training set is smaller than one global batch. "
            f"Received: batch_size={config.batch_size}, {data.train_size} training examples"
        )
    validation = data.validation and _dataset(data.validation, config.batch_size, strategy, False)
    callbacks = keras.callbacks.CallbackList(
        [ProgressCallback(model), *callbacks], add_history=True, add_progbar=config.verbose != 0,
        model=model, verbose=config.verbose, epochs=config.epochs, steps=steps,
    )  # fmt: skip
    train_step = tf.function(lambda batch: strategy.run(model.train_step, args=(batch,)))
    test_step = tf.function(lambda batch: strategy.run(model.test_step, args=(batch,)))
    model.stop_training = False
    callbacks.on_train_begin()
    logs = {}
    try:
        with validation_lib.graph_errors_as_value_errors():
            for epoch in range(initial_epoch, config.epochs):
                model.reset_metrics()
                callbacks.on_epoch_begin(epoch)
                augment = build.augment_options(config)
                train = _epoch(data.train, config.seed, epoch, augment, config.batch_size)
                for step, batch in enumerate(_dataset(train, config.batch_size, strategy, True)):
                    callbacks.on_train_batch_begin(step)
                    train_step(batch)
                    callbacks.on_train_batch_end(step)
                logs = _floats(model.get_metrics_result())
                if validation is not None:
                    logs.update(_validate(model, test_step, validation, callbacks))
                callbacks.on_epoch_end(epoch, logs)
                if model.stop_training:
                    break
        callbacks.on_train_end(logs)
    finally:
        ProgressCallback.stop(model)


def _validate(model, test_step, dataset, callbacks):
    """`fit`'s validation: the global metrics that `test_step` reports, prefixed `val_`."""
    model.reset_metrics()
    callbacks.on_test_begin()
    keys = ()
    for step, batch in enumerate(dataset):
        callbacks.on_test_batch_begin(step)
        keys = tuple(test_step(batch))
        callbacks.on_test_batch_end(step)
    results = _floats(model.get_metrics_result())
    logs = {key: results[key] for key in keys}
    callbacks.on_test_end(logs)
    return {f"val_{key}": value for key, value in logs.items()}


def _floats(results):
    return {key: float(np.asarray(value)) for key, value in results.items()}


def _epoch(source, seed, epoch, augment=None, batch_size=None):
    """Epoch `epoch`'s training arrays in `build.epoch_batches`' order and augmentation."""
    key = tf.constant([seed, epoch], tf.int32)
    order = tf.argsort(tf.random.stateless_uniform([len(source[0])], seed=key)).numpy()
    x, y = source[0][order], source[1][order]
    if augment is not None:
        x = np.concatenate([
            build.augment_batch(
                x[start : start + batch_size],
                y[start : start + batch_size],
                build.augment_key(seed, epoch, batch),
                **augment,
            )[0].numpy()
            for batch, start in enumerate(range(0, len(x), batch_size))
        ])  # fmt: skip
    return x, y


def _dataset(source, batch_size, strategy, train):
    """Global batches, cut by example between the workers (`AutoShardPolicy.DATA`). Training drops
    the last incomplete batch; validation, the last few examples when its last batch would leave a
    replica without any."""
    x, y = source
    rest = len(x) % batch_size
    if not train and 0 < rest < strategy.num_replicas_in_sync:
        x, y = x[: len(x) - rest], y[: len(y) - rest]
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=train)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
    return strategy.experimental_distribute_dataset(dataset)
