"""`tfadv table`: one seed experiment, one command: rows of recipes trained, evaluated, tabulated.

    tfadv table --config TABLE [--config.FIELD=VALUE ...] [--smoke] [--overwrite] [--verbose]

TABLE is a table config (`recipes/tables/*.py`, an `ml_collections` file): a title, the seed's
claim, a `common` budget merged into every row's recipe, the ordered rows (a recipe under
`recipes/` with its overrides each), optional extra evaluation columns, an optional sweep of one
field (plotted) and per-epoch curves. The budget is overridden on the command line, e.g.
`--config.common.epochs=20 --config.common.evaluation.limit=1000`.

Every row is checked before the first trains; each trains into WORKDIR/ROW (resumable: rerun the
same command after an interruption and the table continues row by row, reusing finished rows);
then WORKDIR/table.md (the command, the budget, the claim and the table), table.json and the
figures are written and the table is printed. `--smoke` runs every row for one epoch on a few
examples (into WORKDIR_smoke); `--overwrite` retrains every row afresh.
"""

import argparse
import shlex


def add_parser(subparsers):
    """Registers the `table` subcommand (it takes `--config.FIELD=VALUE` overrides)."""
    parser = subparsers.add_parser(
        "table",
        help="Reproduce a seed experiment: train a table's rows of recipes and tabulate them.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="TABLE", required=True, help="table config file")
    for flag, text in (
        ("--smoke", "one epoch on a few examples per row, into WORKDIR_smoke"),
        ("--overwrite", "retrain every row afresh"),
        ("--verbose", "show TensorFlow's start-up and warning messages, and tracebacks"),
    ):
        parser.add_argument(flag, action="store_true", help=text)
    parser.set_defaults(func=run, takes_overrides=True)
    return parser


def run(args):
    from tfadv.experiment.table import run_table

    overrides = list(getattr(args, "overrides", []))
    words = ["tfadv", "table", "--config", args.config, *overrides]
    words += ["--smoke"] if args.smoke else []
    return run_table(
        args.config,
        overrides,
        smoke=args.smoke,
        overwrite=args.overwrite,
        command=shlex.join(words),
    )
