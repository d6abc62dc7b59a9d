"""`make_strategy`: a `tf.distribute` strategy by name, for recipes and the CLI."""

import tensorflow as tf

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
