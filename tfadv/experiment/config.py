"""Experiment configs: loading a recipe with command-line overrides, smoke shrinking, comparison.

A recipe is an `ml_collections` config file (`get_config()`), read with absl flags the way Google's
research code reads them: `--config recipes/mnist/trades.py --config.epochs=10`.
"""

import json
import os

import ml_collections
from absl import flags
from ml_collections import config_dict, config_flags

#: The config file `tfadv train` runs without `--config` (the README's main job).
DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "defaults.py")

#: What `--smoke` sets (before the recipe's own `smoke` fields and the command-line overrides):
#: one epoch on a few examples, so that every recipe runs in seconds.
SMOKE = {
    "epochs": 1,
    "data": {"train_limit": 128, "validation_size": 64},
    "evaluation": {"limit": 16},
}

#: Fields that do not change what is trained or measured (a resumed run may change them).
UNCOMPARED = ("verbose",)


def method_config(name, **knobs):
    """The `method` field for `name`: every registry knob, at its default unless given.

    Listing all knobs lets the command line override any of them
    (`--config.method.knobs.beta=6`). Knobs whose default is "the callee's own" become typed
    placeholders.

    Args:
        name: a `tfadv.methods.METHODS` name.
        **knobs: knob values that differ from the registry defaults.

    Returns:
        An `ml_collections.ConfigDict` with `name` and `knobs`.
    """
    import tfadv.methods
    from tfadv.utils.registry import check_knobs

    cls = tfadv.methods.get(name)
    values = check_knobs(cls.__name__, cls.knobs, knobs)
    fields = {}
    for knob_name, knob in cls.knobs.items():
        value = values[knob_name]
        fields[knob_name] = config_dict.placeholder(knob.type) if value is None else value
    return ml_collections.ConfigDict(
        {"name": tfadv.methods.METHODS.canonical(name), "knobs": ml_collections.ConfigDict(fields)}
    )


def parse(config_path=None, overrides=(), *, smoke=False, kind="recipe", fields_help=None):
    """Loads a config file and applies `--config.FIELD=VALUE` overrides (absl flags).

    Args:
        config_path: the recipe file (`None`: `DEFAULT_CONFIG`). An absl config-file argument may
            follow the path after a colon.
        overrides: command-line arguments, each `--config.FIELD=VALUE` (or `--config.FIELD VALUE`).
        smoke: apply `SMOKE` and the recipe's `smoke` fields under the overrides.
        kind: what the file is, for error messages (`tfadv table` reads a `"table config"`).
            Defaults to `"recipe"`.
        fields_help: where an unknown field's error sends the reader. Defaults to `None`
            (`tfadv/experiment/defaults.py`, which lists a recipe's fields).

    Returns:
        `(config, overridden)`: the resolved, locked `ConfigDict` and the overridden field names.
    """
    path = config_path or DEFAULT_CONFIG
    file_part = path.split(":", 1)[0]
    if not os.path.isfile(file_part):
        raise FileNotFoundError(f"No {kind} file at this path. Received: --config {path}")
    overrides = list(overrides)
    for arg in overrides:
        if arg.startswith("-") and not arg.lstrip("-").startswith(("config.", "noconfig.")):
            raise ValueError(f"Overrides must read --config.FIELD=VALUE. Received: {arg}")
    overrides, knob_overrides = _split_knob_overrides(overrides)
    argv = ["tfadv train", f"--config={path}", *overrides]
    values = flags.FlagValues()
    holder = _parse_flags(
        lambda: config_flags.DEFINE_config_file(
            "config", default=path, flag_values=values, sys_argv=argv
        ),
        values, argv, path, kind, fields_help, overrides,
    )  # fmt: skip
    config = holder.value
    if not isinstance(config, ml_collections.ConfigDict):
        raise ValueError(
            f"The {kind} must define get_config() returning an ml_collections.ConfigDict. "
            f"Received: --config {path}"
        )
    overridden = config_flags.get_override_values(values["config"])
    if "method.name" in overridden:
        # A method named on the command line starts from its own knobs, not the recipe's.
        config.method = method_config(config.method.name)
    if knob_overrides:
        argv = ["tfadv train", *knob_overrides]
        values = flags.FlagValues()
        holder = _parse_flags(
            lambda: config_flags.DEFINE_config_dict(
                "config", config, flag_values=values, sys_argv=argv
            ),
            values, argv, path, kind, fields_help, knob_overrides,
        )  # fmt: skip
        config = holder.value
        overridden.update(config_flags.get_override_values(values["config"]))
    if smoke:
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


def _parse_flags(define, values, argv, path, kind, fields_help, overrides):
    """Defines the config flag with `define()` and parses `argv`; errors become one-line
    `ValueError`s."""
    try:
        holder = define()
        rest = values(argv, known_only=False)
    except flags.Error as error:
        message = str(error).strip()
        if "Traceback" in message:  # the config file's get_config() raised: keep its last line
            message = f"--config {path}: {message.splitlines()[-1]}"
        raise ValueError(message) from None
    except (AttributeError, KeyError) as error:
        field = str(error).strip("\"'")
        culprits = [arg for arg in overrides if f".{field}" in arg.split("=", 1)[0]]
        raise ValueError(
            f"The {kind} has no config field {field!r} ("
            f"{fields_help or 'tfadv/experiment/defaults.py lists the fields'}). "
            f"Received: {' '.join(culprits or overrides)}"
        ) from None
    if len(rest) > 1:
        raise ValueError(f"Unexpected arguments. Received: {' '.join(rest[1:])}")
    return holder


def _smoke(config, overridden):
    config = config.copy_and_resolve_references()
    with config.unlocked():
        _update(config, SMOKE)
        _update(config, config.smoke.to_dict())
        if "workdir" not in overridden:
            config.workdir = config.workdir.rstrip("/") + "_smoke"
        for field, value in overridden.items():
            _set(config, field, value)
    config.lock()
    return config


def _update(config, values, prefix=""):
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(config.get(key), ml_collections.ConfigDict):
            _update(config[key], value, f"{prefix}{key}.")
        elif key in config:
            config[key] = value
        else:
            raise ValueError(f"A smoke field names no config field. Received: {prefix}{key}")


def _set(config, field, value):
    *parents, leaf = field.split(".")
    for parent in parents:
        config = config[parent]
    config[leaf] = value


def to_plain(config):
    """The config as JSON-ready nested dicts and lists (what `config.json` holds)."""
    return json.loads(json.dumps(config.to_dict(), default=list))


def differences(stored, current, prefix="", defaults=None):
    """Field paths whose values differ between two plain configs, as `path: old -> new` lines.

    A field the stored config lacks (it was written before the field existed) counts as equal when
    the current value is the field's default (`defaults.py`): the older run behaved that way.
    """
    if defaults is None:
        defaults = _default_fields()
    lines = []
    for key in sorted(set(stored) | set(current)):
        path = f"{prefix}{key}"
        if path in UNCOMPARED:
            continue
        old, new = stored.get(key, "<absent>"), current.get(key, "<absent>")
        default = defaults.get(key, "<absent>") if isinstance(defaults, dict) else "<absent>"
        if isinstance(old, dict) and isinstance(new, dict):
            lines += differences(old, new, f"{path}.", default if isinstance(default, dict) else {})
        elif old == "<absent>" and default != "<absent>" and new == default:
            continue
        elif old != new:
            lines.append(f"{path}: {old!r} -> {new!r}")
    return lines


def _default_fields():
    from tfadv.experiment.defaults import get_config

    return to_plain(get_config())
