"""The experiment schema: every recipe field (path, type, default, help, domain), declared once.

From `FIELDS` come the config recipes start from (`base_config`, the main job), the check of a
resolved config (`check_fields`) and `tfadv train --help` (`help_text`). `search` is `tfadv tune`'s.
"""

import dataclasses
import math
import numbers
import operator

import ml_collections
from ml_collections import config_dict

from tfadv import backend
from tfadv.attacks.threat_model import THREAT_MODELS
from tfadv.data import DATASETS
from tfadv.distribute import STRATEGIES
from tfadv.evaluation.protocols import PROTOCOLS
from tfadv.experiment.build import LR_SCHEDULES, OPTIMIZERS
from tfadv.methods import METHODS
from tfadv.models import MODELS
from tfadv.utils.registry import check_knobs

NORMS = tuple(THREAT_MODELS.names())  # the registered norms, spelled exactly
#: Sections whose keys are free: model.kwargs (the builder's), method.knobs (the method's), ...
SECTION = dict
#: Top-level sections a config may lack (a `tfadv tune` trial drops its `search`).
OPTIONAL_SECTIONS = ("search",)
_SIGNS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclasses.dataclass(frozen=True)
class Field:
    """One config field.

    Args:
        path: the dotted path, e.g. `"attack.eps"`.
        type: `int`, `float`, `bool`, `str`, `tuple`, or `SECTION` (free-form keys).
        default: its value in `base_config()`; `None`: unset, which is then allowed.
        help: one line for `tfadv train --help`.
        bounds: comma-separated bounds, e.g. `">= 0, < 1"`. Defaults to `""`.
        choices: the allowed values (a tuple or a `Registry`). Defaults to `None`.
    """

    path: str
    type: type
    default: object
    help: str
    bounds: str = ""
    choices: object = None

    def check(self, value):
        """`None` when `value` is in the domain, else one line naming the field and the value."""
        bad = lambda must: f"`{self.path}` must be {must}. Received: {self.path}={value!r}"
        kind = self.type
        if value is None or kind is SECTION:
            sections = (dict, ml_collections.ConfigDict)
            ok = self.default is None if value is None else isinstance(value, sections)
            return None if ok else bad("set" if value is None else "a section")
        if kind in (bool, str, tuple):
            if not isinstance(value, (tuple, list) if kind is tuple else kind):
                return bad({bool: "a bool", str: "a string", tuple: "a tuple"}[kind])
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            return bad("a number")
        elif not math.isfinite(value) or (kind is int and not float(value).is_integer()):
            return bad("finite" if kind is float else "an integer")
        if self.choices is not None and value not in self.choices:
            return bad(f"one of {list(self.choices)}")
        for term in filter(None, self.bounds.split(", ")):
            sign, bound = term.split()
            if not _SIGNS[sign](value, float(bound)):
                return bad(term)
        return None

    def domain(self):
        """The domain in words, for `--help`."""
        words = [f"one of {', '.join(map(str, self.choices))}"] if self.choices else []
        unset = ["unset allowed"] if self.default is None and self.type is not SECTION else []
        return ", ".join(words + [self.bounds] * bool(self.bounds) + unset)


def method_config(name, **knobs):
    """The `method` section of `name` with every knob (`knobs`, the others at their defaults), so
    that the command line may override any of them (`--config.method.knobs.beta=6`)."""
    cls = METHODS.get(name)
    values = check_knobs(cls.__name__, cls.knobs, knobs)
    fields = {
        key: config_dict.placeholder(knob.type) if values[key] is None else values[key]
        for key, knob in cls.knobs.items()
    }
    return ml_collections.ConfigDict(
        {"name": METHODS.canonical(name), "knobs": ml_collections.ConfigDict(fields)}
    )


F = Field
FIELDS = (
    F("workdir", str, "artifacts/mnist_robust", "output folder: config, log, events, checkpoints, report, plot, exports"),
    F("seed", int, 0, "seeds Keras, the validation split, the epoch order and the attacks", ">= 0"),
    F("backend", str, None, "Keras' backend (unset: KERAS_BACKEND's; tfadv --backend NAME sets it); the run folder records it", choices=backend.BACKENDS),
    F("data.name", str, "embedded_mnist", "dataset", choices=DATASETS),
    F("data.validation_size", int, 500, "training examples held out to score each epoch", ">= 0"),
    F("data.train_limit", int, None, "the first N training examples (unset: all)", ">= 1"),
    F("data.test_limit", int, None, "the first N test examples (unset: all)", ">= 1"),
    F("data.augment", bool, False, "random crops (and flips, rotations, scalings) of training batches"),
    F("data.augment_padding", int, 4, "zero padding of the random crops, pixels (digits: 2)", ">= 0"),
    F("data.augment_flip", bool, True, "random horizontal flips (digits: False)"),
    F("data.augment_rotation", float, 0.0, "random rotation, degrees (0: off)", ">= 0, <= 180"),
    F("data.augment_zoom", float, 0.0, "random scaling, a fraction (0: off)", ">= 0, < 1"),
    F("data.download", bool, False, "let TensorFlow Datasets download the dataset"),
    F("data.synthetic", bool, False, "uniform random images of the dataset's shape (smoke runs)"),
    F("model.name", str, "compact_cnn", "classifier builder", choices=MODELS),
    F("model.kwargs", SECTION, {"width": 1}, "the builder's arguments, e.g. width"),
    F("model.init", str, "", "a .keras classifier to start from instead of building one"),
    F("method.name", str, "trades", "adversarial-training method (named on the command line: its knobs' defaults)", choices=METHODS),
    F("method.knobs", SECTION, None, "the method's knobs (tfadv.methods.get(NAME).knobs)"),
    F("attack.eps", float, 0.3, "training attack radius", ">= 0"),
    F("attack.steps", int, 10, "training attack steps", ">= 1"),
    F("attack.step_size", float, None, "training attack step (unset: 2.5 * eps / steps)", "> 0"),
    F("attack.norm", str, "linf", "training attack norm", choices=NORMS),
    F("eps_schedule.kind", str, "linear_ramp", "training radius schedule", choices=("constant", "linear_ramp")),
    F("eps_schedule.ramp_epochs", float, 4.0, "epochs of the ramp from 0 to attack.eps", ">= 0"),
    F("optimizer.name", str, "adam", "optimizer", choices=OPTIMIZERS),
    F("optimizer.learning_rate", float, 1e-3, "learning rate (the schedule's peak)", "> 0"),
    F("optimizer.momentum", float, 0.9, "SGD momentum", ">= 0, <= 1"),
    F("optimizer.nesterov", bool, False, "SGD Nesterov momentum"),
    F("optimizer.weight_decay", float, 0.0, "weight decay (0: off)", ">= 0"),
    F("optimizer.ema_momentum", float, 0.0, "weight averaging a = m a + (1 - m) w after each step, validated, kept and exported (0: off)", ">= 0, < 1"),
    F("lr_schedule.name", str, "cosine", "learning-rate schedule over the run's epochs", choices=LR_SCHEDULES),
    F("lr_schedule.alpha", float, 0.05, "cosine: the final fraction of the rate", ">= 0, <= 1"),
    F("lr_schedule.warmup_epochs", float, 0.0, "cosine: linear warm-up, epochs", ">= 0"),
    F("lr_schedule.boundaries", tuple, (), "piecewise: increasing epochs at which the rate changes"),
    F("lr_schedule.factors", tuple, (), "piecewise: the rate's multiplier after each boundary"),
    F("epochs", int, 15, "training epochs (raising it extends a run)", ">= 1"),
    F("batch_size", int, 64, "the global batch, split over the replicas", ">= 1"),
    F("verbose", int, 2, "Keras progress output", choices=(0, 1, 2)),
    F("distribution.strategy", str, "default", "how training spreads over devices: a tf.distribute strategy on tensorflow (multi_worker: the machines in TF_CONFIG); on jax default or mirrored (keras.distribution.DataParallel)", choices=STRATEGIES),
    F("distribution.tpu", str, "", "the TPU name or address for 'tpu' ('': the local TPU VM)"),
    F("validation.steps", int, 10, "steps of the PGD that scores each epoch at evaluation.eps", ">= 1"),
    F("validation.step_size", float, None, "its step (unset: 2.5 * eps / steps)", "> 0"),
    F("validation.monitor", str, "val_adv_accuracy", "the score that picks the kept epoch", choices=("val_adv_accuracy", "val_clean_accuracy", "last")),
    F("evaluation.protocol", str, "quick", "the final robustness report's protocol", choices=PROTOCOLS),
    F("evaluation.eps", float, 0.3, "its radius (and the validation PGD's)", ">= 0"),
    F("evaluation.norm", str, "linf", "its norm (and the validation PGD's)", choices=NORMS),
    F("evaluation.limit", int, None, "test examples evaluated (unset: all)", ">= 1"),
    F("evaluation.batch_size", int, 256, "evaluation batch", ">= 1"),
    F("evaluation.checks", bool, True, "the protocol's sanity checks"),
    F("evaluation.pgd_steps", int, 0, "a PGD-N line to compare with hand-written loops (0: off)", ">= 0"),
    F("evaluation.pgd_step_size", float, 0.01, "its step", "> 0"),
    F("export.enabled", bool, True, "SavedModel and ONNX with parity checks (.keras is always saved)"),
    F("export.parity_examples", int, 256, "test examples of the parity checks", ">= 1"),
    F("plot", bool, True, "the robust-accuracy-per-epoch plot (needs matplotlib)"),
    F("smoke", SECTION, {}, "fields --smoke sets after its own (e.g. a smaller network)"),
    F("search.tuner", str, "random", "tfadv tune's tuner", choices=("random", "bayesian", "hyperband", "grid")),
    F("search.max_trials", int, 10, "tfadv tune's most trials", ">= 1"),
    F("search.space", SECTION, {}, "tfadv tune's searched fields (tfadv.tuning.space)"),
    F("search.test_eps", tuple, (), "radii at which tfadv tune evaluates every trial"),
    F("search.test_limit", int, None, "test examples of that evaluation", ">= 1"),
)  # fmt: skip
BY_PATH = {field.path: field for field in FIELDS}


def base_config():
    """Every field at its default: the config recipes start from (the README's main job)."""
    tree = {}
    for field in FIELDS:
        *parents, leaf = field.path.split(".")
        section = tree
        for name in parents:
            section = section.setdefault(name, {})
        unset = {} if field.type is SECTION else config_dict.placeholder(field.type)
        section[leaf] = unset if field.default is None else field.default
    config = ml_collections.ConfigDict(tree)  # nested dicts become sections
    config.method = method_config(config.method.name)
    return config


def check_fields(config):
    """One line per field of `config` that is unknown, missing or outside its domain."""
    errors, seen = [], set()

    def walk(section, prefix):
        for key, value in section.items():
            path = f"{prefix}{key}"
            field = BY_PATH.get(path)
            if field is None and isinstance(value, ml_collections.ConfigDict):
                walk(value, f"{path}.")
            elif field is None:
                errors.append(f"`{path}` is no config field (tfadv train --help lists them). "
                              f"Received: {path}={value!r}")  # fmt: skip
            else:
                seen.add(path)
                errors.append(field.check(value))

    walk(config, "")
    for field in FIELDS:
        if field.path not in seen and field.path.split(".")[0] not in OPTIONAL_SECTIONS:
            errors.append(f"`{field.path}` is missing. Received: a config without {field.path}")
    return [error for error in errors if error]


def help_text():
    """The field list of `tfadv train --help`: path, default, help and domain of every field."""
    lines = []
    for field in FIELDS:
        default = "(the method's)" if field.path == "method.knobs" else repr(field.default)
        domain = f" [{field.domain()}]" if field.domain() else ""
        lines.append(f"  {field.path} = {default}: {field.help}{domain}")
    return "\n".join(lines)
