"""`tfadv evaluate`: robust accuracy of a saved model under a named protocol, with sanity checks.

    tfadv evaluate MODEL --data embedded_mnist --split test [--start 0] --limit 1000 --eps 0.3
        --norm linf --protocol standard [--json report.json] [--batch-size 256] [--seed 0]
        [--surrogate SURROGATE.keras|train] [--custom-objects MODULE] [--strategy NAME]
        [--no-checks] [--quiet]

MODEL is a `.keras` file, a SavedModel folder (what `tfadv export` writes; gradient attacks run
through its serving signature) or an `.onnx` file (run by ONNX Runtime: black-box Square, plus a
transfer attack from `--surrogate`). Prints the `RobustnessReport` table (per-attack and
worst-case accuracy, budgets, sanity flags) after a progress bar; `--json` also writes it as JSON,
with per-example results and a RobustBench-style summary. The exit code is 0 whether or not flags
are raised; a path that is not a model gives one error line and exit code 2. Protocols: 'quick'
(PGD-20 + APGD-CE), AutoAttack's 'standard' (APGD-CE, APGD-T, FAB-T, Square), 'plus' and 'rand'.

`--start N --limit M` evaluates examples N to N + M - 1 of the split, so that a long evaluation
can run in slices whose accuracies combine weighted by their sizes. The attacks draw their random
starts batch by batch over the examples still robust, so a slice's verdict on an example can differ
from that of one run over the whole split, as between two seeds.

`--strategy mirrored|multi_worker` deals the attack batches (the one-device batches, whole) to the
replicas of a `tf.distribute` strategy (`tfadv.distribute.make_strategy`): every example's verdict
is the one device's for the same seed. With `multi_worker`, run the same command on every machine
listed in `TF_CONFIG`; each attacks its share and each prints the whole report. On the JAX backend
(`tfadv --backend jax evaluate`), `--strategy mirrored` splits every attack batch between the local
devices under `keras.distribution.DataParallel`.
"""

import argparse
import importlib
import os
import sys

from tfadv import backend
from tfadv.attacks.threat_model import THREAT_MODELS
from tfadv.data import load_numpy
from tfadv.distribute import ONE_HOST, make_strategy
from tfadv.evaluation import evaluate, load_model
from tfadv.evaluation.distributed import EVALUATION_STRATEGIES

PROTOCOL_NAMES = ("quick", "standard", "plus", "rand")


def add_parser(subparsers):
    """Registers the `evaluate` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="Robust accuracy of a saved model under a named protocol (quick, standard, plus, rand).",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="the trained model: a .keras file, a SavedModel folder or an .onnx file",
    )
    for flag, default, text, choices in (
        ("--data", "embedded_mnist", "dataset name", None),
        ("--split", "test", "dataset split", ("train", "validation", "test")),
        ("--start", 0, "index of the first example of the split to evaluate", None),
        ("--limit", 1000, "number of examples", None),
        ("--eps", 0.3, "radius", None),
        ("--norm", "linf", "threat model", tuple(THREAT_MODELS.names())),
        ("--protocol", "standard", "evaluation protocol", PROTOCOL_NAMES),
        ("--batch-size", 256, "examples per attack batch", None),
        ("--seed", 0, "seed of the attacks", None),
        ("--eot-iter", 20, 'EOT gradient samples of the "rand" protocol\'s attacks', None),
        ("--smoothed-draws", 0, "also report a majority vote over N draws (0: off)", None),
    ):
        parser.add_argument(
            flag,
            type=type(default),
            default=default,
            choices=choices,
            help=f"{text} (default: {default})",
        )
    parser.add_argument(
        "--surrogate",
        default=None,
        help="source model of a transfer attack: a .keras file, or 'train' to fit a small one "
        "on the target's predictions (default: none)",
    )
    parser.add_argument(
        "--strategy",
        metavar="NAME",
        default=None,
        help=f"tf.distribute strategy whose replicas share the attack batches: one of "
        f"{', '.join(EVALUATION_STRATEGIES)}; on the jax backend 'mirrored' splits each batch "
        "between the local devices (keras.distribution) (default: none, one device)",
    )
    add_custom_objects_argument(parser)
    parser.add_argument("--json", metavar="OUT", default=None, help="also write the report as JSON")
    parser.add_argument(
        "--no-checks", dest="checks", action="store_false", help="skip the sanity checks"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def add_custom_objects_argument(parser):
    """Adds `--custom-objects MODULE` (for `evaluate` and `export`): custom layers load."""
    parser.add_argument(
        "--custom-objects",
        metavar="MODULE",
        action="append",
        default=[],
        help="import MODULE (a module name or a .py file) before loading, so that the custom "
        "layers it registers with @keras.saving.register_keras_serializable() load (repeatable)",
    )


def import_custom_objects(modules):
    """Imports each `--custom-objects` module; the current folder (or the file's) is searched."""
    for module in modules:
        folder, name = os.getcwd(), module
        if module.endswith(".py"):
            folder, name = os.path.split(os.path.abspath(module[:-3]))
        if folder not in sys.path:
            sys.path.insert(0, folder)
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ValueError(
                f"`--custom-objects` must be a module (in the current folder or on PYTHONPATH) or "
                f"a .py file: {error}. Received: --custom-objects={module}"
            ) from None


def run(args):
    """Runs `tfadv evaluate`; returns the exit code."""
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"`--limit` must be >= 1. Received: --limit={args.limit}")
    if args.start < 0:
        raise ValueError(f"`--start` must be >= 0. Received: --start={args.start}")
    if args.strategy is not None and args.strategy not in EVALUATION_STRATEGIES:
        raise ValueError(
            f"`--strategy` must be one of {list(EVALUATION_STRATEGIES)}. "
            f"Received: --strategy={args.strategy}"
        )
    # Before any other TensorFlow op (a multi-worker strategy must be created first). On JAX the
    # name goes to `evaluate`, which splits the batches under Keras' distribution API.
    strategy = args.strategy
    if strategy is not None and backend.name() == "tensorflow":
        strategy = make_strategy(strategy)
    elif strategy is not None:  # JAX: one host's devices (keras.distribution); PyTorch: one
        allowed = ONE_HOST if backend.name() == "jax" else ("default",)
        if strategy not in allowed:
            raise ValueError(
                f"On the {backend.name()} backend `--strategy` is one of {list(allowed)}. "
                f"Received: --strategy={strategy}"
            )
    import_custom_objects(args.custom_objects)
    model = load_model(args.model)
    x, y = load_numpy(args.data, split=args.split, limit=args.start + args.limit)
    if args.start >= len(x):
        raise ValueError(
            f"`--start` must be smaller than the {len(x)} examples of {args.data}/{args.split}. "
            f"Received: --start={args.start}"
        )
    x, y = x[args.start :], y[args.start :]
    if not args.quiet:
        where = f" ({args.start} to {args.start + len(x) - 1})" if args.start else ""
        print(
            f"Evaluating {args.model} on {len(x)} {args.data}/{args.split} examples{where}: "
            f"protocol '{args.protocol}', {args.norm} eps={args.eps:g}",
            file=sys.stderr,
        )
    names = ("eps", "norm", "protocol", "batch_size", "checks", "eot_iter", "seed", "surrogate")
    options = {name: getattr(args, name) for name in names}  # the flags keep evaluate's names
    options["smoothed_draws"] = args.smoothed_draws or None
    verbose = 0 if args.quiet else 1
    report = evaluate(model, (x, y), strategy=strategy, verbose=verbose, **options)
    print(report)
    # Under multi_worker every worker holds the whole report: the chief (task 0) writes it.
    resolver = getattr(strategy, "cluster_resolver", None)
    chief = resolver is None or not resolver.task_id
    if args.json and chief:
        report.to_json(args.json)
        print(f"Wrote {args.json}")
    return 0
