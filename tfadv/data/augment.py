"""CIFAR-style data augmentation: pad, random crop back to size, random horizontal flip."""

import numbers

import tensorflow as tf

from tfadv.utils.validation import check_choice, check_number

PAD_MODES = ("constant", "reflect", "symmetric")


def _check_rank(image):
    """`image`'s rank, 3 (one image) or 4 (a batch); a `ValueError` otherwise."""
    rank = image.shape.rank
    if rank not in (3, 4):
        raise ValueError(
            "`image` must be a (height, width, channels) image or a (batch, height, width, "
            f"channels) batch. Received: image with shape {image.shape}"
        )
    return rank


def _stateless_key(seed):
    """A stateless random key from an integer seed or a shape `(2,)` integer tensor."""
    if isinstance(seed, numbers.Integral):
        return tf.constant([check_number("seed", seed, integer=True), 0], tf.int64)
    key = tf.convert_to_tensor(seed)
    if not key.dtype.is_integer or not key.shape.is_compatible_with((2,)):
        raise TypeError(
            "`seed` must be None, an integer or a shape (2,) integer tensor. Received: "
            f"seed={seed!r}"
        )
    return tf.cast(key, tf.int64)


def random_crop_flip(image, label=None, *, padding=4, flip=True, seed=None, pad_mode="constant"):
    """Pads images, crops them back to their size at a random offset, and flips them at random.

    The standard CIFAR-10 / SVHN augmentation of the adversarial training literature (He et al.
    2016; Madry et al. 2018; Rice et al. 2020): pad `padding` pixels on each side of height and
    width, take a random crop of the original size, and flip left-right with probability 1/2. The
    literature pads with zeros (`pad_mode="constant"`, the default); `"reflect"` mirrors the border
    instead. Each image of a batch gets its own offset and flip. Dtype, shape and value range are
    preserved (zero padding adds black borders, which stay in [0, 1]). Flips change the meaning of
    digits and characters: leave `flip=False` for MNIST-like data.

    The signature fits `tf.data.Dataset.map` over `(image, label)` elements, batched or not;
    `label` passes through unchanged. `tfadv.data.load(..., augment=True)` applies it to the
    training split.

    Args:
        image: a float or integer image tensor, `(height, width, channels)` or a batch
            `(batch, height, width, channels)`. The rank must be known.
        label: optional labels, returned unchanged. Defaults to `None`, in which case only the
            augmented images are returned.
        padding: pixels of padding on each side, an integer >= 0 (and < height and width for
            `pad_mode="reflect"`, <= for `"symmetric"`). Defaults to `4`.
        flip: whether to flip left-right with probability 1/2. Defaults to `True`.
        seed: `None` (the default) draws from TensorFlow's global random state, so every call
            differs. An integer, or a shape `(2,)` integer tensor, uses stateless random ops:
            the same seed gives the same crops and flips. Inside `Dataset.map` a fixed integer
            would repeat the same offsets for every element; pass a per-element seed instead,
            e.g. zip with `tf.data.Dataset.random(seed).batch(2)` (what `tfadv.data.load`
            does).
        pad_mode: `"constant"` (zeros; the default, as in the literature), `"reflect"` or
            `"symmetric"`.

    Returns:
        The augmented `image`, or `(image, label)` when a label is given.

    Example:

    ```python
    ds = tfadv.data.load("cifar10", split="train", augment=False, shuffle=True)
    ds = ds.map(tfadv.data.random_crop_flip, num_parallel_calls=tf.data.AUTOTUNE)

    x = tf.random.uniform((8, 32, 32, 3))
    x_aug = tfadv.data.random_crop_flip(x, padding=4, seed=0)
    ```
    """
    padding = check_number("padding", padding, minimum=0, integer=True)
    check_choice("pad_mode", pad_mode, PAD_MODES)
    if not isinstance(flip, bool):
        raise TypeError(f"`flip` must be a bool. Received: flip={flip!r}")
    image = tf.convert_to_tensor(image)
    rank = _check_rank(image)
    if pad_mode != "constant":
        # REFLECT needs padding < size; SYMMETRIC needs padding <= size.
        limit_for = {"reflect": "smaller than", "symmetric": "at most"}[pad_mode]
        for size in image.shape[rank - 3 : rank - 1]:
            if size is None:
                continue
            if padding >= size if pad_mode == "reflect" else padding > size:
                raise ValueError(
                    f"`padding` must be {limit_for} the image height and width for "
                    f"pad_mode={pad_mode!r}. Received: padding={padding} for image shape "
                    f"{image.shape}"
                )
    if padding == 0 and not flip:
        return image if label is None else (image, label)

    batch = image if rank == 4 else image[None]
    static_shape = batch.shape
    n, height, width = tf.unstack(tf.shape(batch)[:3])

    if seed is None:
        crop_seed = flip_seed = None
    else:
        key = _stateless_key(seed)
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(key, num=2))

    def uniform(shape, seed, **kwargs):
        if seed is None:
            return tf.random.uniform(shape, **kwargs)
        return tf.random.stateless_uniform(shape, seed=seed, **kwargs)

    if padding > 0:
        pads = [[0, 0], [padding, padding], [padding, padding], [0, 0]]
        padded = tf.pad(batch, pads, mode=pad_mode.upper())
        offsets = uniform([2, n], crop_seed, minval=0, maxval=2 * padding + 1, dtype=tf.int32)
        rows = offsets[0][:, None] + tf.range(height)[None, :]  # (n, height)
        cols = offsets[1][:, None] + tf.range(width)[None, :]  # (n, width)
        batch = tf.gather(padded, rows, axis=1, batch_dims=1)
        batch = tf.gather(batch, cols, axis=2, batch_dims=1)
    if flip:
        do_flip = uniform([n], flip_seed, minval=0.0, maxval=1.0) < 0.5
        batch = tf.where(do_flip[:, None, None, None], tf.reverse(batch, axis=[2]), batch)

    batch = tf.ensure_shape(batch, static_shape)
    out = batch if rank == 4 else batch[0]
    return out if label is None else (out, label)
