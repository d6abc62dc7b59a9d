"""Registries: one place that lists the methods, attacks and model builders, with their knobs.

A class enrols itself by declaring `registry_name` (read by `Registry.register_subclass`, called from
the base class's `__init_subclass__`); a function enrols with the `Registry.register` decorator.
Knobs are typed, ranged, defaulted and documented once (`Knob`), and every consumer (the CLI,
Keras Tuner search spaces, recipes, docs, the registry-parametrised tests) reads them from here.
"""

import dataclasses
import importlib
import inspect
import math
import numbers
import pkgutil


class _ConstructorDefault:
    """The default of a knob that is a constructor argument: read from the constructor's signature."""

    def __repr__(self):
        return "<the constructor's default>"


#: A `Knob`'s default when it is its owner's constructor argument (see `bind_knobs`).
CONSTRUCTOR_DEFAULT = _ConstructorDefault()


@dataclasses.dataclass(frozen=True)
class Knob:
    """One documented hyperparameter: its type, domain, default and a one-line help.

    A method's knob is one of its constructor's keyword arguments, declared without a default: the
    default is the constructor's own (`bind_knobs`), so the registry and the constructor cannot
    disagree. Only a knob that is not a constructor argument (one the method turns into an attack,
    such as MAT's `l2_eps`) declares its default here.

    Args:
        type: `float`, `int`, `bool` or `str`.
        default: the default value (`None` for "the callee's own default"). Defaults to
            `CONSTRUCTOR_DEFAULT` (the owner's constructor's default, filled in by `bind_knobs`).
        help: one line for `--help`, search-space docs and recipe docs.
        minimum: optional lower bound (inclusive). Defaults to `None`.
        maximum: optional upper bound (inclusive). Defaults to `None`.
        choices: optional tuple of allowed values (for `str` knobs). Defaults to `None`.
        allow_inf: whether `float("inf")` is allowed (e.g. FAT's `tau`). Defaults to `False`.
    """

    type: type
    default: object = CONSTRUCTOR_DEFAULT
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple | None = None
    allow_inf: bool = False

    def check(self, name, value):
        """Returns `value` converted to the knob's type, or raises `ValueError`/`TypeError`."""
        if value is None and self.default is None:
            return None
        if self.type is bool:
            if not isinstance(value, (bool, numbers.Integral)) or value not in (0, 1):
                raise TypeError(f"`{name}` must be a bool. Received: {name}={value!r}")
            return bool(value)
        if self.type is str:
            if not isinstance(value, str):
                raise TypeError(f"`{name}` must be a string. Received: {name}={value!r}")
            if self.choices is not None and value not in self.choices:
                raise ValueError(
                    f"`{name}` must be one of {list(self.choices)}. Received: {name}={value!r}"
                )
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
        if math.isinf(value) and self.allow_inf:
            return float(value)
        if not math.isfinite(value):
            raise ValueError(f"`{name}` must be finite. Received: {name}={value!r}")
        if self.type is int:
            if float(value) != int(value):
                raise ValueError(f"`{name}` must be an integer. Received: {name}={value!r}")
            value = int(value)
        else:
            value = float(value)
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"`{name}` must be >= {self.minimum}. Received: {name}={value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"`{name}` must be <= {self.maximum}. Received: {name}={value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(
                f"`{name}` must be one of {list(self.choices)}. Received: {name}={value!r}"
            )
        return value


class Registry:
    """A name -> object table with aliases, filled by the objects' own declarations.

    The one registry type of tfadv: methods, attacks, model builders, protocols, sanity checks,
    threat models and distribution strategies are each a `Registry`, read like a read-only dict
    (`registry[name]`, `in`, iteration over the names, `items()`).

    Args:
        kind: what is registered, for error messages (`"method"`, `"attack"`, `"model"`).
        package: optional dotted package whose modules are imported on first look-up, so that
            every file of the package enrols itself (a new file needs no edit elsewhere).
        ordered: list names in registration order instead of sorted (protocols, sanity checks:
            their order is the report's). Defaults to `False`.
    """

    def __init__(self, kind, package=None, *, ordered=False):
        self.kind = kind
        self.package = package
        self.ordered = ordered
        self._entries = {}
        self._aliases = {}
        self._discovered = package is None

    @staticmethod
    def _key(name):
        return name.lower().replace("_", "").replace("-", "")

    def register(self, obj=None, *, name=None):
        """Registers `obj` under `name` (default: its `registry_name` or `__name__`).

        Usable as a decorator, with or without arguments.
        """

        def add(target):
            key_name = name or getattr(target, "registry_name", None) or target.__name__
            existing = self._entries.get(key_name)
            if existing is not None and existing is not target:
                if _qualified(existing) != _qualified(target):
                    raise ValueError(
                        f"A {self.kind} named {key_name!r} is already registered "
                        f"({_qualified(existing)}). Received: {_qualified(target)}"
                    )
            self._entries[key_name] = target
            self._aliases[self._key(key_name)] = key_name
            if isinstance(getattr(target, "__name__", None), str):
                self._aliases.setdefault(self._key(target.__name__), key_name)
            return target

        return add if obj is None else add(obj)

    def discover(self):
        """Imports every module of `package` once, so that its objects enrol."""
        if self._discovered:
            return
        self._discovered = True
        module = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(module.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self.package}.{info.name}")

    def names(self):
        """The registered names, sorted (in registration order when `ordered`)."""
        self.discover()
        return list(self._entries) if self.ordered else sorted(self._entries)

    def items(self):
        return [(name, self._entries[name]) for name in self.names()]

    def keys(self):
        return self.names()

    def values(self):
        return [self._entries[name] for name in self.names()]

    def __getitem__(self, name):
        return self.get(name)

    def canonical(self, name):
        """The registered name for `name`, accepting class names and any case or underscores."""
        self.discover()
        key = self._key(name) if isinstance(name, str) else None
        if key not in self._aliases:
            raise ValueError(
                f"Unknown {self.kind}; choose one of {self.names()}. Received: {self.kind}={name!r}"
            )
        return self._aliases[key]

    def get(self, name):
        """The registered object for `name` (see `canonical`), or `ValueError` naming the choices."""
        return self._entries[self.canonical(name)]

    def __contains__(self, name):
        self.discover()
        return isinstance(name, str) and self._key(name) in self._aliases

    def __iter__(self):
        return iter(self.names())

    def __len__(self):
        return len(self.names())


def _qualified(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def bind_knobs(cls, knobs, signature_of=None):
    """`knobs` with every constructor-argument knob's default read from `cls`'s constructor.

    A knob declared without a default must be a keyword argument of `cls.__init__` (or of a base
    class's, when `cls.__init__` forwards `**kwargs`); a knob that is a constructor argument must
    not declare a default of its own (one default per knob). Raises `TypeError` at class creation
    otherwise.
    """
    parameters = {}
    for klass in reversed((signature_of or cls).__mro__):
        init = klass.__dict__.get("__init__")
        if init is not None and klass is not object:
            parameters.update(inspect.signature(init).parameters)
    bound = {}
    for name, knob in knobs.items():
        parameter = parameters.get(name)
        has_default = parameter is not None and parameter.default is not inspect.Parameter.empty
        if knob.default is CONSTRUCTOR_DEFAULT:
            if not has_default:
                raise TypeError(
                    f"{cls.__name__}'s knob {name!r} declares no default and is no keyword "
                    f"argument of its constructor. Received: knobs[{name!r}]={knob!r}"
                )
            knob = dataclasses.replace(knob, default=parameter.default)
        elif has_default:
            raise TypeError(
                f"{cls.__name__}'s knob {name!r} is a constructor argument: its default is the "
                f"constructor's ({parameter.default!r}); do not declare another. "
                f"Received: knobs[{name!r}].default={knob.default!r}"
            )
        bound[name] = knob
    return bound


def check_knobs(owner, knobs, values):
    """Validates `values` (a dict) against `knobs`, filling defaults; unknown names raise."""
    unknown = sorted(set(values) - set(knobs))
    if unknown:
        raise ValueError(
            f"{owner} has no knob {unknown[0]!r}; its knobs are {sorted(knobs)}. "
            f"Received: {unknown[0]}={values[unknown[0]]!r}"
        )
    resolved = {}
    for name, knob in knobs.items():
        resolved[name] = knob.check(name, values[name]) if name in values else knob.default
    return resolved
