"""Evaluation over the replicas and workers of a `tf.distribute` strategy, by whole batches.

`tfadv.evaluation.evaluate(..., strategy=...)` cuts the examples an attack runs on into the batches
it would use on one device, and deals them out: batch `i` goes to replica `i mod R` (R replicas over
all workers). Each local replica runs its batches in order on its device (`tf.device`, a thread per
replica) with the same compiled attack and the same predictor as one device.

Why whole batches: the attacks' random keys fold in the batch's contents (`tfadv.attacks._ops.
seed_key`), so splitting a batch over replicas would change the draws. Dealt whole, every batch is
attacked with the keys, the graph and the kernels of one device, and each example's verdict is the
one device's for the same seed (tested on two logical CPUs). A randomised model's draws are keyed
by the batch too (`tfadv.evaluation._utils.keyed_noise`); its seed generators are shared, so its
replicas take turns and keep the one device's verdicts without running concurrently.

Several machines (`MultiWorkerMirroredStrategy`): every worker runs the same `evaluate` call on the
same data (the clean predictions and the sanity checks run on each), attacks its own share of the
batches, and after each attack the verdicts are summed over the workers with one `strategy.reduce`
of a `(2, examples attacked)` array (whether each example was fooled, and the perturbation's norm;
zeros for the batches of other workers), so that the cascade's next attack and the report are the
same on every worker.

The model's weights stay where the model was built: a replica on another device reads them from
there (built under `strategy.scope()`, a compiled function still reads the first copy). Between
logical CPUs that costs nothing measurable; between GPUs each read copies them from the first
device (not measured: no machine with two GPUs was at hand). Each compiled attack is also
instantiated once per device (placement and graph optimisation: 0.15 s for PGD-20, 0.3 s for
APGD-CE-20 per device on a shared 2-core CPU), a fixed cost that more replicas amortise only when
they bring more hardware (two logical CPUs share the same cores).

On Keras' JAX backend the devices are Keras' distribution API's (`keras_distribution`): under
`keras.distribution.DataParallel` (strategy `"mirrored"`, or one the caller has set) every compiled
attack call splits its batch between the devices (`tfadv.backend.compiled_call`). The batch, its
keys and the graph are the one device's, so the verdicts are too (tested on two logical CPUs). On
PyTorch `evaluate` runs on one device, and a strategy other than the default one is refused with a
`ValueError` naming the backend.

A `MultiWorkerMirroredStrategy` must be created before any other TensorFlow op: create it at
program start (`tfadv.distribute.make_strategy("multi_worker")`, as `tfadv evaluate --strategy
multi_worker` does) and pass it, rather than its name.
"""

import concurrent.futures
import dataclasses
import functools

import keras
import numpy as np
import tensorflow as tf

from tfadv import backend
from tfadv.distribute import ONE_HOST, STRATEGIES, make_distribution, make_strategy

#: The names of `tfadv.distribute.STRATEGIES` that `evaluate` runs on (`"tpu"`: the attacks run
#: eagerly per device, which a TPU does not).
EVALUATION_STRATEGIES = tuple(name for name in STRATEGIES if name != "tpu")

_SUPPORTED = (
    tf.distribute.MirroredStrategy,
    tf.distribute.MultiWorkerMirroredStrategy,
    tf.distribute.OneDeviceStrategy,
)


@dataclasses.dataclass(frozen=True)
class BatchVerdict:
    """One attack batch's outcome, per example in batch order.

    Attributes:
        fooled: bool array, whether the attack's adversarial example was misclassified.
        perturbation_norm: float array, the norm of the attack's perturbation.
    """

    fooled: np.ndarray
    perturbation_norm: np.ndarray


@dataclasses.dataclass(frozen=True)
class Replicas:
    """Where the batches run: this worker's replica devices and their ids among all replicas.

    Attributes:
        devices: tuple of device names, this worker's replicas.
        replica_ids: tuple of ints, the ids of those replicas in `[0, num_replicas)`.
        num_replicas: int, the replicas over all workers.
        strategy: the strategy, whose `reduce` gathers the verdicts when there are several workers.
    """

    devices: tuple
    replica_ids: tuple
    num_replicas: int
    strategy: tf.distribute.Strategy

    @property
    def multi_worker(self):
        return self.num_replicas > len(self.devices)


def keras_distribution(strategy):
    """The `keras.distribution.Distribution` that `strategy` means on JAX, or `None`.

    On JAX a name is `tfadv.distribute.make_distribution`'s (`"mirrored"`: `DataParallel` over the
    local devices; `"default"`: none) and a Keras distribution (`DataParallel`, `ModelParallel`) is used as it is.
    Elsewhere, and for anything else, `None` (`resolve_strategy` answers for it).
    """
    if backend.name() != "jax" or strategy is None:
        return None
    if isinstance(strategy, (keras.distribution.DataParallel, keras.distribution.ModelParallel)):
        return strategy
    if isinstance(strategy, str) and strategy not in ONE_HOST:
        raise ValueError(
            f"On the jax backend `evaluate` runs on one host's devices: `strategy` is one of "
            f"{list(ONE_HOST)} (several hosts are offered for training, `fit`, only). "
            f"Received: strategy={strategy!r}"
        )
    if isinstance(strategy, str):
        return make_distribution(strategy)
    return None


def under_keras_distribution(evaluate):
    """Runs `evaluate(..., strategy=...)` under the Keras distribution its strategy means on JAX."""

    @functools.wraps(evaluate)
    def wrapper(*args, strategy=None, **kwargs):
        spread = keras_distribution(strategy)
        if spread is not None:
            with spread.scope():
                return evaluate(*args, strategy=None, **kwargs)
        if backend.name() == "jax" and strategy == "default":
            strategy = None  # one device
        return evaluate(*args, strategy=strategy, **kwargs)

    return wrapper


def resolve_strategy(strategy):
    """The `Replicas` of `strategy` (a `tf.distribute.Strategy` or a name of
    `EVALUATION_STRATEGIES`), or `None` for one device (`None` or the default strategy)."""
    if strategy is None or strategy == "default":
        return None
    if backend.name() != "tensorflow":
        default = isinstance(strategy, tf.distribute.Strategy) and not tf.distribute.has_strategy()
        if default and strategy is tf.distribute.get_strategy():
            return None  # the default strategy: one device
        shown = strategy if isinstance(strategy, str) else type(strategy).__name__
        raise ValueError(
            "Evaluation under a `strategy` deals the attacks' batches to the replicas of a "
            "tf.distribute strategy (TensorFlow backend) or splits them under Keras' distribution "
            f"API (JAX backend: 'mirrored'); Keras' backend is {backend.name()!r} (set by "
            "KERAS_BACKEND). Pass strategy=None to evaluate on one device. "
            f"Received: strategy={shown!r}, backend={backend.name()!r}"
        )
    if isinstance(strategy, str):
        if strategy not in EVALUATION_STRATEGIES:
            raise ValueError(
                f"`strategy` must be a tf.distribute.Strategy or one of "
                f"{list(EVALUATION_STRATEGIES)}. Received: strategy={strategy!r}"
            )
        strategy = make_strategy(strategy)
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(
            "`strategy` must be None, a tf.distribute.Strategy or a strategy name. "
            f"Received: strategy={strategy!r}"
        )
    if not isinstance(strategy, _SUPPORTED):
        if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
            return None  # the default strategy: one device
        raise ValueError(
            "`strategy` must be a MirroredStrategy, a MultiWorkerMirroredStrategy, a "
            "OneDeviceStrategy or the default strategy (the attacks run eagerly per device). "
            f"Received: strategy={type(strategy).__name__}"
        )
    ids = strategy.experimental_distribute_values_from_function(
        lambda context: context.replica_id_in_sync_group
    )
    return Replicas(
        devices=tuple(strategy.extended.worker_devices),
        replica_ids=tuple(int(i) for i in strategy.experimental_local_results(ids)),
        num_replicas=int(strategy.num_replicas_in_sync),
        strategy=strategy,
    )


def run_batches(replicas, attack_batch, batches):
    """Yields `(batch, attack_batch(batch))` for every batch, in order, each `BatchVerdict`
    computed on the batch's replica.

    Args:
        replicas: a `Replicas`, or `None` to run every batch here, one after the other.
        attack_batch: a function of an index array returning its `BatchVerdict`.
        batches: the index arrays, the one-device batches.
    """
    batches = list(batches)
    if replicas is None or not batches:  # (every worker has the same batches: none reduce)
        for batch in batches:
            yield batch, attack_batch(batch)
        return
    devices = dict(zip(replicas.replica_ids, replicas.devices, strict=True))
    mine = [i for i in range(len(batches)) if i % replicas.num_replicas in devices]
    executors = {rid: concurrent.futures.ThreadPoolExecutor(1) for rid in devices}
    try:
        futures = {}
        for i in mine:  # each replica's thread takes its batches in order
            rid = i % replicas.num_replicas
            futures[i] = executors[rid].submit(_on_device, devices[rid], attack_batch, batches[i])
        if not replicas.multi_worker:
            for i in mine:
                yield batches[i], futures[i].result()
            return
        verdicts = {i: future.result() for i, future in futures.items()}
    finally:
        for executor in executors.values():
            executor.shutdown(wait=True, cancel_futures=True)
    yield from zip(batches, _gather(replicas, batches, verdicts), strict=True)


def _on_device(device, attack_batch, batch):
    with tf.device(device):
        return attack_batch(batch)


def _gather(replicas, batches, verdicts):
    """Every batch's `BatchVerdict`, from this worker's `verdicts` (`{batch number: verdict}`) and
    the other workers', summed by one `strategy.reduce` (each example is attacked by one worker)."""
    ends = np.cumsum([len(batch) for batch in batches])
    local = np.zeros((2, int(ends[-1]) if len(ends) else 0), np.float64)
    for i, verdict in verdicts.items():
        start = ends[i] - len(batches[i])
        local[0, start : ends[i]] = verdict.fooled
        local[1, start : ends[i]] = verdict.perturbation_norm
    first = min(replicas.replica_ids)
    values = replicas.strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(
            local if context.replica_id_in_sync_group == first else np.zeros_like(local)
        )
    )
    total = replicas.strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None).numpy()
    return [
        BatchVerdict(total[0, end - len(batch) : end] > 0.5, total[1, end - len(batch) : end])
        for batch, end in zip(batches, ends, strict=True)
    ]
