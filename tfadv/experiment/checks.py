"""`check_config`: a resolved config, checked once before anything runs, and its run `Plan`.

Beyond the schema's field checks, the rules here relate fields to each other and to the registries.
"""

import dataclasses
import os

from tfadv import backend
from tfadv.attack_budget import AttackBudget
from tfadv.distribute import ONE_HOST
from tfadv.experiment import schema
from tfadv.methods import METHODS
from tfadv.models import builder_arguments
from tfadv.models import get as get_builder
from tfadv.utils.registry import check_knobs


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a checked config resolves to.

    Args:
        method: the `tfadv.AdvModel` subclass of `method.name`.
        builder: the model builder of `model.name` (`None` with `model.init`).
        model_kwargs: the builder's arguments (`model.kwargs` and the method's `builder_options`).
        budget: the training attack's `tfadv.AttackBudget`.
    """

    method: type
    builder: object
    model_kwargs: dict
    budget: AttackBudget


def check_config(config):
    """Checks `config`; returns its `Plan`, or raises `ValueError` with one line per bad field."""
    errors = schema.check_fields(config)
    method = None if errors else METHODS.get(config.method.name)  # a name the schema accepted
    if not errors:
        errors = [
            e for rule in (_backend, _method, _model, _schedules) for e in rule(config, method)
        ]
    if errors:
        raise ValueError("\n".join(errors))
    kwargs = dict(config.model.kwargs) | method.builder_options
    # Random starts keyed by (seed, batch contents): a resumed run draws what the uninterrupted drew.
    budget = AttackBudget(**config.attack, seed=config.seed)  # eps, steps, step_size, norm
    builder = None if config.model.init else get_builder(config.model.name)
    return Plan(method, builder, {} if config.model.init else kwargs, budget)


def _backend(config, method):
    """The run's backend is the one Keras runs, the method trains on it, and only TensorFlow
    exports SavedModel / ONNX."""
    running = backend.name()
    if config.backend is not None and config.backend != running:
        yield (
            f"`backend` is {config.backend!r} but Keras runs {running!r}: Keras fixes its backend "
            "when it loads, so pass `tfadv --backend NAME` (or set KERAS_BACKEND) instead. "
            f"Received: backend={config.backend!r}"
        )
        return
    if running not in method.backends:
        yield (
            f"Method {method.registry_name!r} trains on the {', '.join(method.backends)} "
            f"backend(s) only. Received: method.name={config.method.name!r}, backend={running!r}"
        )
    strategy = config.distribution.strategy
    if running == "jax" and strategy not in ONE_HOST:
        yield (
            "On the jax backend the recipes train on one host: `distribution.strategy` is "
            "'default' (one device) or 'mirrored' (keras.distribution.DataParallel over this "
            "host's devices); for several hosts call `fit` under "
            "tfadv.distribute.make_distribution('multi_worker') (docs/scaling.md). "
            f"Received: distribution.strategy={strategy!r}, backend={running!r}"
        )
    elif running not in ("tensorflow", "jax") and strategy != "default":
        yield (
            "`distribution.strategy` spreads training with tf.distribute (tensorflow backend) or "
            "Keras' distribution API (jax backend); the torch backend trains on one device. "
            f"Received: distribution.strategy={strategy!r}, backend={running!r}"
        )
    if config.export.enabled and running != "tensorflow":
        yield (
            "`export.enabled` needs the tensorflow backend (SavedModel and ONNX are exported from "
            "TensorFlow; the .keras classifier is saved on every backend): set "
            f"--config.export.enabled=False. Received: export.enabled=True, backend={running!r}"
        )


def _method(config, method):
    knobs = {f"method.knobs.{name}": knob for name, knob in method.knobs.items()}
    try:
        values = {f"method.knobs.{name}": v for name, v in config.method.knobs.items()}
        check_knobs(f"Method {method.registry_name!r}", knobs, values)
    except (ValueError, TypeError) as error:
        yield str(error)
    if config.attack.norm not in method.norms:
        yield (
            f"Method {method.registry_name!r} trains only under {list(method.norms)}. "
            f"Received: attack.norm={config.attack.norm!r}"
        )


def _model(config, method):
    model = config.model
    if model.init:
        if not os.path.isfile(model.init):
            yield f"`model.init` names no file. Received: model.init={model.init!r}"
        return
    accepted = builder_arguments(model.name) - {"input_shape", "num_classes"}  # the runner's
    for name in sorted(set(model.kwargs) - accepted):
        yield (
            f"Model {model.name!r} takes no argument {name!r} (it takes {sorted(accepted)}). "
            f"Received: model.kwargs.{name}={model.kwargs[name]!r}"
        )
    for option, value in method.builder_options.items():
        if option not in accepted:
            yield (
                f"Method {method.registry_name!r} needs a model built with {option}={value!r}, "
                f"which {model.name!r} does not offer (use e.g. 'resnet'). "
                f"Received: model.name={model.name!r}"
            )


def _schedules(config, method):
    if config.validation.monitor != "last" and config.data.validation_size == 0:
        yield (
            "`validation.monitor` scores a validation split: set data.validation_size > 0 or "
            "validation.monitor='last'. Received: data.validation_size=0"
        )
    lr = config.lr_schedule
    if lr.name == "cosine" and 0 < config.epochs <= lr.warmup_epochs:
        yield (
            "`lr_schedule.warmup_epochs` must be shorter than the run. "
            f"Received: lr_schedule.warmup_epochs={lr.warmup_epochs}, epochs={config.epochs}"
        )
    boundaries, factors = list(lr.boundaries), list(lr.factors)
    if lr.name == "piecewise" and (len(boundaries) != len(factors) or not boundaries):
        yield (
            "`lr_schedule.boundaries` and `lr_schedule.factors` must be non-empty and of one "
            f"length. Received: boundaries={boundaries}, factors={factors}"
        )
    elif lr.name == "piecewise" and (sorted(boundaries) != boundaries or min(boundaries) <= 0):
        yield (
            "`lr_schedule.boundaries` must be increasing positive epochs. "
            f"Received: lr_schedule.boundaries={boundaries}"
        )
