"""The `tfadv` console script: loads TensorFlow with its C++ start-up lines dropped, then runs the CLI.

Since TensorFlow 2.21 absl writes some start-up lines (oneDNN, cpu_feature_guard) before it is
initialised, whatever `TF_CPP_MIN_LOG_LEVEL` says. `import tfadv` loads TensorFlow (its modules
register their Keras classes), so the quieting must run before the package is imported: this
module lives outside the package, loads TensorFlow with file descriptor 2 pointed at a temporary
file, writes back every captured line that is not a known start-up line (a warning, an import error
or a Python traceback still reaches the user), then calls `tfadv.cli.main.main`. Only the command
line does this; `--verbose` or `TFADV_VERBOSE=1` turns it off.
"""

import contextlib
import os
import re
import sys
import tempfile
import warnings

from absl import logging as absl_logging

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


def quiet_tensorflow():
    """Loads TensorFlow with its start-up lines dropped (every other stderr line is kept).

    Also turns TensorFlow's INFO and WARNING logs and Python's deprecation warnings off.
    """
    levels = {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR"}
    for name, value in levels.items():
        os.environ.setdefault(name, value)  # read when TensorFlow loads
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    if "tensorflow" not in sys.modules:
        with startup_lines_dropped():
            import tensorflow  # noqa: F401  (here, not at the top: loaded inside the filter)
    sys.modules["tensorflow"].get_logger().setLevel("ERROR")
    absl_logging.set_verbosity(absl_logging.ERROR)


#: Keras' backends (`tfadv.backend.BACKENDS`; this module loads before the package).
BACKENDS = ("tensorflow", "jax", "torch")


def requested_backend(argv):
    """The backend `--backend NAME` (or `--backend=NAME`) asks for, or `None`."""
    for i, arg in enumerate(argv):
        if arg == "--backend" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
    return None


def select_backend(argv):
    """Sets `KERAS_BACKEND` from `--backend` before Keras loads (Keras fixes it when it loads).

    Returns an error line for an unknown name or a Keras already loaded with another backend.
    """
    name = requested_backend(argv)
    if name is None:
        return None
    if name not in BACKENDS:
        return f"tfadv: error: argument --backend: invalid choice: {name!r} (choose from {', '.join(BACKENDS)})"
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != name:
        return (
            f"tfadv: error: Keras is already loaded with the {keras.backend.backend()!r} backend "
            f"in this process. Received: --backend {name}"
        )
    os.environ["KERAS_BACKEND"] = name
    return None


def main(argv=None):
    """The `tfadv` console script (`python -m tfadv_cli` runs it too)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    error = select_backend(argv)
    if error:
        print(error, file=sys.stderr)
        return 2
    if not verbose_requested(argv):
        quiet_tensorflow()
    # Imported here, after TensorFlow loaded quietly: the reason this module exists.
    from tfadv.cli.main import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
