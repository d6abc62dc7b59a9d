"""Entry point of the `tfadv` console script.

Each subcommand lives in its own module of `tfadv.cli` exposing `add_parser(subparsers)` (which registers
the subcommand and sets `func`) and is listed in `SUBCOMMANDS`. A subcommand that sets
`takes_overrides=True` receives the arguments argparse does not know (`--config.FIELD=VALUE`) in
`args.overrides`.

Every error is one line on stderr, `tfadv CMD: error: ...`, and exit status 2 (`--traceback`: the
full trace). The console script is `tfadv_cli.main`, which loads TensorFlow with its start-up lines
dropped before it imports this module (`--verbose` or `TFADV_VERBOSE=1` shows them, and tracebacks).
"""

import argparse
import importlib
import sys

import tfadv_cli

SUBCOMMANDS = [
    "tfadv.cli.train",
    "tfadv.cli.export",
    "tfadv.cli.evaluate",
    "tfadv.cli.tune",
    "tfadv.cli.table",
]
#: Options of `tfadv` itself, also accepted after the subcommand.
GLOBAL_FLAGS = ("--traceback", "--verbose")
GLOBAL_HELP = ("show the full Python trace of an error", "show TensorFlow's start-up lines too")
#: Errors that are the user's input: their message alone is the line.
EXPECTED_ERRORS = (ValueError, TypeError, OSError, ImportError)


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors as one line (argparse prints its whole usage block first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (--help shows the usage)\n")


def build_parser():
    parser = OneLineParser(
        prog="tfadv", description="Adversarial training and robustness evaluation for Keras."
    )
    for flag, text in zip(GLOBAL_FLAGS, GLOBAL_HELP, strict=True):
        parser.add_argument(flag, action="store_true", help=text)
    parser.add_argument(
        "--backend",
        choices=tfadv_cli.BACKENDS,
        help="Keras' backend (sets KERAS_BACKEND before Keras loads; default: KERAS_BACKEND's, "
        "else tensorflow). The run folder records it as `backend`.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def describe(error):
    """`error` as one line: its message, with its type when it is not a plain input error."""
    message = " ".join(str(getattr(error, "message", None) or error).split())
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(error, tf.errors.OpError):  # e.g. NotFoundError from gfile
        return f"{type(error).__name__}: {message}"
    if isinstance(error, EXPECTED_ERRORS):
        return message or type(error).__name__
    named = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return f"{named} (run with --traceback for the full trace)"


def _without_backend(extras):
    kept, skip = [], False
    for arg in extras:
        if skip:
            skip = False
        elif arg == "--backend":
            skip = True
        elif not arg.startswith("--backend="):
            kept.append(arg)
    return kept


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    error = tfadv_cli.select_backend(argv)  # before Keras loads (done already by the script)
    if error:
        print(error, file=sys.stderr)
        return 2
    verbose = tfadv_cli.verbose_requested(argv)
    if not verbose:
        tfadv_cli.quiet_tensorflow()  # TensorFlow is loaded: turns its Python-side logs off
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    show_trace = verbose or args.traceback or "--traceback" in extras
    extras = [arg for arg in extras if arg not in GLOBAL_FLAGS]
    extras = _without_backend(extras)  # a global option given after the subcommand
    if extras and not getattr(args, "takes_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    args.overrides = extras
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print(f"\ntfadv {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001  (the entry point: every error becomes one line)
        if show_trace:
            raise
        print(f"tfadv {args.command}: error: {describe(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
