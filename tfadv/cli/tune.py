"""`tfadv tune`: a recipe's hyperparameter search; every trial is a `tfadv train` run.

    tfadv tune --config RECIPE [--config.FIELD=VALUE ...] [--smoke] [--overwrite] [--verbose]

RECIPE is a training recipe (as for `tfadv train`) with a `search` section: `tuner` (random,
bayesian, hyperband, grid), `max_trials`, `space` (config fields by path, `__` for the dots:
`space.attack__eps = {"values": (0.1, 0.3)}` or `{"min": a, "max": b, "step": s, "sampling":
"log"}`; see tfadv/tuning/space.py), `test_eps` and `test_limit`. Each trial trains into
WORKDIR/trials/ID; WORKDIR receives trials.csv|json|txt, best.json and, with `test_eps`,
test_eps.txt|json (every trial's classifier at each radius). Rerunning the same command resumes
the search; `--overwrite` starts afresh; `--smoke` shrinks every trial as `tfadv train --smoke`
does and runs at most 2 trials (into WORKDIR_smoke). Example (BIPARO's Figure 1 search):

    tfadv tune --config recipes/tuning/mnist_tune.py --smoke
"""

import argparse
import shlex

from tfadv.experiment.config import parse
from tfadv.tuning.search import tune


def add_parser(subparsers):
    """Registers the `tune` subcommand (it takes `--config.FIELD=VALUE` overrides)."""
    parser = subparsers.add_parser(
        "tune",
        help="Search a recipe's fields (Keras Tuner); each trial is a tfadv train run.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="RECIPE", help="recipe file with a `search` section")
    parser.add_argument("--smoke", action="store_true", help="tiny trials, at most 2 (CI)")
    parser.add_argument("--overwrite", action="store_true", help="start the search afresh")
    parser.add_argument("--verbose", action="store_true", help="TensorFlow's messages, tracebacks")
    parser.set_defaults(func=run, takes_overrides=True)
    return parser


def run(args):
    overrides = list(args.overrides)
    for path in [args.config or "", *[a for a in overrides if not a.startswith("-")]]:
        if path.lower().endswith(".json"):
            raise ValueError(
                "`tfadv tune` takes a recipe (an ml_collections config file with a `search` "
                f"section, e.g. recipes/tuning/mnist_tune.py), not JSON. Received: {path}"
            )
    if args.config is None:
        raise ValueError("`tfadv tune` needs --config RECIPE. Received: no --config")
    config, _ = parse(args.config, overrides, smoke=args.smoke)
    words = ["tfadv", "tune", "--config", args.config, *overrides]
    words += ["--smoke"] if args.smoke else []
    return tune(config, overwrite=args.overwrite, smoke=args.smoke, command=shlex.join(words))
