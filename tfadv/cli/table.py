"""`tfadv table`: one seed experiment, one command: rows of recipes trained, evaluated, tabulated.

    tfadv table --config TABLE [--config.FIELD=VALUE ...] [--smoke] [--overwrite] [--verbose]

TABLE is a table config (`recipes/tables/*.py`; fields: tfadv/experiment/table_config.py): the
seed's claim, a `common` budget merged into every row's recipe (`--config.common.epochs=20`), the
rows (a recipe with `FIELD=VALUE` overrides each), extra evaluation columns, a sweep of one field
and per-epoch curves. Every row is checked before the first trains; each trains into WORKDIR/ROW
(rerun after an interruption: the table resumes row by row, reusing finished rows); then
WORKDIR/table.md (command, budget, claim, table), table.json and the plots are written and the
table printed. `--smoke`: one epoch on a few examples per row, into WORKDIR_smoke.
"""

import argparse
import shlex

from tfadv.experiment.table import run_table


def add_parser(subparsers):
    """Registers the `table` subcommand (it takes `--config.FIELD=VALUE` overrides)."""
    parser = subparsers.add_parser(
        "table",
        help="Reproduce a seed experiment: train a table's rows of recipes and tabulate them.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="TABLE", required=True, help="table config file")
    parser.add_argument("--smoke", action="store_true", help="one epoch on a few examples per row")
    parser.add_argument("--overwrite", action="store_true", help="retrain every row afresh")
    parser.set_defaults(func=run, takes_overrides=True)
    return parser


def run(args):
    words = ["tfadv", "table", "--config", args.config, *args.overrides]
    command = shlex.join(words + ["--smoke"] * args.smoke)
    options = {"smoke": args.smoke, "overwrite": args.overwrite, "command": command}
    return run_table(args.config, args.overrides, **options)
