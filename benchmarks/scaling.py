"""PGD-AT training throughput: 1 vs 2 replicas, float32 vs mixed precision, XLA vs not, in one run.

Command: `python benchmarks/scaling.py` (defaults: 1,024 embedded MNIST digits, batch 128 global,
PGD-5 at eps 0.3, the benchmark small CNN, SGD). Replicas are logical CPU devices of this machine
(or the local GPUs with `--devices gpu`) under `tf.distribute.MirroredStrategy`; one replica is the
default strategy. Each configuration runs one warm-up epoch (tracing, XLA compilation), then
`--epochs` timed epochs; prints steps per second and examples per second. XLA with two
logical CPU replicas is skipped: Keras cannot run it (any model; variables of the second replica
are not reachable from the compiled cluster).
"""

import argparse
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfadv  # noqa: E402
from benchmarks._common import Timer, mnist, print_table, small_cnn  # noqa: E402


def strategy_for(replicas, devices):
    if replicas == 1:
        return tf.distribute.get_strategy()
    names = [f"/{devices}:{i}" for i in range(replicas)]
    return tf.distribute.MirroredStrategy(
        names, cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


def steps_per_second(args, replicas, policy, jit_compile, x, y):
    keras.config.set_dtype_policy(policy)
    strategy = strategy_for(replicas, args.devices)
    with strategy.scope():
        attack = tfadv.attacks.PGD(eps=0.3, step_size=0.075, steps=args.steps, seed=0)
        model = tfadv.methods.PGDAT(small_cnn(), attack=attack)
        model.compile(optimizer=keras.optimizers.SGD(0.05), jit_compile=jit_compile)
    model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)  # warm-up: tracing, XLA
    with Timer() as t:
        model.fit(x, y, batch_size=args.batch, epochs=args.epochs, verbose=0)
    keras.config.set_dtype_policy("float32")
    return args.epochs * (len(x) // args.batch) / t.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=1024, help="training digits")
    parser.add_argument("--batch", type=int, default=128, help="global batch size")
    parser.add_argument("--steps", type=int, default=5, help="PGD steps")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per configuration")
    parser.add_argument("--devices", default="cpu", choices=("cpu", "gpu"))
    parser.add_argument(
        "--policies", default="float32,mixed_bfloat16,mixed_float16", help="comma-separated"
    )
    args = parser.parse_args()
    if args.devices == "cpu":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
    replica_counts = (
        [1, 2] if len(tf.config.list_logical_devices(args.devices.upper())) >= 2 else [1]
    )
    x, y = mnist("train", limit=args.limit)
    x, y = x[: len(x) // args.batch * args.batch], y[: len(x) // args.batch * args.batch]
    rows = []
    for policy in args.policies.split(","):
        for jit_compile in (False, True):
            for replicas in replica_counts:
                if jit_compile and replicas > 1 and args.devices == "cpu":
                    # Keras itself cannot: XLA under MirroredStrategy on logical CPU devices
                    # fails to reach the second replica's variables (any Keras model).
                    rows.append([replicas, policy, jit_compile, "n/a", "n/a"])
                    continue
                rate = steps_per_second(args, replicas, policy, jit_compile, x, y)
                rows.append(
                    [replicas, policy, jit_compile, f"{rate:.2f}", f"{rate * args.batch:.0f}"]
                )
                print(*rows[-1], flush=True)
    print_table(
        f"PGD-{args.steps} AT, batch {args.batch}, {len(x)} digits, {args.devices} "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores, TF {tf.__version__})",
        ["replicas", "policy", "jit_compile", "steps/s", "examples/s"],
        rows,
    )


if __name__ == "__main__":
    main()
