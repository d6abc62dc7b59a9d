"""`SearchSpace`: a small, JSON-serialisable description of an adversarial-training search."""

import copy
import inspect
import math
from collections.abc import Mapping

from tfadv.utils import validation
from tfadv.utils.json_io import JsonMixin
from tfadv.utils.registry import Knob

#: Knobs every method has. A `None` default means "the model builder's own default".
COMMON_KNOBS = {
    "eps": Knob(float, 0.3, "training l-inf radius", minimum=0.0),
    "learning_rate": Knob(float, 1e-3, "Adam learning rate (> 0)", minimum=0.0),
    "width": Knob(int, None, "model width (builders with a `width` argument)", minimum=1),
    "depth": Knob(int, None, "model depth (builders with a `depth` argument)", minimum=1),
    "noise_stddev": Knob(float, 0.0, "input Gaussian noise injection, 0 for none", minimum=0.0),
    "pni": Knob(bool, False, "parametric noise injection layers"),
}


class _MethodKnobs(Mapping):
    """`METHOD_KNOBS[name]`: each registered method's own knobs, read from `tfadv.methods`."""

    def __getitem__(self, name):
        from tfadv.methods import METHODS

        return dict(METHODS.get(name).knobs)

    def __iter__(self):
        from tfadv.methods import METHODS

        return iter(METHODS.names())

    def __len__(self):
        from tfadv.methods import METHODS

        return len(METHODS)


#: The method's own knobs, by registered method name (`tfadv.methods.METHODS`).
METHOD_KNOBS = _MethodKnobs()

_SAMPLINGS = ("linear", "log", "reverse_log")
_RANGE_KEYS = {"min", "max", "step", "sampling"}


def canonical_method(method):
    """Returns the registered method name for `"trades"`, `"TRADES"`, `"FastAT"`, ...

    Raises `ValueError` (quoting the received value) for an unknown method.
    """
    from tfadv.methods import METHODS

    return METHODS.canonical(method)


def model_builder(model):
    """Returns the `tfadv.models` builder called `model`, or raises `ValueError`."""
    from tfadv.models import MODELS

    if not isinstance(model, str) or model not in MODELS.names():
        raise ValueError(
            f"Unknown model builder; choose one of {MODELS.names()}. Received: model={model!r}"
        )
    return MODELS.get(model)


class SearchSpace(JsonMixin):
    """The hyperparameters of an adversarial-training search: fixed values, ranges or choices.

    A search space names a training method and a `tfadv.models` builder, and gives each knob a
    fixed value, a range or a list of choices. It is plain data (`get_config()` is a JSON-able
    dict) and is validated when built, so a bad space fails before any training starts.

    Knobs of every method: `eps` (training l-inf radius; an epsilon warm-up ramps up to it),
    `learning_rate` (Adam), `width` and `depth` (only for builders that take them: `compact_cnn`,
    `wide_resnet`, `preact_resnet18`, `vgg11` have a `width`; `resnet` and `wide_resnet` a
    `depth`), `noise_stddev` (input `GaussianNoiseInjection`, 0 for none) and `pni` (parametric
    noise injection). The method's own knobs are the ones it declares in the method registry
    (`tfadv.methods.get(method).knobs`, e.g. TRADES' `beta`, FAT's `tau`, GAIRAT's `lambda_` and
    `begin_epoch`); knobs left out take their registry defaults (`eps=0.3`, `learning_rate=1e-3`,
    no noise, the builder's width and depth).

    A knob's value is one of:

    - a number or a bool: fixed (`hp.Fixed`);
    - `{"values": [...]}`: a choice (`hp.Choice`; `hp.Boolean` for `[False, True]`);
    - `{"min": a, "max": b}`, optionally with `"step"` and `"sampling"` (`"linear"`, `"log"`,
      `"reverse_log"`): a range (`hp.Float`, or `hp.Int` for integer knobs).

    Bad spaces raise `ValueError` quoting the received value: an unknown method or model, a knob
    the method does not have, an empty range (`min > max`), a one-point range, an empty choice,
    a value outside the knob's domain (a negative `eps`, a `clean_weight` above 1), log sampling
    from 0.

    Args:
        knobs: dict mapping knob names to fixed values, ranges or choices. Defaults to `None` (every
            knob at its default).
        method: the training method, a snake-case name (`"pgdat"`, `"trades"`, `"fat"`, ...) or the
            class name (`"TRADES"`). Defaults to `"pgdat"`.
        model: the name of a `tfadv.models` builder. Defaults to `"compact_cnn"`.

    Example:

    ```python
    space = tfadv.tuning.SearchSpace(
        {
            "eps": {"values": [0.1, 0.2, 0.3, 0.4]},
            "beta": {"min": 0.5, "max": 6.0},
            "width": {"min": 1, "max": 2},
            "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
        },
        method="trades",
        model="compact_cnn",
    )
    space.get_config()
    ```
    """

    def __init__(self, knobs=None, *, method="pgdat", model="compact_cnn"):
        self.method = canonical_method(method)
        self.model = model
        builder = model_builder(model)
        if knobs is None:
            knobs = {}
        if not isinstance(knobs, dict):
            raise TypeError(
                f"`knobs` must be a dict of knob name -> value, range or choice. "
                f"Received: knobs={knobs!r}"
            )
        allowed = self.available_knobs(self.method, model)
        parameters = inspect.signature(builder).parameters
        from tfadv.methods import METHODS

        needs = sorted(set(METHODS.get(self.method).builder_options) - set(parameters))
        if needs:
            raise ValueError(
                f"Method '{self.method}' needs a model builder with `{needs[0]}` (e.g. 'resnet', "
                f"'wide_resnet'); '{model}' has none. Received: model={model!r}"
            )
        for name in knobs:
            if name in ("width", "depth") and name not in parameters:
                raise ValueError(
                    f"The model builder '{model}' has no `{name}` argument, so `{name}` cannot be "
                    f"searched. Received: {name}={knobs[name]!r} with model={model!r}"
                )
            if name not in allowed:
                raise ValueError(
                    f"Unknown knob for method '{self.method}'; its knobs are {sorted(allowed)}. "
                    f"Received: {name}={knobs[name]!r}"
                )
        self.knobs = {name: _check_spec(name, allowed[name], spec) for name, spec in knobs.items()}

    @staticmethod
    def available_knobs(method, model=None):
        """The knobs of `method` (and `model`): a dict name -> `tfadv.utils.registry.Knob`."""
        method = canonical_method(method)
        knobs = dict(COMMON_KNOBS)
        if model is not None:
            parameters = inspect.signature(model_builder(model)).parameters
            for name in ("width", "depth"):
                if name not in parameters:
                    knobs.pop(name)
        knobs.update(METHOD_KNOBS[method])
        return knobs

    def declare(self, hp):
        """Registers the searched and fixed knobs on a `keras_tuner.HyperParameters`."""
        for name, spec in self.knobs.items():
            _declare(hp, name, self._knob_type(name), spec)

    def values(self, hp=None):
        """Every knob's value for one trial: the trial's values, else the defaults.

        Args:
            hp: optional `keras_tuner.HyperParameters`; its knobs are declared (so the tuner sees
                them) and their current values returned. Defaults to `None` (fixed values and
                defaults only; ranges and choices take their first value).

        Returns:
            A dict knob name -> value, with `None` for a builder default (`width`, `depth`).
        """
        values = {}
        for name, knob in self.available_knobs(self.method, self.model).items():
            values[name] = knob.default
        for name, spec in self.knobs.items():
            if hp is not None:
                values[name] = _declare(hp, name, self._knob_type(name), spec)
            elif isinstance(spec, dict):
                values[name] = spec["values"][0] if "values" in spec else spec["min"]
            else:
                values[name] = spec
        return values

    def _knob_type(self, name):
        return self.available_knobs(self.method)[name].type

    def get_config(self):
        return {"method": self.method, "model": self.model, "knobs": copy.deepcopy(self.knobs)}

    @classmethod
    def from_config(cls, config):
        return cls(config.get("knobs"), method=config["method"], model=config["model"])

    def to_dict(self):
        return self.get_config()

    @classmethod
    def from_dict(cls, config):
        return cls.from_config(config)

    def __eq__(self, other):
        return isinstance(other, SearchSpace) and self.get_config() == other.get_config()

    def __repr__(self):
        return f"SearchSpace({self.knobs!r}, method={self.method!r}, model={self.model!r})"


# ------------------------------------------------------------------------------- private helpers
def _check_value(name, knob, value):
    if knob.type is bool and not isinstance(value, bool):
        raise TypeError(f"`{name}` must be true or false. Received: {name}={value!r}")
    value = knob.check(name, value)
    if name == "learning_rate" and not value > 0:  # every other lower bound is inclusive
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value!r}")
    return value


def _check_spec(name, knob, spec):
    kind = knob.type
    if not isinstance(spec, dict):
        return _check_value(name, knob, spec)
    if "values" in spec:
        if set(spec) != {"values"}:
            raise ValueError(
                f"A choice is `{{'values': [...]}}` with no other key. Received: {name}={spec!r}"
            )
        values = spec["values"]
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(
                f"`{name}` has an empty choice: give at least one value. Received: {name}={spec!r}"
            )
        values = [_check_value(name, knob, v) for v in values]
        if len(set(values)) != len(values):
            raise ValueError(f"`{name}` lists a value twice. Received: {name}={spec!r}")
        return {"values": values}
    unknown = set(spec) - _RANGE_KEYS
    if unknown or not {"min", "max"} <= set(spec):
        raise ValueError(
            f"A knob is a value, `{{'values': [...]}}` or `{{'min': a, 'max': b}}` (optional "
            f"'step', 'sampling'). Received: {name}={spec!r}"
        )
    if kind in (bool, str):
        raise ValueError(
            f"`{name}` is a {kind.__name__}: give `{{'values': [...]}}`, not a range. "
            f"Received: {name}={spec!r}"
        )
    low, high = _check_value(name, knob, spec["min"]), _check_value(name, knob, spec["max"])
    if low > high:
        raise ValueError(f"`{name}` has an empty range (min > max). Received: {name}={spec!r}")
    if low == high:
        raise ValueError(
            f"`{name}` has a one-point range; give the value itself to fix it. "
            f"Received: {name}={spec!r}"
        )
    checked = {"min": low, "max": high}
    if spec.get("step") is not None:
        step = validation.check_number(
            f"{name}.step", spec["step"], minimum=0.0, strict=True, integer=kind is int
        )
        checked["step"] = step
    sampling = spec.get("sampling", "linear")
    if sampling not in _SAMPLINGS:
        raise ValueError(
            f"`{name}.sampling` must be one of {list(_SAMPLINGS)}. Received: {name}={spec!r}"
        )
    if sampling != "linear":
        if low <= 0:
            raise ValueError(
                f"`{name}` samples on a log scale, so its range must be > 0. "
                f"Received: {name}={spec!r}"
            )
        if "step" in checked and kind is float and not checked["step"] > 1:
            raise ValueError(
                "With log sampling `step` is a multiplicative factor > 1. "
                f"Received: {name}={spec!r}"
            )
        checked["sampling"] = sampling
    if "step" in checked and kind is float and sampling == "linear":
        if checked["step"] > high - low and not math.isclose(checked["step"], high - low):
            raise ValueError(f"`{name}.step` is larger than the range. Received: {name}={spec!r}")
    return checked


def _declare(hp, name, kind, spec):
    """Declares one knob on `hp` and returns its current value."""
    if not isinstance(spec, dict):
        return hp.Fixed(name, spec)
    if "values" in spec:
        values = spec["values"]
        if kind is bool and sorted(values) == [False, True]:
            return hp.Boolean(name, default=values[0])
        return hp.Choice(name, values, ordered=kind not in (bool, str))
    sampling = spec.get("sampling", "linear")
    if kind is int:
        return hp.Int(name, spec["min"], spec["max"], step=spec.get("step"), sampling=sampling)
    return hp.Float(name, spec["min"], spec["max"], step=spec.get("step"), sampling=sampling)
