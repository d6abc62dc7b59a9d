"""Entry point of the `tfadv` console script.

Each subcommand lives in its own module of `tfadv.cli` exposing `add_parser(subparsers)` (which registers
the subcommand and sets `func`) and is listed in `SUBCOMMANDS`. A subcommand that sets
`takes_overrides=True` receives the arguments argparse does not know (`--config.FIELD=VALUE`) in
`args.overrides`.

Bad input gets one line on stderr and exit status 2, never a traceback (`--verbose` or
`TFADV_VERBOSE=1` shows it, with TensorFlow's start-up messages, which are silenced otherwise).
"""

import argparse
import importlib
import os
import sys

from tfadv import _quiet

SUBCOMMANDS = [
    "tfadv.cli.train",
    "tfadv.cli.export",
    "tfadv.cli.evaluate",
    "tfadv.cli.tune",
    "tfadv.cli.table",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfadv", description="Adversarial training and robustness evaluation for Keras."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def quiet_tensorflow():
    """Silences TensorFlow's C++ start-up lines (oneDNN, cpu_feature_guard) and Python warnings.

    Must run before TensorFlow is imported to silence the C++ side.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].get_logger().setLevel("ERROR")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = _quiet.verbose_requested(argv)
    if not verbose:
        quiet_tensorflow()
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras and not getattr(args, "takes_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    args.overrides = extras
    if not verbose:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    try:
        return args.func(args) or 0
    except (ValueError, TypeError, OSError) as error:
        if verbose:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"tfadv {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ntfadv {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
