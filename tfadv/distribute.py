"""Spreading work over devices by name, for recipes and the CLI: `make_strategy` (a
`tf.distribute` strategy, TensorFlow) and `make_distribution` (a `keras.distribution`, JAX)."""

import keras
import tensorflow as tf

from tfadv import backend
from tfadv.utils import validation
from tfadv.utils.registry import Registry

#: The strategies `make_strategy` builds, by name: each entry takes the `tpu` argument.
STRATEGIES = Registry("strategy", ordered=True)
STRATEGIES.register(lambda tpu: tf.distribute.get_strategy(), name="default")
STRATEGIES.register(lambda tpu: tf.distribute.MirroredStrategy(), name="mirrored")
STRATEGIES.register(lambda tpu: tf.distribute.MultiWorkerMirroredStrategy(), name="multi_worker")


@STRATEGIES.register(name="tpu")
def _tpu_strategy(tpu):
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def make_strategy(name="default", *, tpu=""):
    """Returns a `tf.distribute.Strategy` to build and `fit` an `AdvModel` under.

    `AdvModel.fit` needs nothing else: build and compile the model inside `strategy.scope()`.

    - `"default"`: the default (no-op) strategy, one device.
    - `"mirrored"`: `tf.distribute.MirroredStrategy` over every local GPU (or the CPU).
    - `"multi_worker"`: `tf.distribute.MultiWorkerMirroredStrategy`; the cluster comes from the
      `TF_CONFIG` environment variable (see `docs/scaling.md`). Create it at program start, before
      any other TensorFlow op.
    - `"tpu"`: `tf.distribute.TPUStrategy` on the TPU named by `tpu` (connects to the cluster and
      initialises the TPU system).

    Args:
        name: one of `"default"`, `"mirrored"`, `"multi_worker"`, `"tpu"`. Defaults to
            `"default"`.
        tpu: the TPU address or name for `"tpu"` (`""`: the local TPU VM or the one in the
            environment). Defaults to `""`.

    Example:

    ```python
    strategy = tfadv.distribute.make_strategy("mirrored")
    with strategy.scope():
        model = tfadv.methods.PGDAT(tfadv.models.small_cnn())
        model.compile(optimizer="adam")
    model.fit(x_train, y_train, batch_size=128 * strategy.num_replicas_in_sync)
    ```
    """
    name = validation.check_choice("name", name, tuple(STRATEGIES))
    if not isinstance(tpu, str):
        raise TypeError(f"`tpu` must be a TPU name or address (a str). Received: tpu={tpu!r}")
    return STRATEGIES[name](tpu)


#: The strategy names `make_distribution` maps to Keras' distribution API on JAX.
KERAS_DISTRIBUTIONS = ("default", "mirrored", "multi_worker")
#: Those on one host, the ones the recipes and `evaluate` run under on JAX.
ONE_HOST = ("default", "mirrored")


def make_distribution(name="default"):
    """Returns the `keras.distribution` that a strategy name means on Keras' JAX backend.

    On JAX, Keras' own distribution API spreads `fit` and `evaluate` over devices (as
    `tf.distribute` does on TensorFlow): under `keras.distribution.DataParallel` the weights are
    replicated, every batch is split along its first axis between the devices, and the
    compiled step (the attack, the loss and the update) runs on all of them with one global
    mean loss. `AdvModel` needs nothing else:

    - `"default"`: `None`, one device (no distribution).
    - `"mirrored"`: `keras.distribution.DataParallel` over every local device (the GPUs, or the
      CPU's logical devices under `XLA_FLAGS=--xla_force_host_platform_device_count=N`).
    - `"multi_worker"`: several hosts. Joins this process to the JAX cluster
      (`keras.distribution.initialize()`, i.e. `jax.distributed`, from the environment variables
      `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES` and
      `KERAS_DISTRIBUTION_PROCESS_ID`; see `docs/scaling.md`), then returns `DataParallel` over
      the devices of every host. Every host runs the same program; `fit` on a `tf.data.Dataset`
      of global batches gives each host its share. Create it at program start, before any JAX
      computation.

    `"tpu"` is a `tf.distribute` strategy: on JAX a TPU's cores are devices (`"mirrored"`), and it
    raises `ValueError`.

    Args:
        name: one of `"default"`, `"mirrored"` and `"multi_worker"`. Defaults to `"default"`.

    Example:

    ```python
    # KERAS_BACKEND=jax
    keras.distribution.set_distribution(tfadv.distribute.make_distribution("mirrored"))
    model = tfadv.methods.PGDAT(tfadv.models.small_cnn())
    model.compile(optimizer="adam")
    model.fit(x_train, y_train, batch_size=128)  # a global batch, split between the devices
    ```
    """
    backend.check_supported("Keras' distribution API", ("jax",))
    name = validation.check_choice("name", name, tuple(STRATEGIES))
    if name not in KERAS_DISTRIBUTIONS:
        raise ValueError(
            f"On the jax backend a TPU's cores are devices of Keras' distribution API: use "
            f"'mirrored' (one host) or 'multi_worker' (several); {name!r} is a tf.distribute "
            f"strategy of the tensorflow backend. Received: name={name!r}"
        )
    if name == "default":
        return None
    if name == "multi_worker":
        backend.join_hosts()
    return keras.distribution.DataParallel(devices=keras.distribution.list_devices())
