"""The output folder of a run: created, checked writable, and bound to one config."""

import json
import os
import shutil

from tfadv.experiment import config as config_lib
from tfadv.experiment.run_state import write_json_atomic

CONFIG_FILE = "config.json"
CHECKPOINTS = "checkpoints"


def prepare(config, *, overwrite=False, command="tfadv train"):
    """Creates `config.workdir` for `config`, or checks that it holds a run of the same config.

    A folder holding a run made with another config is refused with the differing fields (or
    emptied with `overwrite`); a non-empty folder that holds no tfadv run is never emptied.

    Returns:
        The workdir path.
    """
    workdir = os.path.abspath(config.workdir)
    plain = config_lib.to_plain(config)
    stored_path = os.path.join(workdir, CONFIG_FILE)
    if os.path.isdir(workdir) and os.listdir(workdir):
        if not os.path.exists(stored_path):
            raise ValueError(
                "The output folder is not empty and holds no tfadv run (no config.json); choose "
                f"another --config.workdir. Received: workdir={config.workdir!r}"
            )
        if overwrite:
            shutil.rmtree(workdir)
        else:
            changed = config_lib.differences(_read(stored_path), plain)
            if changed:
                raise ValueError(
                    f"{config.workdir} holds a run made with another config "
                    f"({'; '.join(changed)}). Rerun with the same config to resume it, pass "
                    "--overwrite to start afresh, or choose another --config.workdir."
                )
    try:
        os.makedirs(os.path.join(workdir, CHECKPOINTS), exist_ok=True)
        write_json_atomic(stored_path, plain)
        with open(os.path.join(workdir, "command.txt"), "w", encoding="utf-8") as handle:
            handle.write(command + "\n")
    except OSError as error:
        raise ValueError(
            f"The output folder is not writable ({error.strerror or error}). "
            f"Received: workdir={config.workdir!r}"
        ) from None
    return workdir


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"The stored config is unreadable ({error}); start afresh with --overwrite. "
            f"Received: {path}"
        ) from None
