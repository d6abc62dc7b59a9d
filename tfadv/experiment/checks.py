"""Everything in a config is checked here, before any data is read or any epoch runs."""

import os

from tfadv.utils import validation

MONITORS = ("val_adv_accuracy", "val_clean_accuracy", "last")
OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine", "piecewise")
EPS_SCHEDULES = ("constant", "linear_ramp")
#: Builder arguments the runner fills itself.
BUILDER_RESERVED = ("input_shape", "num_classes")


def check_config(config):
    """Validates a resolved experiment config; raises `ValueError`/`TypeError` naming the field.

    Returns:
        A dict of what the checks resolved: the method class, the model builder (or `None` with
        `model.init`), the model keyword arguments (with the method's `builder_options`) and the
        training `tfadv.AttackBudget`.
    """
    import tfadv
    import tfadv.methods
    import tfadv.models

    _integer(config, "epochs", 1)
    _integer(config, "batch_size", 1)
    _integer(config, "seed", 0)
    validation.check_choice("verbose", config.verbose, (0, 1, 2))
    from tfadv.distribute import STRATEGIES

    strategy = config.distribution.strategy
    validation.check_choice("distribution.strategy", strategy, STRATEGIES)
    data = config.data
    validation.check_choice("data.name", data.name, tfadv.data.DATASETS)
    _integer(data, "validation_size", 0, "data.")
    for field in ("train_limit", "test_limit"):
        if data[field] is not None:
            _integer(data, field, 1, "data.")
    _integer(data, "augment_padding", 0, "data.")
    validation.check_number(
        "data.augment_rotation", data.augment_rotation, minimum=0.0, maximum=180.0
    )
    validation.check_number("data.augment_zoom", data.augment_zoom, minimum=0.0)
    if data.augment_zoom >= 1.0:
        raise ValueError(
            f"`data.augment_zoom` must be < 1. Received: data.augment_zoom={data.augment_zoom}"
        )

    method = tfadv.methods.get(config.method.name)
    budget = tfadv.AttackBudget(
        eps=config.attack.eps,
        steps=config.attack.steps,
        step_size=config.attack.step_size,
        # Random starts keyed by (seed, batch contents): batches differ every epoch, and a resumed
        # run draws what the uninterrupted run drew.
        seed=config.seed,
        norm=config.attack.norm,
    )
    from tfadv.utils.registry import check_knobs

    check_knobs(f"Method {config.method.name!r}", method.knobs, dict(config.method.knobs))
    builder, kwargs = _check_model(config.model, method)

    schedule = config.eps_schedule
    validation.check_choice("eps_schedule.kind", schedule.kind, EPS_SCHEDULES)
    validation.check_number("eps_schedule.ramp_epochs", schedule.ramp_epochs, minimum=0.0)
    _check_optimizer(config)

    val = config.validation
    validation.check_choice("validation.monitor", val.monitor, MONITORS)
    validation.check_steps(val.steps, "validation.steps")
    if val.step_size is not None:
        validation.check_number("validation.step_size", val.step_size, minimum=0.0, strict=True)
    if val.monitor != "last" and data.validation_size == 0:
        raise ValueError(
            "`validation.monitor` scores a validation split: set data.validation_size > 0 or "
            "validation.monitor='last'. Received: data.validation_size=0"
        )

    ev = config.evaluation
    tfadv.evaluation.get_protocol(ev.protocol)
    validation.check_eps(ev.eps, "evaluation.eps")
    validation.check_choice("evaluation.norm", ev.norm, ("linf", "l2"))
    if ev.limit is not None:
        _integer(ev, "limit", 1, "evaluation.")
    _integer(ev, "batch_size", 1, "evaluation.")
    _integer(ev, "pgd_steps", 0, "evaluation.")
    validation.check_number("evaluation.pgd_step_size", ev.pgd_step_size, minimum=0.0, strict=True)
    _integer(config.export, "parity_examples", 1, "export.")
    return {"method": method, "builder": builder, "model_kwargs": kwargs, "budget": budget}


def _integer(section, field, minimum, prefix=""):
    return validation.check_number(
        f"{prefix}{field}", section[field], minimum=minimum, integer=True
    )


def _check_model(model, method):
    import tfadv.models

    if model.init:
        if not os.path.isfile(model.init):
            raise FileNotFoundError(
                f"`model.init` names no file. Received: model.init={model.init!r}"
            )
        return None, {}
    builder = tfadv.models.get(model.name)
    accepted = tfadv.models.builder_arguments(model.name) - set(BUILDER_RESERVED)
    kwargs = dict(model.kwargs)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ValueError(
            f"Model {model.name!r} takes no argument {unknown[0]!r} (it takes {sorted(accepted)}). "
            f"Received: model.kwargs.{unknown[0]}={kwargs[unknown[0]]!r}"
        )
    for option, value in method.builder_options.items():
        if option not in accepted:
            raise ValueError(
                f"Method {method.registry_name!r} needs a model built with {option}={value!r}, "
                f"which {model.name!r} does not offer (use e.g. 'resnet'). "
                f"Received: model.name={model.name!r}"
            )
        kwargs[option] = value
    return builder, kwargs


def _check_optimizer(config):
    opt = config.optimizer
    validation.check_choice("optimizer.name", opt.name, OPTIMIZERS)
    validation.check_number("optimizer.learning_rate", opt.learning_rate, minimum=0.0, strict=True)
    validation.check_number("optimizer.momentum", opt.momentum, minimum=0.0, maximum=1.0)
    validation.check_number("optimizer.weight_decay", opt.weight_decay, minimum=0.0)
    ema = validation.check_number("optimizer.ema_momentum", opt.ema_momentum, minimum=0.0)
    if ema >= 1.0:
        raise ValueError(
            "`optimizer.ema_momentum` must be 0 (no weight averaging) or in (0, 1). "
            f"Received: optimizer.ema_momentum={opt.ema_momentum!r}"
        )
    lr = config.lr_schedule
    validation.check_choice("lr_schedule.name", lr.name, LR_SCHEDULES)
    validation.check_number("lr_schedule.alpha", lr.alpha, minimum=0.0, maximum=1.0)
    validation.check_number("lr_schedule.warmup_epochs", lr.warmup_epochs, minimum=0.0)
    if lr.warmup_epochs >= config.epochs and lr.name == "cosine" and lr.warmup_epochs > 0:
        raise ValueError(
            "`lr_schedule.warmup_epochs` must be shorter than the run. "
            f"Received: lr_schedule.warmup_epochs={lr.warmup_epochs}, epochs={config.epochs}"
        )
    if lr.name == "piecewise":
        boundaries, factors = list(lr.boundaries), list(lr.factors)
        if len(boundaries) != len(factors) or not boundaries:
            raise ValueError(
                "`lr_schedule.boundaries` and `lr_schedule.factors` must be non-empty and of one "
                f"length. Received: boundaries={boundaries}, factors={factors}"
            )
        if sorted(boundaries) != boundaries or any(b <= 0 for b in boundaries):
            raise ValueError(
                "`lr_schedule.boundaries` must be increasing positive epochs. "
                f"Received: lr_schedule.boundaries={boundaries}"
            )
