"""Quiet start-up for the `tfadv` command line (imported by `tfadv/__init__.py` before TensorFlow).

TensorFlow prints C++ start-up lines (oneDNN, cpu_feature_guard, absl) when it loads, before any
of the CLI's code runs; for the `tfadv` console script and `python -m tfadv.cli.main` they are
silenced unless `--verbose` is given or `TFADV_VERBOSE=1` is set. Library users are not affected.
"""

import os
import sys


def is_quiet_cli():
    """Whether this process is the `tfadv` command line, run without `--verbose`."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    module = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else ""
    is_cli = script == "tfadv" or module in ("tfadv", "tfadv.cli.main")
    verbose = "--verbose" in argv or os.environ.get("TFADV_VERBOSE", "") not in ("", "0")
    return is_cli and not verbose


if is_quiet_cli():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
