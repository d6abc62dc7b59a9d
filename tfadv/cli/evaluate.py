"""`tfadv evaluate`: robust accuracy of a saved model under a named protocol, with sanity checks.

    tfadv evaluate MODEL --data embedded_mnist --split test [--start 0] --limit 1000 --eps 0.3
        --norm linf --protocol standard [--json report.json] [--batch-size 256] [--seed 0]
        [--surrogate SURROGATE.keras|train] [--no-checks] [--quiet]

MODEL is a `.keras` file, a SavedModel folder (what `tfadv export` writes; gradient attacks run
through its serving signature) or an `.onnx` file (run by ONNX Runtime: black-box Square, plus a
transfer attack from `--surrogate`). Prints the `RobustnessReport` table (per-attack and
worst-case accuracy, budgets, sanity flags) after a progress bar; `--json` also writes it as JSON,
with per-example results and a RobustBench-style summary. The exit code is 0 whether or not flags
are raised; a path that is not a model gives one error line and exit code 2.

`--start N --limit M` evaluates examples N to N + M - 1 of the split, so that a long evaluation
can run in slices whose accuracies combine weighted by their sizes. The attacks draw their random
starts batch by batch over the examples still robust, so a slice's verdict on an example can differ
from that of one run over the whole split, as between two seeds.
"""

import sys

PROTOCOL_NAMES = ("quick", "standard", "plus", "rand")


def add_parser(subparsers):
    """Registers the `evaluate` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="Robust accuracy of a saved model under a named protocol (quick, standard, plus, rand).",
        description=(
            "Evaluate a trained classifier (a .keras file, a SavedModel folder or an .onnx file; "
            "an AdvModel is evaluated through its classifier) under a fixed, versioned protocol: "
            "'quick' (PGD-20 + APGD-CE), or AutoAttack's 'standard' (APGD-CE, APGD-T, FAB-T, "
            "Square), 'plus' or 'rand', and report per-attack and worst-case robust accuracy with "
            "sanity checks."
        ),
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="the trained model: a .keras file, a SavedModel folder or an .onnx file",
    )
    parser.add_argument(
        "--data", default="embedded_mnist", help="dataset name (default: embedded_mnist)"
    )
    parser.add_argument(
        "--split",
        default="test",
        choices=("train", "validation", "test"),
        help="dataset split (default: test)",
    )
    parser.add_argument(
        "--start",
        type=int,
        default=0,
        help="index of the first example of the split to evaluate (default: 0)",
    )
    parser.add_argument(
        "--limit", type=int, default=1000, help="number of examples (default: 1000)"
    )
    parser.add_argument("--eps", type=float, default=0.3, help="radius (default: 0.3)")
    parser.add_argument(
        "--norm", default="linf", choices=("linf", "l2"), help="threat model (default: linf)"
    )
    parser.add_argument(
        "--protocol",
        default="standard",
        choices=PROTOCOL_NAMES,
        help="evaluation protocol (default: standard)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=256, help="examples per attack batch (default: 256)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the attacks (default: 0)")
    parser.add_argument(
        "--eot-iter",
        type=int,
        default=20,
        help="EOT gradient samples against a randomised model (default: 20)",
    )
    parser.add_argument(
        "--surrogate",
        default=None,
        help="source model of a transfer attack: a .keras file, or 'train' to fit a small one "
        "on the target's predictions (default: none)",
    )
    parser.add_argument("--json", metavar="OUT", default=None, help="also write the report as JSON")
    parser.add_argument(
        "--no-checks", dest="checks", action="store_false", help="skip the sanity checks"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Runs `tfadv evaluate`; returns the exit code."""
    from tfadv import data as tfadv_data
    from tfadv.evaluation import evaluate, load_model

    if args.limit is not None and args.limit < 1:
        raise ValueError(f"`--limit` must be >= 1. Received: --limit={args.limit}")
    if args.start < 0:
        raise ValueError(f"`--start` must be >= 0. Received: --start={args.start}")
    model = load_model(args.model)
    x, y = tfadv_data.load_numpy(args.data, split=args.split, limit=args.start + args.limit)
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
    report = evaluate(
        model,
        (x, y),
        eps=args.eps,
        norm=args.norm,
        protocol=args.protocol,
        batch_size=args.batch_size,
        checks=args.checks,
        eot_iter=args.eot_iter,
        seed=args.seed,
        surrogate=args.surrogate,
        verbose=0 if args.quiet else 1,
    )
    print(report)
    if args.json:
        report.to_json(args.json)
        print(f"Wrote {args.json}")
    return 0
