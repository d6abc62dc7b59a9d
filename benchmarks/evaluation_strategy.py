"""`evaluate(..., strategy=...)` on two logical CPUs against one device: seconds and verdicts.

Command: `python benchmarks/evaluation_strategy.py [--n 500] [--repeats 5] [--batch-size 128]
[--protocol quick] [--eps 0.3] [--model FILE.keras | --train-examples 5000] [--save FILE.keras]
[--frozen]`.

Splits the CPU into two logical devices (before TensorFlow starts), trains `tfadv.models.
compact_cnn()` for one epoch of PGD-AT (PGD-10, step 0.01, eps ramped 0 -> 0.3 over the epoch) on
the first `--train-examples` embedded training digits, or loads `--model`, then evaluates it at
l-inf `--eps` on the first `--n` embedded test digits with `--protocol`, without the sanity checks
(they run on one device either way), on

- one device: `tfadv.evaluation.evaluate(...)`, and
- `MirroredStrategy(["/cpu:0", "/cpu:1"])`: `evaluate(..., strategy=...)`, the same batches dealt
  whole to the two replicas.

One untimed run of each first; then `--repeats` timed runs of each, alternating (one device first
in even repeats, the strategy first in odd ones). Each run builds the protocol's attacks afresh,
so it traces them and the strategy path instantiates them on its second device as well (a fixed
cost); with `--frozen` every run shares one set of attacks (`Protocol.freeze`, as
`RobustEvaluation` shares them between epochs), so that the timed runs trace nothing. The table gives the median and every run's
seconds, the robust accuracy, and whether every run's per-example results (robust mask, first
breaking attack, perturbation norm) and per-attack accuracies equal the first one-device run's.
The target: identical verdicts, and the strategy no slower than one device by more than 10%.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

# Two logical CPUs: must run before TensorFlow initialises its devices.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks._common import Timer, mnist, print_table  # noqa: E402
from tfadv.attacks.pgd import PGD  # noqa: E402
from tfadv.evaluation import evaluate  # noqa: E402
from tfadv.evaluation.protocols import PROTOCOLS  # noqa: E402
from tfadv.methods.pgd_at import PGDAT  # noqa: E402
from tfadv.models import compact_cnn  # noqa: E402
from tfadv.schedules import LinearRamp  # noqa: E402

TRAIN_EPS = 0.3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500, help="test digits (default: 500)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per path (default: 5)")
    parser.add_argument("--batch-size", type=int, default=128, help="attack batch (default: 128)")
    parser.add_argument("--protocol", default="quick", help="evaluation protocol (default: quick)")
    parser.add_argument("--eps", type=float, default=0.3, help="l-inf radius (default: 0.3)")
    parser.add_argument("--model", default=None, help="a trained .keras model (skips training)")
    parser.add_argument(
        "--train-examples", type=int, default=5000, help="PGD-AT training digits (default: 5000)"
    )
    parser.add_argument("--save", default=None, help="save the trained classifier here (.keras)")
    parser.add_argument(
        "--frozen", action="store_true", help="share one set of compiled attacks between runs"
    )
    args = parser.parse_args()
    if not 1 <= args.n <= 5000:
        parser.error(f"--n must be in [1, 5000] (the embedded test digits). Received: {args.n}")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1. Received: {args.repeats}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1. Received: {args.batch_size}")
    if args.protocol not in PROTOCOLS:
        parser.error(f"--protocol must be one of {list(PROTOCOLS)}. Received: {args.protocol}")
    if not 0.0 <= args.eps <= 1.0:
        parser.error(f"--eps must be in [0, 1]. Received: {args.eps}")
    if args.model is not None and not os.path.exists(args.model):
        parser.error(f"--model must be an existing .keras file. Received: {args.model}")
    if not 1 <= args.train_examples <= 10000:
        parser.error(
            f"--train-examples must be in [1, 10000] (the embedded training digits). "
            f"Received: {args.train_examples}"
        )
    if args.save is not None and not args.save.endswith(".keras"):
        parser.error(f"--save must be a .keras path. Received: {args.save}")
    if args.save is not None and args.model is not None:
        parser.error("--save keeps a trained model: it cannot be given with --model")
    return args


def train(examples):
    x, y = mnist("train", limit=examples)
    keras.utils.set_random_seed(0)
    model = PGDAT(
        compact_cnn(),
        attack=PGD(eps=TRAIN_EPS, step_size=0.01, steps=10),
        eps_schedule=LinearRamp(0.0, TRAIN_EPS, ramp_epochs=1),
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(x, y, epochs=1, batch_size=128, verbose=2)
    return model.classifier


def fingerprint(report):
    """What must not change between the paths: the per-example results and attack accuracies."""
    return report.robust_mask.tolist(), report.per_example, report.per_attack_accuracy


def main():
    args = parse_args()
    if args.model:
        model = keras.saving.load_model(args.model)
        model = getattr(model, "classifier", model)
    else:
        with Timer() as timer:
            model = train(args.train_examples)
        print(f"PGD-AT, 1 epoch on {args.train_examples} digits: {timer.seconds:.0f} s")
        if args.save:
            model.save(args.save)
    x, y = mnist("test", limit=args.n)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    paths = {"one device": None, "MirroredStrategy, 2 logical CPUs": strategy}
    protocol = PROTOCOLS[args.protocol]
    if args.frozen:
        protocol = protocol.freeze(args.eps, "linf", seed=0)
    options = dict(
        eps=args.eps, protocol=protocol, batch_size=args.batch_size, checks=False, seed=0
    )

    def run(name):
        with Timer() as timer:
            report = evaluate(model, (x, y), strategy=paths[name], **options)
        return timer.seconds, report

    reference = {name: run(name)[1] for name in paths}["one device"]  # untimed first runs
    seconds = {name: [] for name in paths}
    same = {name: True for name in paths}
    accuracy = {}
    for repeat in range(args.repeats):
        order = list(paths) if repeat % 2 == 0 else list(paths)[::-1]
        for name in order:
            elapsed, report = run(name)
            seconds[name].append(elapsed)
            same[name] &= fingerprint(report) == fingerprint(reference)
            accuracy[name] = report.robust_accuracy
    medians = {name: float(np.median(seconds[name])) for name in paths}
    rows = [
        [
            name,
            f"{medians[name]:.2f}",
            " ".join(f"{s:.2f}" for s in seconds[name]),
            f"{accuracy[name]:.2%}",
            "yes" if same[name] else "NO",
        ]
        for name in paths
    ]
    title = (
        f"'{args.protocol}' on {args.n} embedded MNIST test digits, l-inf eps={args.eps:g}, "
        f"batch {args.batch_size}, clean {reference.clean_accuracy:.2%}, median of "
        f"{args.repeats} alternating repeats" + (", attacks frozen" if args.frozen else "")
    )
    header = ["path", "median s", "runs (s)", "robust acc", "verdicts = one device"]
    print_table(title, header, rows)
    ratio = medians["MirroredStrategy, 2 logical CPUs"] / medians["one device"]
    print(f"strategy / one device: {ratio:.3f} (target: <= 1.10, verdicts identical)")


if __name__ == "__main__":
    main()
