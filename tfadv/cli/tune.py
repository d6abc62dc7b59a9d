"""`tfadv tune`: a hyperparameter search for adversarial training, scored by robust accuracy.

    tfadv tune CONFIG.json [--directory DIR] [--project-name NAME] [--overwrite]
        [--max-trials N] [--epochs N] [--verbose {0,1,2}]

CONFIG is a JSON object whose keys are those of `tfadv.tuning.DEFAULT_CONFIG` (all optional):
the method, the model builder, the search space (`"space"`: a fixed value, `{"values": [...]}` or
`{"min": a, "max": b}` per knob), the tuner (`"random"`, `"bayesian"`, `"hyperband"`, `"grid"`),
`max_trials`, `epochs`, data limits, the validation radius and protocol, optional test radii at
which every trial is evaluated, and the output folder. For example:

    {"method": "trades", "space": {"eps": {"values": [0.2, 0.3]}, "beta": {"min": 1, "max": 6}},
     "tuner": "bayesian", "max_trials": 6, "epochs": 3, "train_limit": 2000,
     "validation_limit": 500, "directory": "artifacts/tune", "project_name": "trades_mnist"}

The table of trials is printed and saved (CSV, JSON, text) in DIRECTORY/PROJECT_NAME, with the best
classifier exported to its `best/` folder. Running the command again resumes the search.
"""

import json


def add_parser(subparsers):
    """Registers the `tune` subcommand."""
    parser = subparsers.add_parser(
        "tune",
        help="Search training epsilon, width, noise and method knobs for robust accuracy.",
        description=__doc__,
    )
    parser.add_argument("config", metavar="CONFIG", help="path of the JSON search config")
    parser.add_argument("--directory", default=None, help="output folder (config 'directory')")
    parser.add_argument("--project-name", default=None, help="search name (sub-folder)")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming the search"
    )
    parser.add_argument("--max-trials", type=int, default=None, help="override 'max_trials'")
    parser.add_argument("--epochs", type=int, default=None, help="override 'epochs'")
    parser.add_argument("--verbose", type=int, default=None, choices=(0, 1, 2))
    parser.set_defaults(func=run)
    return parser


def run(args):
    import tfadv.tuning

    with open(args.config, encoding="utf-8") as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"CONFIG is not valid JSON ({error}). Received: {args.config}"
            ) from None
    overrides = {
        "directory": args.directory,
        "project_name": args.project_name,
        "max_trials": args.max_trials,
        "epochs": args.epochs,
        "verbose": args.verbose,
    }
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if args.overwrite:
        overrides["overwrite"] = True
    tfadv.tuning.run_config(config, **overrides)
    return 0
