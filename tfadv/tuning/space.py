"""The search space of `tfadv tune`: any config field by its path, as a choice or a range.

`config.search.space` maps config field paths, `__` in place of the dots (`attack__eps`,
`method__knobs__beta`, `model__kwargs__width` once the recipe sets it), to one of:

- `{"values": (v1, v2, ...)}`: a choice (Keras Tuner's `hp.Choice`), of values of the field's type;
- `{"min": a, "max": b}` with optional `"step"` and `"sampling"` (`"linear"`, the default, or
  `"log"`, where `step` is a factor > 1): a range over an int or float field (`hp.Int`, `hp.Float`).

On the command line: `--config.search.space.attack__eps.values="(0.1, 0.3)"`.
"""

import dataclasses

import ml_collections

from tfadv.experiment.checks import check_config
from tfadv.experiment.config import get_field, set_field

SAMPLINGS = ("linear", "log")
_RANGE_KEYS = {"min", "max", "step", "sampling"}
#: Top-level sections a trial does not take from the space (the search sets `workdir` itself).
_UNSEARCHABLE = ("workdir", "search", "smoke")


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One searched config field: a choice (`values`) or a range (`min`, `max`, `step`, `sampling`).

    Args:
        path: the field's dotted path, e.g. `"attack.eps"`.
        kind: the field's type (`int`, `float`, `bool` or `str`).
        values: the choice, or `()` for a range. Defaults to `()`.
        min: the range's lower end. Defaults to `None`.
        max: the range's upper end. Defaults to `None`.
        step: the range's step (a factor > 1 with `"log"` sampling). Defaults to `None`.
        sampling: `"linear"` or `"log"`. Defaults to `"linear"`.
    """

    path: str
    kind: type
    values: tuple = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    sampling: str = "linear"

    def declare(self, hp):
        """Registers the dimension on a `keras_tuner.HyperParameters` (named by its path)."""
        if self.values:
            return hp.Choice(self.path, list(self.values), ordered=self.kind in (int, float))
        declare = hp.Int if self.kind is int else hp.Float
        return declare(self.path, self.min, self.max, step=self.step, sampling=self.sampling)

    def value(self, hp_values):
        """The field's value in a trial's `hyperparameters.values` (which holds bools as ints)."""
        return self.kind(hp_values[self.path])


def with_values(config, values):
    """A locked copy of `config` with `values` (`{path: value}`) set and its `search` removed."""
    trial = config.copy_and_resolve_references()
    with trial.unlocked():
        if "search" in trial:
            del trial["search"]
        for path, value in values.items():
            set_field(trial, path, value)
    trial.lock()
    return trial


def parse_space(config):
    """Validates `config.search.space` against `config`; returns its `Dimension`s.

    The recipe (with its `search` fields), then each choice's values and each range's ends set on
    it, are checked as a run's config is (`check_config`), so a bad value fails before any trial.

    Raises:
        ValueError, TypeError: one line naming `search.space.<path>` and the received spec.
    """
    space = config.search.space
    if not space:
        raise ValueError(
            "`search.space` is empty: give at least one config field to search, e.g. "
            "space.attack__eps = {'values': (0.1, 0.3)}. Received: search.space={}"
        )
    check_config(config)  # the recipe itself first: its errors name its fields
    dimensions = []
    for key in space.keys():
        path = key.replace("__", ".")
        spec = space[key]
        spec = spec.to_dict() if isinstance(spec, ml_collections.ConfigDict) else spec
        kind = _field_type(config, path)
        if kind is None or path.split(".")[0] in _UNSEARCHABLE:
            raise _bad(path, "names no config field a trial may set", spec)
        dimension = _dimension(path, kind, spec)
        for value in dimension.values or (dimension.min, dimension.max):
            try:
                check_config(with_values(config, {path: value}))
            except (ValueError, TypeError) as error:
                reason = "; ".join(str(error).splitlines())
                raise _bad(path, f"holds a value the run refuses ({reason})", spec) from None
        dimensions.append(dimension)
    return tuple(dimensions)


def _field_type(config, path):
    """The type of the field at `path`, or `None` when `path` names no field (or a section)."""
    parent, _, leaf = path.rpartition(".")
    try:
        section = get_field(config, parent) if parent else config
        value = section[leaf]
    except (KeyError, TypeError, AttributeError):  # a missing field, or one below a value
        return None
    return None if isinstance(value, ml_collections.ConfigDict) else section.get_type(leaf)


def _dimension(path, kind, spec):
    keys = set(spec) if isinstance(spec, dict) else None
    if keys != {"values"} and not (keys and {"min", "max"} <= keys <= _RANGE_KEYS):
        raise _bad(
            path,
            "must be {'values': (...)} or {'min': a, 'max': b} with optional 'step' and 'sampling'",
            spec,
        )
    if "values" in keys:
        values = spec["values"]
        if not isinstance(values, (tuple, list)) or not values:
            raise _bad(path, "must list at least one value in 'values'", spec)
        if kind is float:  # an int is a float field's value too
            values = [float(v) if type(v) is int else v for v in values]
        if kind not in (bool, int, float, str) or any(type(v) is not kind for v in values):
            raise _bad(path, f"must list values of the field's type ({kind.__name__})", spec)
        if len(set(values)) != len(values):
            raise _bad(path, "lists a value twice", spec)
        return Dimension(path, kind, values=tuple(values))
    if kind not in (int, float):
        raise _bad(path, f"is a {kind.__name__} field: give {{'values': (...)}}, not a range", spec)
    ends = (spec["min"], spec["max"], spec.get("step"))
    numbers = (int,) if kind is int else (int, float)
    if any(type(v) not in numbers for v in ends if v is not None):
        raise _bad(path, f"must give 'min', 'max' and 'step' as {kind.__name__}s", spec)
    low, high, step = ends
    sampling = spec.get("sampling", "linear")
    if not low < high:
        raise _bad(path, "must have min < max", spec)
    if sampling not in SAMPLINGS:
        raise _bad(path, f"must have 'sampling' in {list(SAMPLINGS)}", spec)
    if sampling == "log" and not low > 0:
        raise _bad(path, "samples on a log scale, so its 'min' must be > 0", spec)
    if step is not None and not step > (1 if sampling == "log" else 0):
        raise _bad(path, "must have 'step' > 0 (a factor > 1 with log sampling)", spec)
    return Dimension(path, kind, min=low, max=high, step=step, sampling=sampling)


def _bad(path, what, spec):
    return ValueError(f"`search.space.{path}` {what}. Received: search.space.{path}={spec!r}")
