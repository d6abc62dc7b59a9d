"""`tfadv evaluate`: robust accuracy of a saved model under a named protocol, with sanity checks.

    tfadv evaluate MODEL.keras --data embedded_mnist --split test --limit 1000 --eps 0.3
        --norm linf --protocol standard [--json report.json] [--batch-size 256] [--seed 0]
        [--no-checks] [--quiet]

Prints the `RobustnessReport` table (per-attack and worst-case accuracy, budgets, sanity flags)
after a progress bar; `--json` also writes it as JSON. The exit code is 0 whether or not flags are
raised.
"""

import sys

PROTOCOL_NAMES = ("quick", "standard")


def add_parser(subparsers):
    """Registers the `evaluate` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="Robust accuracy of a .keras model under a named protocol (quick, standard).",
        description=(
            "Evaluate a trained .keras classifier (an AdvModel is evaluated through its "
            "classifier) under a fixed, versioned protocol: 'quick' (PGD-20 + APGD-CE) or "
            "'standard' (AutoAttack's APGD-CE, APGD-T and Square), and report per-attack and "
            "worst-case robust accuracy with sanity checks."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="path of the trained model, a .keras file")
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
    parser.add_argument("--json", metavar="OUT", default=None, help="also write the report as JSON")
    parser.add_argument(
        "--no-checks", dest="checks", action="store_false", help="skip the sanity checks"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Runs `tfadv evaluate`; returns the exit code."""
    import os

    import keras

    import tfadv  # noqa: F401  (registers tfadv's serialisable classes before loading)
    from tfadv import data as tfadv_data
    from tfadv.evaluation import evaluate

    if not os.path.exists(args.model):
        raise FileNotFoundError(f"No model file at {args.model!r}. Received: MODEL={args.model!r}")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"`--limit` must be >= 1. Received: --limit={args.limit}")
    model = keras.saving.load_model(args.model)
    x, y = tfadv_data.load_numpy(args.data, split=args.split, limit=args.limit)
    if not args.quiet:
        print(
            f"Evaluating {args.model} on {len(x)} {args.data}/{args.split} examples: protocol "
            f"'{args.protocol}', {args.norm} eps={args.eps:g}",
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
        verbose=0 if args.quiet else 1,
    )
    print(report)
    if args.json:
        report.to_json(args.json)
        print(f"Wrote {args.json}")
    return 0
