"""Where the time of `benchmarks/autoattack_parity.py` goes: model kernels, tracing, FAB's projection.

Command: `python benchmarks/parity_costs.py --model FILE.keras` (PyTorch for the first table:
`pip install -e .[bench]`; without it the first table is skipped). Three tables, all in one process
on this machine:

1. **Model kernels.** The Keras model (`tf.function`, `training=False`) and its PyTorch twin
   rebuilt layer by layer (`--converter direct` of the parity benchmark, torch threads
   `--threads`), timed on the same random images for each batch size of `--batch-sizes`: one forward
   pass, and one forward plus backward pass to the input (the gradient of a logit difference, as
   APGD-T and FAB-T take it). The rounds alternate the two frameworks; the table gives the median.
   The attacks of `"standard"` that run for their whole budget (APGD-T, FAB-T, Square) run on the
   digits still robust, a few dozen on a weakly robust model: this table says how fast each
   framework's kernels are at those sizes.
2. **Tracing.** For each attack of tfadv's `"standard"` protocol: the seconds to trace its graph
   (`get_concrete_function`), and what its first run on `--trace-digits` digits costs above its
   second run on the same digits (graph optimisation and kernel set-up). An evaluation pays both once
   per attack; the PyTorch reference has no equivalent.
3. **FAB's l-inf projection.** `project_linf` on `2 x --fab-digits` rows of 784 coordinates (FAB-T
   projects the iterate and the clean image together), 100 calls in a `tf.while_loop`, the argsort
   inside it alone, and the projection compiled by XLA, per call.
4. **One whole evaluation, profiled.** `"standard"` on the first `--profile-digits` test digits (the
   parity benchmark's; batch 250, seed 0) under TensorFlow's profiler: the seconds spent in the
   model's kernels (the operations of the model's name scope, forward and gradient) and in every other
   operation, by operation type. The profiler slows the run down (its wall time is printed); the
   kernels' own durations are what it measures best. `--profile-digits 0` skips it.
"""

import argparse
import collections
import glob
import os
import re
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks._common import mnist, print_table  # noqa: E402
from tfadv.attacks._fab_projections import project_linf  # noqa: E402
from tfadv.evaluation import evaluate, get_protocol  # noqa: E402


def _milliseconds(fn, arg, reps):
    fn(arg)
    fn(arg)
    start = time.perf_counter()
    for _ in range(reps):
        fn(arg)
    return (time.perf_counter() - start) / reps * 1e3


def kernel_rows(model, batch_sizes, rounds, threads):
    import torch

    from benchmarks.autoattack_parity import torch_model

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as folder:
        net = torch_model(model, "direct", folder)

    def forward(x):
        return model(x, training=False)

    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = model(x, training=False)
            objective = tf.reduce_sum(logits[:, 1] - logits[:, 0])
        return tape.gradient(objective, x)

    tf_forward, tf_gradient = (tf.function(f, autograph=False) for f in (forward, gradient))
    xla_forward, xla_gradient = (
        tf.function(f, autograph=False, jit_compile=True) for f in (forward, gradient)
    )

    def torch_forward(x):
        with torch.no_grad():
            return net(x)

    def torch_gradient(x):
        x = x.clone().requires_grad_()
        logits = net(x)
        return torch.autograd.grad((logits[:, 1] - logits[:, 0]).sum(), x)[0]

    images = np.random.default_rng(0).random((max(batch_sizes), *model.input_shape[1:]), np.float32)
    rows = []
    for n in batch_sizes:
        tf_x = tf.constant(images[:n])
        torch_x = torch.tensor(images[:n].transpose(0, 3, 1, 2))
        reps = max(10, 2400 // n)
        calls = {
            "tf_f": (tf_forward, tf_x), "xla_f": (xla_forward, tf_x),
            "torch_f": (torch_forward, torch_x), "tf_g": (tf_gradient, tf_x),
            "xla_g": (xla_gradient, tf_x), "torch_g": (torch_gradient, torch_x),
        }  # fmt: skip
        times = {key: [] for key in calls}
        for _ in range(rounds):
            for key, (fn, arg) in calls.items():
                times[key].append(_milliseconds(fn, arg, reps))
        med = {key: statistics.median(values) for key, values in times.items()}
        rows.append(
            [n]
            + [f"{med[key]:.2f}" for key in ("tf_f", "xla_f", "torch_f")]
            + [f"{med['torch_f'] / med['tf_f']:.2f}x"]
            + [f"{med[key]:.2f}" for key in ("tf_g", "xla_g", "torch_g")]
            + [f"{med['torch_g'] / med['tf_g']:.2f}x"]
        )
    return rows, torch.__version__


def tracing_rows(model, x, y):
    spec = [tf.TensorSpec([None, *x.shape[1:]], tf.float32), tf.TensorSpec([None], tf.int32)]
    spec += [tf.TensorSpec([], tf.float32)] * 2
    rows = []
    for label, attack in get_protocol("standard").attacks(0.3, "linf", seed=0):
        start = time.perf_counter()
        attack._compiled_function().get_concrete_function(model, *spec)
        trace = time.perf_counter() - start
        runs = []
        for _ in range(2):
            start = time.perf_counter()
            attack.run(model, x, y).x_adv.numpy()
            runs.append(time.perf_counter() - start)
        rows.append([label, f"{trace:.2f}", f"{runs[0] - runs[1]:.2f}", f"{runs[1]:.2f}"])
    return rows


def projection_row(digits):
    rng = np.random.default_rng(0)
    t = tf.constant(rng.random((2 * digits, 784), np.float32))
    w = tf.constant(rng.normal(size=(2 * digits, 784)).astype(np.float32))
    b = tf.constant(rng.normal(size=2 * digits).astype(np.float32))

    def loop(fn):
        @tf.function(autograph=False)
        def run(t):
            def body(i, total):
                return i + 1, total + fn(t + 1e-6 * tf.cast(i, tf.float32))

            return tf.while_loop(lambda i, _: i < 100, body, [0, tf.zeros_like(t)])[1]

        return lambda t: run(t).numpy()

    compiled = tf.function(project_linf, autograph=False, jit_compile=True)
    whole = loop(lambda z: project_linf(z, w, b))
    argsort = loop(lambda z: tf.cast(tf.argsort(z, axis=1), tf.float32))
    xla = loop(lambda z: compiled(z, w, b))
    per_call = [_milliseconds(fn, t, 3) / 100 for fn in (whole, argsort, xla)]
    return [f"{2 * digits} x 784", *(f"{v:.2f}" for v in per_call)]


def profile_rows(model, x, y, top=6):
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    with tempfile.TemporaryDirectory() as folder:
        tf.profiler.experimental.start(folder)
        start = time.perf_counter()
        evaluate(model, (x, y), protocol="standard", batch_size=250, checks=False, seed=0)
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        with open(sorted(glob.glob(f"{folder}/**/*.xplane.pb", recursive=True))[-1], "rb") as f:
            space.ParseFromString(f.read())
    in_model = re.compile(rf"(^|/){re.escape(model.name)}(_\d+)?/")
    seconds = {"model": collections.Counter(), "other": collections.Counter()}
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or "::" in name:  # the executor's spans, nesting the ops
                    continue
                op_name, op_type = name.rsplit(":", 1)
                side = "model" if in_model.search(op_name) else "other"
                seconds[side][op_type] += event.duration_ps / 1e12
    rows = []
    for side, label in (("model", "model's kernels"), ("other", "everything else")):
        counter = seconds[side]
        rows.append([label, "(all)", f"{sum(counter.values()):.2f}"])
        rows += [["", op_type, f"{value:.2f}"] for op_type, value in counter.most_common(top)]
    return rows, wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a trained .keras MNIST model")
    parser.add_argument("--batch-sizes", default="40,60,250", help="default 40,60,250")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--trace-digits", type=int, default=8, help="default 8")
    parser.add_argument("--fab-digits", type=int, default=42, help="default 42")
    parser.add_argument("--profile-digits", type=int, default=1000, help="default 1000; 0 skips")
    args = parser.parse_args(argv)
    try:
        batch_sizes = [int(v) for v in args.batch_sizes.split(",")]
    except ValueError:
        parser.error(f"--batch-sizes takes integers. Received: --batch-sizes={args.batch_sizes}")
    for name in ("rounds", "threads", "trace_digits", "fab_digits"):
        if getattr(args, name) < 1:
            parser.error(
                f"--{name.replace('_', '-')} must be >= 1. Received: {getattr(args, name)}"
            )
    if min(batch_sizes) < 1:
        parser.error(f"--batch-sizes must be >= 1. Received: --batch-sizes={args.batch_sizes}")

    try:
        model = keras.saving.load_model(args.model)
    except (OSError, ValueError) as error:
        parser.error(
            f"--model must be a saved .keras model. Received: --model={args.model} ({error})"
        )
    print(f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}")
    try:
        import torch  # noqa: F401
    except ImportError:
        print("\nModel kernels: skipped (PyTorch is not installed; pip install -e .[bench])")
    else:
        rows, version = kernel_rows(model, batch_sizes, args.rounds, args.threads)
        print_table(
            f"Model kernels, ms per call (median of {args.rounds} alternating rounds; torch "
            f"{version}, {args.threads} threads)",
            ["batch", "forward TF", "TF XLA", "torch", "torch/TF", "fwd+bwd TF", "TF XLA",
             "torch", "torch/TF"],
            rows,
        )  # fmt: skip
    x, y = mnist("test", limit=args.trace_digits)
    print_table(
        f'Tracing of "standard"\'s attacks, seconds ({args.trace_digits} digits)',
        ["attack", "trace", "first run minus second", "second run"],
        tracing_rows(model, x, y),
    )
    print_table(
        "FAB's l-inf projection, ms per call (100 calls in a tf.while_loop)",
        ["rows", "project_linf", "its argsort alone", "project_linf under XLA"],
        [projection_row(args.fab_digits)],
    )
    if args.profile_digits:
        x, y = mnist("test", limit=args.profile_digits)
        rows, wall = profile_rows(model, x, y)
        print_table(
            f'One "standard" evaluation of {len(y)} digits under the profiler ({wall:.1f} s wall), '
            "seconds of operations",
            ["where", "operation type", "seconds"],
            rows,
        )


if __name__ == "__main__":
    main()
