"""`SearchSpace`: a small, JSON-serialisable description of an adversarial-training search."""

import copy
import inspect
import math
import numbers

from tfadv.utils import validation
from tfadv.utils.json_io import JsonMixin

#: Knobs every method has: `(type, minimum, maximum, default, help)`. A `None` default means
#: "the model builder's own default".
COMMON_KNOBS = {
    "eps": (float, 0.0, None, 0.3, "training l-inf radius"),
    "learning_rate": (float, 0.0, None, 1e-3, "Adam learning rate (> 0)"),
    "width": (int, 1, None, None, "model width (builders with a `width` argument)"),
    "depth": (int, 1, None, None, "model depth (builders with a `depth` argument)"),
    "noise_stddev": (float, 0.0, None, 0.0, "input Gaussian noise injection, 0 for none"),
    "pni": (bool, None, None, False, "parametric noise injection layers"),
}

#: The method's own knobs, by method name: `(type, minimum, maximum, default, help)`.
METHOD_KNOBS = {
    "pgdat": {},
    "fast_at": {"alpha_ratio": (float, 0.0, None, 1.25, "FGSM step / eps")},
    "trades": {"beta": (float, 0.0, None, 1.0, "weight of the KL term (TRADES' MNIST 1.0)")},
    "fat": {"tau": (int, 0, None, 1, "early-stopping budget (fixed over training)")},
    "gairat": {
        "lambda_": (float, None, None, -1.0, "GAIR lambda"),
        "begin_epoch": (int, 0, None, 0, "0-based epoch at which reweighting starts"),
    },
    "alp": {
        "lambda_": (float, 0.0, None, 0.5, "logit-pairing weight"),
        "clean_weight": (float, 0.0, 1.0, 0.5, "weight of the clean cross-entropy"),
    },
    "clean_adv_mix": {"clean_weight": (float, 0.0, 1.0, 0.5, "weight of the clean loss")},
    "mat": {"l2_eps": (float, 0.0, None, 2.0, "radius of the l2 attack")},
    "fat_trades": {
        "beta": (float, 0.0, None, 1.0, "weight of the KL term"),
        "tau": (int, 0, None, 1, "early-stopping budget"),
    },
    "gair_fat": {
        "tau": (int, 0, None, 1, "early-stopping budget"),
        "lambda_": (float, None, None, 0.0, "GAIR lambda"),
        "begin_epoch": (int, 0, None, 0, "0-based epoch at which reweighting starts"),
    },
}

#: Class names (lower case, no underscores) accepted as method names.
_ALIASES = {name.replace("_", ""): name for name in METHOD_KNOBS}
_ALIASES.update(fastat="fast_at", cleanadvmix="clean_adv_mix", fattrades="fat_trades")
_ALIASES.update(gairfat="gair_fat")

_SAMPLINGS = ("linear", "log", "reverse_log")
_RANGE_KEYS = {"min", "max", "step", "sampling"}


def canonical_method(method):
    """Returns the snake-case method name for `"trades"`, `"TRADES"`, `"FastAT"`, ...

    Raises `ValueError` (quoting the received value) for an unknown method.
    """
    key = method.lower().replace("_", "") if isinstance(method, str) else None
    if key not in _ALIASES:
        raise ValueError(
            f"Unknown method; choose one of {sorted(METHOD_KNOBS)}. Received: method={method!r}"
        )
    return _ALIASES[key]


def model_builder(model):
    """Returns the `tfadv.models` builder called `model`, or raises `ValueError`."""
    from tfadv import models

    if not isinstance(model, str) or model not in models.__all__:
        raise ValueError(
            f"Unknown model builder; choose one of {sorted(models.__all__)}. "
            f"Received: model={model!r}"
        )
    return getattr(models, model)


class SearchSpace(JsonMixin):
    """The hyperparameters of an adversarial-training search: fixed values, ranges or choices.

    A search space names a training method and a `tfadv.models` builder, and gives each knob a
    fixed value, a range or a list of choices. It is plain data (`get_config()` is a JSON-able
    dict) and is validated when built, so a bad space fails before any training starts.

    Knobs of every method: `eps` (training l-inf radius; an epsilon warm-up ramps up to it),
    `learning_rate` (Adam), `width` and `depth` (only for builders that take them: `compact_cnn`,
    `wide_resnet`, `preact_resnet18`, `vgg11` have a `width`; `resnet` and `wide_resnet` a
    `depth`), `noise_stddev` (input `GaussianNoiseInjection`, 0 for none) and `pni` (parametric
    noise injection). The method's own knobs: `pgdat`: none; `fast_at`: `alpha_ratio`; `trades`:
    `beta`; `fat`: `tau`; `gairat`: `lambda_`, `begin_epoch`; `alp`: `lambda_`, `clean_weight`;
    `clean_adv_mix`: `clean_weight`; `mat`: `l2_eps`; `fat_trades`: `beta`, `tau`; `gair_fat`:
    `tau`, `lambda_`, `begin_epoch`. Knobs left out take their defaults (`eps=0.3`,
    `learning_rate=1e-3`, no noise, the builder's width and depth, TRADES `beta=1.0` as in its
    MNIST script, FAT `tau=1`, GAIRAT `lambda_=-1.0` and `begin_epoch=0`, ALP `lambda_=0.5`).

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
        """The knobs of `method` (and `model`): a dict name -> `(type, min, max, default, help)`."""
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
        for name, (_, _, _, default, _) in self.available_knobs(self.method, self.model).items():
            values[name] = default
        for name, spec in self.knobs.items():
            if hp is not None:
                values[name] = _declare(hp, name, self._knob_type(name), spec)
            elif isinstance(spec, dict):
                values[name] = spec["values"][0] if "values" in spec else spec["min"]
            else:
                values[name] = spec
        return values

    def _knob_type(self, name):
        return self.available_knobs(self.method)[name][0]

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
    kind, minimum, maximum, _, _ = knob
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(f"`{name}` must be true or false. Received: {name}={value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    strict = name == "learning_rate"  # every other lower bound is inclusive
    return validation.check_number(
        name, value, minimum=minimum, maximum=maximum, strict=strict, integer=kind is int
    )


def _check_spec(name, knob, spec):
    kind = knob[0]
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
    if kind is bool:
        raise ValueError(
            f"`{name}` is a bool: give `{{'values': [false, true]}}`, not a range. "
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
        return hp.Choice(name, values, ordered=kind is not bool)
    sampling = spec.get("sampling", "linear")
    if kind is int:
        return hp.Int(name, spec["min"], spec["max"], step=spec.get("step"), sampling=sampling)
    return hp.Float(name, spec["min"], spec["max"], step=spec.get("step"), sampling=sampling)
