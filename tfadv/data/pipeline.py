"""`load`: a batched, prefetched `tf.data.Dataset` of `(image, label)` pairs."""

import tensorflow as tf

from tfadv.data import _catalog
from tfadv.data.augment import PAD_MODES, random_crop_flip
from tfadv.utils.validation import check_choice, check_number


def load(
    name="embedded_mnist",
    split="train",
    *,
    batch_size=128,
    shuffle=None,
    augment=False,
    validation_size=1000,
    seed=0,
    limit=None,
    data_dir=None,
    download=False,
    drop_remainder=False,
    repeat=False,
):
    """Loads a dataset split as a batched `tf.data.Dataset` of `(image, label)` pairs.

    Every element is a tuple `(x, y)`: `x` float32 of shape `(batch, height, width, channels)`
    with values in [0, 1], `y` int32 class indices of shape `(batch,)`; it goes straight into
    `model.fit`. The pipeline is batched, then prefetched with `tf.data.AUTOTUNE`.

    Datasets (`tfadv.data.DATASETS`):

    - `"embedded_mnist"` (default): a real MNIST subset bundled with tfadv, 10,000 training and
      5,000 test digits, read offline. `"validation"` is the first `validation_size` digits of a
      `seed`-ed permutation of the training digits and `"train"` the rest (see
      `tfadv.data.load_numpy`, which returns the same examples).
    - `"mnist"`, `"fashion_mnist"`, `"cifar10"`, `"cifar100"`, `"svhn_cropped"`: read through
      TensorFlow Datasets. The validation split is carved from the training split by absolute TFDS
      slicing: `"validation"` is `train[-N:]` (the last `N = validation_size` examples) and
      `"train"` is `train[:-N]` (the whole `train` when `N` is 0). Nothing is downloaded unless
      `download=True`; a missing dataset raises `FileNotFoundError`.

    Args:
        name: a name from `tfadv.data.DATASETS`. Defaults to `"embedded_mnist"`.
        split: `"train"`, `"validation"` or `"test"`. Defaults to `"train"`.
        batch_size: examples per batch, an integer >= 1. Defaults to `128`.
        shuffle: whether to shuffle the examples (again at every epoch). `None` (the default)
            shuffles the `"train"` split only. The buffer holds the whole split (up to 60,000
            examples, kept as uint8).
        augment: `False`, `True` or a dict. `True` applies `tfadv.data.random_crop_flip` with its
            defaults (zero padding 4, random crop, random horizontal flip: CIFAR/SVHN-style
            images) to the `"train"` split; a dict gives its `padding`, `flip` and `pad_mode`
            instead, e.g. `{"padding": 2, "flip": False}`: random shifts of up to 2 pixels,
            no flips (flips do not suit digits). Other splits are never augmented. Defaults to
            `False`.
        validation_size: the number of training examples held out as the `"validation"` split,
            an integer >= 0 and smaller than the training set. `0` means no validation split.
            Defaults to `1000`.
        seed: an integer >= 0 seeding the train/validation permutation (`"embedded_mnist"`), the
            shuffle order, the TFDS file order and the augmentation, so that a pipeline is
            reproducible. Defaults to `0`.
        limit: keep only the first `limit` examples of the split (after splitting, before
            shuffling); `None` (the default) keeps all.
        data_dir: the TFDS data directory; `None` (the default) uses TFDS's default
            (`~/tensorflow_datasets` or `$TFDS_DATA_DIR`). Ignored for `"embedded_mnist"`.
        download: whether TFDS may download and prepare a missing dataset (needs internet
            access). Defaults to `False`: tfadv works offline.
        drop_remainder: whether to drop the last, smaller batch. Defaults to `False`.
        repeat: whether to repeat the examples forever (pass `steps_per_epoch` to `fit`).
            Defaults to `False`.

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches.

    Example:

    ```python
    train = tfadv.data.load("embedded_mnist", split="train", batch_size=128)
    val = tfadv.data.load("embedded_mnist", split="validation", batch_size=256)
    test = tfadv.data.load("embedded_mnist", split="test", batch_size=256)
    model.fit(train, validation_data=val, epochs=5)

    cifar = tfadv.data.load("cifar10", split="train", augment=True, download=True)
    shifted = tfadv.data.load("embedded_mnist", augment={"padding": 2, "flip": False})
    ```
    """
    validation_size, seed, limit = _catalog.check_arguments(
        name, split, validation_size, seed, limit
    )
    batch_size = check_number("batch_size", batch_size, minimum=1, integer=True)
    augment_options = _check_augment(augment)
    for flag_name, flag in (
        ("download", download),
        ("drop_remainder", drop_remainder),
        ("repeat", repeat),
    ):
        if not isinstance(flag, bool):
            raise TypeError(f"`{flag_name}` must be a bool. Received: {flag_name}={flag!r}")
    if shuffle is None:
        shuffle = split == "train"
    elif not isinstance(shuffle, bool):
        raise TypeError(f"`shuffle` must be a bool or None. Received: shuffle={shuffle!r}")

    if name == _catalog.EMBEDDED_MNIST:
        x, y = _catalog.embedded_uint8(split, validation_size, seed, limit)
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        buffer_size = len(y)
    else:
        ds = _catalog.tfds_source(
            name,
            split,
            validation_size,
            data_dir=data_dir,
            download=download,
            shuffle_files=shuffle and limit is None,
            seed=seed,
        )
        if limit is not None:
            ds = ds.take(limit)
        buffer_size = _catalog.split_size(name, split, validation_size)
        if limit is not None:
            buffer_size = min(buffer_size, limit)
        buffer_size = min(buffer_size, _catalog.MAX_SHUFFLE_BUFFER)

    if shuffle:
        ds = ds.shuffle(max(buffer_size, 1), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(_to_float, num_parallel_calls=tf.data.AUTOTUNE)
    if augment_options is not None and split == "train":
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

        def _augment(batch, seed):
            image, label = batch
            return random_crop_flip(image, label, seed=seed, **augment_options)

        ds = tf.data.Dataset.zip((ds, seeds)).map(_augment, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _to_float(image, label):
    return tf.cast(image, tf.float32) / 255.0, tf.cast(label, tf.int32)


_AUGMENT_OPTIONS = ("padding", "flip", "pad_mode")


def _check_augment(augment):
    """`augment` as the keyword arguments of `random_crop_flip`, or `None` for no augmentation."""
    if isinstance(augment, bool):
        return {} if augment else None
    if not isinstance(augment, dict):
        raise TypeError(
            "`augment` must be a bool or a dict of tfadv.data.random_crop_flip arguments "
            f"{list(_AUGMENT_OPTIONS)}. Received: augment={augment!r}"
        )
    unknown = sorted(set(augment) - set(_AUGMENT_OPTIONS))
    if unknown:
        raise ValueError(
            f"`augment` takes only {list(_AUGMENT_OPTIONS)}. Received: augment={augment!r} "
            f"(unknown: {unknown})"
        )
    options = dict(augment)
    # The values are checked now rather than inside the first `Dataset.map`.
    if "padding" in options:
        options["padding"] = check_number("padding", options["padding"], minimum=0, integer=True)
    if "pad_mode" in options:
        check_choice("pad_mode", options["pad_mode"], PAD_MODES)
    if not isinstance(options.get("flip", True), bool):
        raise TypeError(f"`flip` must be a bool. Received: flip={options['flip']!r}")
    return options
