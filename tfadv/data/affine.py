"""Digit-style data augmentation: a random rotation and scaling of each image about its centre."""

import math

import tensorflow as tf

from tfadv.data.augment import _check_rank, _stateless_key
from tfadv.utils.validation import check_number


def _affine_transforms(angles, scales, height, width):
    """`ImageProjectiveTransformV3` rows that rotate by `angles` (radians) and scale by `scales`.

    A transform maps each OUTPUT pixel `(x, y)` (column, row) to the input point it samples:
    `q = R(-angle) (p - c) / scale + c` about the centre `c = ((width - 1) / 2, (height - 1) / 2)`,
    so the content turns by `angle` (clockwise on screen, rows growing downwards) and grows by
    `scale`.
    """
    cos, sin = tf.cos(angles) / scales, tf.sin(angles) / scales
    cx = (tf.cast(width, tf.float32) - 1.0) / 2.0
    cy = (tf.cast(height, tf.float32) - 1.0) / 2.0
    a0, a1 = cos, sin
    b0, b1 = -sin, cos
    a2 = cx - a0 * cx - a1 * cy
    b2 = cy - b0 * cx - b1 * cy
    zeros = tf.zeros_like(angles)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def random_affine(image, label=None, *, rotation=10.0, zoom=0.1, seed=None):
    """Rotates and scales each image by a random amount about its centre.

    The classic augmentation for handwritten digits (Simard, Steinkraus and Platt 2003; LeCun et
    al. 1998 distort the training digits the same way): each image turns by an angle drawn
    uniformly from `[-rotation, rotation]` degrees and is scaled by a factor drawn uniformly from
    `[1 - zoom, 1 + zoom]`, about its centre, with bilinear interpolation and zeros outside the
    image. Every output pixel is a convex combination of input pixels and zeros, so images in
    [0, 1] stay in [0, 1]; dtype and shape are preserved. Combine with
    `tfadv.data.random_crop_flip(padding=2, flip=False)` for random shifts.

    The signature fits `tf.data.Dataset.map` over `(image, label)` elements, batched or not;
    `label` passes through unchanged.

    Args:
        image: a float image tensor, `(height, width, channels)` or a batch
            `(batch, height, width, channels)`. The rank must be known.
        label: optional labels, returned unchanged. Defaults to `None`, in which case only the
            augmented images are returned.
        rotation: the largest rotation in degrees, in [0, 180]. Defaults to `10.0`.
        zoom: the largest relative change of scale, in [0, 1). Defaults to `0.1`.
        seed: `None` (the default) draws from TensorFlow's global random state, so every call
            differs. An integer, or a shape `(2,)` integer tensor, uses stateless random ops:
            the same seed gives the same angles and scales.

    Returns:
        The augmented `image`, or `(image, label)` when a label is given.

    Example:

    ```python
    x = tf.random.uniform((8, 28, 28, 1))
    x_aug = tfadv.data.random_affine(x, rotation=10.0, zoom=0.1, seed=0)
    ```

    Reference:
        Simard, Steinkraus, Platt, "Best Practices for Convolutional Neural Networks Applied to
        Visual Document Analysis", ICDAR 2003.
    """
    rotation = check_number("rotation", rotation, minimum=0.0, maximum=180.0)
    zoom = check_number("zoom", zoom, minimum=0.0)
    if zoom >= 1.0:
        raise ValueError(f"`zoom` must be < 1. Received: zoom={zoom}")
    image = tf.convert_to_tensor(image)
    if not image.dtype.is_floating:
        raise TypeError(
            f"`image` must be a float tensor (images in [0, 1]). Received: image with dtype "
            f"{image.dtype.name}"
        )
    rank = _check_rank(image)
    if rotation == 0.0 and zoom == 0.0:
        return image if label is None else (image, label)

    batch = image if rank == 4 else image[None]
    static_shape = batch.shape
    n, height, width = tf.unstack(tf.shape(batch)[:3])
    if seed is None:
        draws = tf.random.uniform([2, n], minval=-1.0, maxval=1.0)
    else:
        draws = tf.random.stateless_uniform(
            [2, n], seed=_stateless_key(seed), minval=-1.0, maxval=1.0
        )
    angles = draws[0] * (rotation * math.pi / 180.0)
    scales = 1.0 + draws[1] * zoom
    transforms = _affine_transforms(angles, scales, height, width)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(batch, tf.float32),
        transforms=transforms,
        output_shape=tf.stack([height, width]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    out = tf.ensure_shape(tf.cast(out, batch.dtype), static_shape)
    out = out if rank == 4 else out[0]
    return out if label is None else (out, label)
