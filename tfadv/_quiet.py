"""Quiet start-up for the `tfadv` command line (imported by `tfadv/__init__.py` before TensorFlow).

TensorFlow prints C++ start-up lines (oneDNN, cpu_feature_guard, absl) when it loads, before any
of the CLI's code runs; for the `tfadv` console script and `python -m tfadv.cli.main` they are
silenced unless `--verbose` is given or `TFADV_VERBOSE=1` is set. Library users are not affected.

`TF_CPP_MIN_LOG_LEVEL` alone no longer silences them: since TensorFlow 2.21 the oneDNN line is
written by absl's C++ logging before it is initialised, whatever the level. So the CLI loads
TensorFlow with the process's standard error (file descriptor 2) pointed at a temporary file,
then writes back every captured line that is not one of the known start-up lines: a warning or
an import error still reaches the user.
"""

import contextlib
import os
import re
import sys
import tempfile

# The start-up lines TensorFlow's C++ side prints on import (and their continuation lines).
_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|^[IW]\d{4} [\d:.]+ +\d+ (port|cpu_feature_guard|cpu_utils)\.cc:\d+\]"
    r"|^To enable the following instructions: .* rebuild TensorFlow"
    r"|^\s*$"
)


def verbose_requested(argv):
    """Whether `argv` holds `--verbose` or the environment sets `TFADV_VERBOSE` (not `0`)."""
    return "--verbose" in argv or os.environ.get("TFADV_VERBOSE", "") not in ("", "0")


def is_quiet_cli():
    """Whether this process is the `tfadv` command line, run without `--verbose`."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    module = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else ""
    is_cli = script == "tfadv" or module in ("tfadv", "tfadv.cli.main")
    return is_cli and not verbose_requested(argv)


@contextlib.contextmanager
def startup_lines_dropped():
    """Points file descriptor 2 at a temporary file, then writes back all but the start-up lines."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor 2 (an embedded interpreter): nothing to do
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines() if not _NOISE.search(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


def import_tensorflow_quietly():
    """Imports TensorFlow with its C++ start-up lines dropped; every other stderr line is kept."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with startup_lines_dropped():
        import tensorflow  # noqa: F401


if is_quiet_cli():
    import_tensorflow_quietly()
