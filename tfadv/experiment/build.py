"""Builds an experiment's data, classifier, method and optimizer from a checked config."""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from tfadv.adv_model import AdvModel
from tfadv.attacks.pgd import PGD
from tfadv.data import load, load_numpy, random_affine, random_crop_flip
from tfadv.data._catalog import dataset_info
from tfadv.schedules import LinearRamp
from tfadv.utils.registry import Registry


@dataclasses.dataclass(frozen=True)
class Data:
    """An experiment's splits, each `(x, y)` NumPy arrays (`validation` is `None` without
    `data.validation_size`), and the image `shape` and number of `classes` of the classifier."""

    train: tuple
    validation: tuple | None
    test: tuple
    shape: tuple
    classes: int

    @property
    def train_size(self):
        return len(self.train[0])


def load_data(config):
    """The `Data` of `config.data` (the test split cut to `data.test_limit`, `evaluation.limit`)."""
    data = config.data
    limits = [v for v in (data.test_limit, config.evaluation.limit) if v is not None]
    limit = min(limits, default=None)
    if data.synthetic:
        info, rng = dataset_info(data.name), np.random.default_rng(config.seed)

        def split(n):
            x = rng.uniform(0.0, 1.0, (n, *info.image_shape)).astype("float32")
            return x, rng.integers(0, info.num_classes, n).astype("int32")

        test = split(limit or 64)
        validation = split(data.validation_size) if data.validation_size else None
        train = split(data.train_limit or 128)
        return Data(train, validation, test, tuple(info.image_shape), info.num_classes)
    common = {"validation_size": data.validation_size, "seed": config.seed}
    if data.download:  # TFDS downloads and prepares the dataset once; load_numpy never downloads.
        load(data.name, "test", batch_size=config.batch_size, download=True, **common)
    train = load_numpy(data.name, "train", limit=data.train_limit, **common)
    validation = load_numpy(data.name, "validation", **common) if data.validation_size else None
    test = load_numpy(data.name, "test", limit=limit, **common)
    classes = int(max(train[1].max(), test[1].max()) + 1)
    return Data(train, validation, test, tuple(train[0].shape[1:]), classes)


def augment_options(config):
    """`augment_batch`'s arguments from `config.data`, or `None` without `data.augment`."""
    names = ("padding", "flip", "rotation", "zoom")
    return {n: config.data[f"augment_{n}"] for n in names} if config.data.augment else None


def augment_batch(x, y, key, *, padding, flip, rotation=0.0, zoom=0.0):
    """One training batch cropped and flipped (`random_crop_flip`) with the stateless `key`, then,
    with `rotation` or `zoom`, rotated and scaled (`random_affine`) with `fold_in(key, 1)`."""
    x, y = random_crop_flip(x, y, padding=padding, flip=flip, seed=key)
    if rotation or zoom:
        affine_key = tf.random.experimental.stateless_fold_in(key, 1)
        x, y = random_affine(x, y, rotation=rotation, zoom=zoom, seed=affine_key)
    return x, y


def augment_key(seed, epoch, batch=0):
    """The stateless key of the augmentation of batch `batch` of epoch `epoch`."""
    fold_in = tf.random.experimental.stateless_fold_in
    key = tf.constant([seed, 1], tf.int64)  # (seed, 0) keys the epoch's order
    return fold_in(fold_in(key, tf.cast(epoch, tf.int64)), tf.cast(batch, tf.int64))


def epoch_batches(x, y, batch_size, seed, first_epoch, epochs, augment=None, multiple=1):
    """Shuffled batches of `(x, y)` for epochs `first_epoch .. epochs - 1`, and steps per epoch.

    Epoch `e`'s order is keyed by `(seed, e)` and, with `augment` (`augment_batch`'s arguments),
    batch `b`'s augmentation by `(seed, e, b)`: a run resumed after epoch `k` trains on the batches
    an uninterrupted run trains on from epoch `k + 1`. An epoch's last batch may be smaller; its
    size is a multiple of `multiple` (the devices a data-parallel step splits every batch
    between): the last `(len(x) % batch_size) % multiple` examples of each epoch's order sit that
    epoch out.

    Returns:
        `(dataset, steps_per_epoch)` for `fit(dataset, epochs=epochs, initial_epoch=first_epoch,
        steps_per_epoch=steps_per_epoch)`.
    """
    n = len(x)
    used = n - (n % batch_size) % multiple
    images, labels = tf.constant(x), tf.constant(y)

    def one_epoch(epoch):
        key = tf.stack([tf.constant(seed, tf.int32), tf.cast(epoch, tf.int32)])
        order = tf.argsort(tf.random.stateless_uniform([n], seed=key))[:used]
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size).enumerate()
        return batches.map(lambda batch, index: (epoch, batch, index))

    def gather(epoch, batch, index):
        batch_x, batch_y = tf.gather(images, index), tf.gather(labels, index)
        if augment is None:
            return batch_x, batch_y
        return augment_batch(batch_x, batch_y, augment_key(seed, epoch, batch), **augment)

    dataset = tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch)
    dataset = dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE), math.ceil(used / batch_size)


def build_classifier(config, plan, shape, classes):
    """The classifier: built by `model.name` or loaded from `model.init` (checked for shape)."""
    if not config.model.init:
        return plan.builder(input_shape=tuple(shape), num_classes=classes, **plan.model_kwargs)
    path = config.model.init
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file; report one line.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"`model.init` is not a readable .keras model ({reason}). Received: model.init={path!r}"
        ) from None
    if isinstance(model, AdvModel):
        model = model.classifier
    want_in, want_out = (None, *tuple(shape)), (None, classes)
    got_in = tuple(model.input_shape) if hasattr(model, "input_shape") else None
    got_out = tuple(model.output_shape) if hasattr(model, "output_shape") else None
    if got_in != want_in or got_out != want_out:
        raise ValueError(
            f"`model.init` maps {got_in} -> {got_out}, but {config.data.name!r} needs "
            f"{want_in} -> {want_out}. Received: model.init={path!r}"
        )
    return model


def build_method(config, plan, classifier):
    """The method (`from_knobs`) with its epsilon schedule and the validation attack."""
    schedule = None
    if config.eps_schedule.kind == "linear_ramp" and config.eps_schedule.ramp_epochs > 0:
        schedule = LinearRamp(0.0, config.attack.eps, ramp_epochs=config.eps_schedule.ramp_epochs)
    val, eps, norm = config.validation, config.evaluation.eps, config.evaluation.norm
    val_attack = None
    if config.data.validation_size:
        step_size = val.step_size or 2.5 * eps / val.steps
        val_attack = PGD(eps=eps, step_size=step_size, steps=val.steps, norm=norm, seed=0)
    return plan.method.from_knobs(
        classifier, budget=plan.budget, eps_schedule=schedule, eval_attack=val_attack,
        **dict(config.method.knobs),
    )  # fmt: skip


#: Learning-rate schedules by name (`lr_schedule.name`): `(config, steps_per_epoch, total_steps)`
#: to a rate or a `keras.optimizers.schedules.LearningRateSchedule`, in optimizer steps.
LR_SCHEDULES = Registry("learning-rate schedule", ordered=True)
LR_SCHEDULES.register(
    lambda config, per_epoch, total: config.optimizer.learning_rate, name="constant"
)


@LR_SCHEDULES.register(name="cosine")
def _cosine(config, per_epoch, total):
    lr, peak = config.lr_schedule, config.optimizer.learning_rate
    warmup = int(lr.warmup_epochs * per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else peak, decay_steps=max(1, total - warmup), alpha=lr.alpha,
        warmup_target=peak if warmup else None, warmup_steps=warmup,
    )  # fmt: skip


@LR_SCHEDULES.register(name="piecewise")
def _piecewise(config, per_epoch, total):
    lr, rate = config.lr_schedule, config.optimizer.learning_rate
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        [int(b * per_epoch) for b in lr.boundaries], [rate] + [rate * f for f in lr.factors]
    )


#: Optimizers by name (`optimizer.name`): `(rate, optimizer config, EMA arguments)` to an optimizer.
OPTIMIZERS = Registry("optimizer", ordered=True)
OPTIMIZERS.register(
    lambda rate, opt, ema: keras.optimizers.Adam(
        rate, weight_decay=opt.weight_decay or None, **ema
    ),
    name="adam",
)
OPTIMIZERS.register(
    lambda rate, opt, ema: keras.optimizers.AdamW(rate, weight_decay=opt.weight_decay, **ema),
    name="adamw",
)
OPTIMIZERS.register(
    lambda rate, opt, ema: keras.optimizers.SGD(
        rate, momentum=opt.momentum, nesterov=opt.nesterov, weight_decay=opt.weight_decay or None,
        **ema,
    ),
    name="sgd",
)  # fmt: skip


def build_optimizer(config, train_size):
    """The optimizer with its learning-rate schedule (in optimizer steps) and weight averaging."""
    steps_per_epoch = max(1, math.ceil(train_size / config.batch_size))
    total = config.epochs * steps_per_epoch
    opt = config.optimizer
    rate = LR_SCHEDULES[config.lr_schedule.name](config, steps_per_epoch, total)
    ema = {"use_ema": True, "ema_momentum": opt.ema_momentum} if opt.ema_momentum else {}
    return OPTIMIZERS[opt.name](rate, opt, ema)
