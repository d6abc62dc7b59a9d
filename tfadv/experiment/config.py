"""Recipes: a config file's `get_config()` with `--config.FIELD=VALUE` overrides (absl flags, as
Google's research code reads them), `--smoke`, and the comparison of two configs."""

import importlib.machinery
import importlib.util
import json
import os
import traceback

import ml_collections
from absl import flags
from ml_collections import config_flags

from tfadv.experiment import schema
from tfadv.experiment.checks import check_config
from tfadv.experiment.schema import method_config

#: What `--smoke` sets, under the recipe's `smoke` fields and the overrides: a run of seconds.
SMOKE = {
    "epochs": 1,
    "data": {"train_limit": 128, "validation_size": 64},
    "evaluation": {"limit": 16},
}

#: Fields that do not change what is trained or measured (a resumed run may change them).
UNCOMPARED = ("verbose",)


def load(path, kind="recipe"):
    """`get_config()` of the config file `path` (`FILE:ARG` calls `get_config(ARG)`); a file that
    does not parse or raises is a one-line `ValueError` (`recipes/x.py:3: SyntaxError: ...`)."""
    file, _, argument = path.partition(":")
    if not os.path.isfile(file):
        raise FileNotFoundError(f"No {kind} file at this path. Received: --config {path}")
    loader = importlib.machinery.SourceFileLoader("tfadv_config_file", file)  # any extension
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    try:
        loader.exec_module(module)
        get_config = getattr(module, "get_config", None)
        config = get_config and (get_config(argument) if argument else get_config())
    except SyntaxError as error:
        raise ValueError(f"{error.filename}:{error.lineno}: SyntaxError: {error.msg}") from None
    except Exception as error:  # the file's own code: any error, reported as one line
        lines = [
            frame.lineno
            for frame in traceback.extract_tb(error.__traceback__)
            if os.path.abspath(frame.filename) == os.path.abspath(file)
        ]
        where = f"{file}:{lines[-1]}" if lines else file
        raise ValueError(f"{where}: {type(error).__name__}: {error}") from None
    if not isinstance(config, ml_collections.ConfigDict):
        raise ValueError(
            f"The {kind} must define get_config() returning an ml_collections.ConfigDict. "
            f"Received: --config {path}"
        )
    return config


def parse(config_path=None, overrides=(), *, smoke=False, kind="recipe", fields_help=None):
    """Loads a config file and applies `--config.FIELD=VALUE` overrides (absl flags).

    Args:
        config_path: the config file, then an argument for `get_config` after a colon if any
            (`None`: the schema's defaults, the main job).
        overrides: command-line arguments, each `--config.FIELD=VALUE` (or `--config.FIELD VALUE`).
        smoke: check the config as the full run would be checked, then apply `SMOKE` and the
            recipe's `smoke` fields under the overrides. Defaults to `False`.
        kind: what the file is, for errors (`"table config"`). Defaults to `"recipe"`.
        fields_help: where an unknown field's error sends the reader. Defaults to `None`
            (`tfadv train --help`).

    Returns:
        `(config, overridden)`: the resolved, locked `ConfigDict` and the overridden field names.
    """
    config = load(config_path, kind) if config_path else schema.base_config()
    overrides = list(overrides)
    for arg in overrides:
        if arg.startswith("-") and not arg.lstrip("-").startswith(("config.", "noconfig.")):
            raise ValueError(f"Overrides must read --config.FIELD=VALUE. Received: {arg}")
    others, knob_overrides = _split_knob_overrides(overrides)
    config, overridden = _override(config, others, kind, fields_help)
    if "method.name" in overridden:
        # A method named on the command line starts from its own knobs, not the recipe's.
        error = schema.BY_PATH["method.name"].check(config.method.name)
        if error:
            raise ValueError(error)
        config.method = method_config(config.method.name)
    if knob_overrides:
        config, more = _override(config, knob_overrides, kind, fields_help)
        overridden.update(more)
    if smoke:
        check_config(config)  # the full run's config: --smoke refuses what the full run refuses
        config = _smoke(config, overridden)
    return config, sorted(overridden)


def _split_knob_overrides(overrides):
    """`(other overrides, method.knobs overrides)`: the knobs are applied after a method switch."""
    others, knobs = [], []
    args = iter(overrides)
    for arg in args:
        if arg.lstrip("-").startswith("config.method.knobs."):
            knobs.append(arg)
            if "=" not in arg:  # `--config.method.knobs.K VALUE`
                knobs.append(next(args, ""))
        else:
            others.append(arg)
    return others, knobs


def _override(config, overrides, kind, fields_help):
    """`(config, {field: value})` after the overrides; errors become one-line `ValueError`s."""
    argv = ["tfadv", *overrides]
    values = flags.FlagValues()
    try:
        holder = config_flags.DEFINE_config_dict(
            "config", config, flag_values=values, sys_argv=argv
        )
        rest = values(argv, known_only=False)
    except flags.Error as error:
        raise ValueError(str(error).strip()) from None
    except (AttributeError, KeyError) as error:
        field = str(error).strip("\"'")
        culprits = [arg for arg in overrides if f".{field}" in arg.split("=", 1)[0]]
        raise ValueError(
            f"The {kind} has no config field {field!r} "
            f"({fields_help or 'tfadv train --help lists the fields'}). "
            f"Received: {' '.join(culprits or overrides)}"
        ) from None
    if len(rest) > 1:
        raise ValueError(f"Unexpected arguments. Received: {' '.join(rest[1:])}")
    return holder.value, config_flags.get_override_values(values["config"])


def _smoke(config, overridden):
    config = config.copy_and_resolve_references()  # locked, as `config` is
    try:
        config.update(SMOKE)
        config.update(config.smoke.to_dict())
    except KeyError as error:
        raise ValueError(f"A smoke field names no config field: {error.args[0]}") from None
    if "workdir" not in overridden:
        config.workdir = config.workdir.rstrip("/") + "_smoke"
    config.update_from_flattened_dict(overridden)  # the command line wins
    return config


def to_plain(config):
    """The config as JSON-ready nested dicts and lists (what `config.json` holds)."""
    return json.loads(json.dumps(config.to_dict(), default=list))


def changes(stored, current, prefix="", defaults=None):
    """`(path, old, new)` of every field but `UNCOMPARED` that differs between two plain configs;
    a field the stored config lacks (older than the field) is equal to its default."""
    if defaults is None:
        defaults = to_plain(schema.base_config())
    found = []
    for key in sorted(set(stored) | set(current)):
        path = f"{prefix}{key}"
        if path in UNCOMPARED:
            continue
        old, new = stored.get(key, "<absent>"), current.get(key, "<absent>")
        default = defaults.get(key, "<absent>") if isinstance(defaults, dict) else "<absent>"
        if isinstance(old, dict) and isinstance(new, dict):
            found += changes(old, new, f"{path}.", default if isinstance(default, dict) else {})
        elif old != new and not (old == "<absent>" and new == default):
            found.append((path, old, new))
    return found


def differences(stored, current):
    """The fields that differ between two plain configs, as `path: old -> new` lines."""
    return [f"{path}: {old!r} -> {new!r}" for path, old, new in changes(stored, current)]


def get_field(config, path):
    """The value of the field at the dotted `path` of `config` (`"attack.eps"`)."""
    for name in path.split("."):
        config = config[name]
    return config


def set_field(config, path, value, *, where=""):
    """Sets the existing field at the dotted `path` of `config` to `value`.

    A `dict` value sets the fields below `path` one by one (`set_field(config, "data",
    {"train_limit": 100})`), so a nested dict of fields and `FIELD=VALUE` paths say the same thing.

    Args:
        config: a `ConfigDict`.
        path: the field's dotted path, as on the command line (`"model.kwargs.width"`).
        value: its new value (the field's type, as `ConfigDict` enforces it).
        where: what the path is relative to, for the error (`"common."`). Defaults to `""`.

    Raises:
        ValueError: when `path` names no field of `config`.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            set_field(config, f"{path}.{key}", item, where=where)
        return
    *parents, leaf = path.split(".")
    section = config
    for name in parents:
        section = section.get(name) if isinstance(section, ml_collections.ConfigDict) else None
    if not isinstance(section, ml_collections.ConfigDict) or leaf not in section:
        raise ValueError(
            f"`{where}{path}` names no config field. Received: {where}{path}={value!r}"
        )
    section[leaf] = value
