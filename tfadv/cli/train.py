"""`tfadv train`: run an experiment config (a recipe) into one output folder.

RECIPE is an `ml_collections` config file (`recipes/mnist/trades.py`); without it, the main job
runs (`recipes/mnist/default.py`: the schema's defaults). Any field below is overridden on the
command line, e.g. `--config.epochs=10 --config.method.knobs.beta=6`.

Rerunning the same command after an interruption (Ctrl-C or a kill) resumes from the last finished
epoch. A raised `--config.epochs` extends a run; changed evaluation or export fields evaluate and
export its kept classifier again; any other change is refused (`--overwrite` starts afresh). A
folder is locked (`run.lock`) while a run uses it. `--smoke` checks the recipe as the full run
would. `config.batch_size` is the global batch, split over the replicas.
"""

import argparse
import shlex

from tfadv.distribute import STRATEGIES
from tfadv.experiment import config as config_lib
from tfadv.experiment import runner, schema
from tfadv.utils import validation


def add_parser(subparsers):
    """Registers the `train` subcommand (it takes `--config.FIELD=VALUE` overrides)."""
    parser = subparsers.add_parser(
        "train",
        help="Adversarially train a classifier from a recipe; evaluate and export it.",
        description=__doc__,
        epilog=f"config fields (--config.FIELD=VALUE; default: help [domain]):\n{schema.help_text()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="RECIPE", help="recipe file (default: the main job)")
    parser.add_argument(
        "--strategy",
        metavar="NAME",
        help=f"tf.distribute strategy: one of {', '.join(STRATEGIES)} (default: the recipe's)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one epoch on a few examples (CI), into WORKDIR_smoke unless --config.workdir is given",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh in a folder that holds a run"
    )
    parser.set_defaults(func=run, takes_overrides=True)
    return parser


def run(args):
    overrides = list(getattr(args, "overrides", []))
    strategy = []
    if args.strategy is not None:  # after the overrides: the flag wins over the recipe and them
        validation.check_choice("--strategy", args.strategy, tuple(STRATEGIES))
        strategy = [f"--config.distribution.strategy={args.strategy}"]
    config, _ = config_lib.parse(args.config, overrides + strategy, smoke=args.smoke)
    words = ["tfadv", "train"] + (["--config", args.config] if args.config else []) + overrides
    words += ["--strategy", args.strategy] if args.strategy is not None else []
    words += ["--smoke"] if args.smoke else []
    return runner.train(config, overwrite=args.overwrite, command=shlex.join(words))
