"""Entry point of the `tfadv` console script.

Each subcommand lives in its own module of `tfadv.cli` exposing `add_parser(subparsers)` (which registers
the subcommand and sets `func`) and is listed in `SUBCOMMANDS`.
"""

import argparse
import importlib
import sys

SUBCOMMANDS = [
    "tfadv.cli.train",
    "tfadv.cli.export",
    "tfadv.cli.evaluate",
    "tfadv.cli.tune",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfadv", description="Adversarial training and robustness evaluation for Keras."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"tfadv {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
