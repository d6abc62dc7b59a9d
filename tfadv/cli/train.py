"""`tfadv train`: run an experiment config (a recipe) into one output folder.

    tfadv train [--config RECIPE] [--config.FIELD=VALUE ...] [--strategy NAME] [--smoke]
                [--overwrite] [--verbose]

RECIPE is an `ml_collections` config file (`recipes/mnist/trades.py`); without it, the README's
main job runs (`tfadv/experiment/defaults.py`: TRADES of compact_cnn on the embedded MNIST digits).
Any field is overridden on the command line, e.g. `--config.epochs=10
--config.method.knobs.beta=6 --config.workdir=artifacts/trades10`. The output folder
(`config.workdir`) receives the resolved config, the log, TensorBoard event files, checkpoints, the
robustness report (table, JSON, per-example CSV), a robust-accuracy-per-epoch plot, and the
`.keras`, SavedModel and ONNX files with their parity check.

Rerunning the same command after an interruption (Ctrl-C or a kill) resumes from the last finished
epoch; a folder that holds a run of another config is refused (`--overwrite` starts afresh).
`--smoke` runs the recipe on a few examples for one epoch (into WORKDIR_smoke).

`--strategy NAME` trains under a `tf.distribute` strategy (`config.distribution.strategy`):
`default` (one device), `mirrored` (every local GPU), `multi_worker` (the machines listed in
`TF_CONFIG`; start the same command on each), `tpu` (with `--config.distribution.tpu=NAME`).
`config.batch_size` is the global batch, split over the replicas.
"""

import argparse
import shlex


def add_parser(subparsers):
    """Registers the `train` subcommand (it takes `--config.FIELD=VALUE` overrides)."""
    parser = subparsers.add_parser(
        "train",
        help="Adversarially train a classifier from a recipe; evaluate and export it.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", metavar="RECIPE", default=None, help="recipe file (default: the main job)"
    )
    parser.add_argument(
        "--strategy",
        metavar="NAME",
        default=None,
        help="tf.distribute strategy: default, mirrored, multi_worker or tpu (sets "
        "config.distribution.strategy; default: the recipe's)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="one epoch on a few examples (CI), into WORKDIR_smoke"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh in a folder that holds a run"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up and warning messages, and tracebacks",
    )
    parser.set_defaults(func=run, takes_overrides=True)
    return parser


def run(args):
    import tfadv.experiment
    from tfadv.distribute import STRATEGIES
    from tfadv.utils import validation

    overrides = list(getattr(args, "overrides", []))
    strategy = []
    if args.strategy is not None:  # after the overrides: the flag wins over the recipe and them
        validation.check_choice("--strategy", args.strategy, STRATEGIES)
        strategy = [f"--config.distribution.strategy={args.strategy}"]
    config, _ = tfadv.experiment.parse(args.config, overrides + strategy, smoke=args.smoke)
    words = ["tfadv", "train"] + (["--config", args.config] if args.config else []) + overrides
    words += ["--strategy", args.strategy] if args.strategy is not None else []
    words += ["--smoke"] if args.smoke else []
    return tfadv.experiment.train(config, overwrite=args.overwrite, command=shlex.join(words))
