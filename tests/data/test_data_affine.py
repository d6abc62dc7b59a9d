"""`tfadv.data.random_affine`: random rotation and scaling about the centre."""

import math

import numpy as np
import pytest
import tensorflow as tf

import tfadv.data
from tfadv.data.affine import _affine_transforms
from tfadv.experiment import build


@pytest.fixture
def digits():
    return tf.constant(np.random.default_rng(0).uniform(size=(6, 28, 28, 1)), tf.float32)


def _apply(images, angles, scales):
    images = tf.constant(images, tf.float32)
    height, width = images.shape[1:3]
    transforms = _affine_transforms(
        tf.constant(angles, tf.float32), tf.constant(scales, tf.float32), height, width
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=[height, width],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    ).numpy()


@pytest.mark.parametrize("size", [5, 6])
def test_quarter_turns_are_exact_rotations(size):
    """Closed form: +-90 and 180 degrees without scaling permute the pixels as `np.rot90` does."""
    x = np.arange(3 * size * size, dtype="float32").reshape(3, size, size, 1) / 100
    out = _apply(x, [math.pi / 2, math.pi, -math.pi / 2], [1.0, 1.0, 1.0])
    for k, (o, i) in zip((-1, 2, 1), zip(out, x, strict=True), strict=True):
        np.testing.assert_allclose(o[..., 0], np.rot90(i[..., 0], k), atol=1e-5)


def test_scaling_by_two_magnifies_about_the_centre():
    """Closed form: scale 2 samples the input at (p - c) / 2 + c; the centre pixel stays put."""
    x = np.zeros((1, 9, 9, 1), "float32")
    x[0, 4, 5, 0] = 1.0  # one pixel right of the centre (4, 4)
    out = _apply(x, [0.0], [2.0])[0, ..., 0]
    # The output pixel two right of the centre samples the input at (4, 5) exactly.
    assert out[4, 6] == pytest.approx(1.0)
    # Output (4, 5) and (4, 7) sample halfway between the lit pixel and its neighbours.
    assert out[4, 5] == pytest.approx(0.5) and out[4, 7] == pytest.approx(0.5)
    # Areas grow by scale**2: the one lit pixel becomes four pixels' worth.
    assert out.sum() == pytest.approx(4.0)


def test_identity_without_rotation_and_zoom(digits):
    out, labels = tfadv.data.random_affine(digits, tf.range(6), rotation=0.0, zoom=0.0)
    np.testing.assert_array_equal(out.numpy(), digits.numpy())
    np.testing.assert_array_equal(labels.numpy(), np.arange(6))


def test_shape_dtype_range_and_per_image_draws(digits):
    out = tfadv.data.random_affine(digits, rotation=30.0, zoom=0.2, seed=0).numpy()
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0  # convex combinations of pixels and zeros
    changed = [not np.allclose(o, i) for o, i in zip(out, digits.numpy(), strict=True)]
    assert all(changed)
    # Each image gets its own angle: the same image repeated is transformed differently.
    same = tf.repeat(digits[:1], 4, axis=0)
    out = tfadv.data.random_affine(same, rotation=30.0, zoom=0.0, seed=1).numpy()
    assert not np.allclose(out[0], out[1])


def test_small_angles_move_pixels_less_than_large_ones(digits):
    x = digits.numpy()
    small = tfadv.data.random_affine(digits, rotation=2.0, zoom=0.0, seed=3).numpy()
    large = tfadv.data.random_affine(digits, rotation=45.0, zoom=0.0, seed=3).numpy()
    assert np.abs(small - x).mean() < np.abs(large - x).mean()


def test_seeds_repeat_and_differ(digits):
    a = tfadv.data.random_affine(digits, seed=7).numpy()
    b = tfadv.data.random_affine(digits, seed=7).numpy()
    c = tfadv.data.random_affine(digits, seed=tf.constant([7, 1])).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_single_image_and_dataset_map(digits):
    out, label = tfadv.data.random_affine(digits[0], tf.constant(3), seed=1)
    assert out.shape == (28, 28, 1) and int(label) == 3
    ds = tf.data.Dataset.from_tensor_slices((digits, tf.range(6))).batch(3)
    shapes = [x.shape for x, _ in ds.map(tfadv.data.random_affine)]
    assert shapes == [(3, 28, 28, 1), (3, 28, 28, 1)]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rotation": -1.0}, ValueError, "rotation=-1.0"),
        ({"rotation": 181.0}, ValueError, "rotation=181.0"),
        ({"zoom": 1.0}, ValueError, "zoom=1.0"),
        ({"zoom": -0.1}, ValueError, "zoom=-0.1"),
        ({"rotation": "10"}, TypeError, "rotation='10'"),
        ({"seed": 1.5}, TypeError, "seed=1.5"),
        ({"seed": True}, TypeError, "seed=True"),
    ],
)
def test_bad_arguments(digits, kwargs, error, message):
    with pytest.raises(error, match=message):
        tfadv.data.random_affine(digits, **kwargs)


def test_bad_image():
    with pytest.raises(ValueError, match="shape"):
        tfadv.data.random_affine(tf.zeros((28, 28)))
    with pytest.raises(TypeError, match="dtype uint8"):
        tfadv.data.random_affine(tf.zeros((2, 28, 28, 1), tf.uint8))


def test_epoch_batches_affine_resumes_with_the_uninterrupted_draws():
    """`data.augment_rotation` / `augment_zoom`: a resumed run sees the uninterrupted batches."""
    x = np.random.default_rng(0).uniform(size=(10, 8, 8, 1)).astype("float32")
    y = np.arange(10, dtype="int32")
    options = {"padding": 0, "flip": False, "rotation": 20.0, "zoom": 0.1}

    def batches(first):
        dataset, _ = build.epoch_batches(x, y, 4, 3, first, 3, augment=options)
        return list(dataset.as_numpy_iterator())

    full, resumed = batches(0), batches(1)
    for (xa, ya), (xb, yb) in zip(full[3:], resumed, strict=True):
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(xa, xb)
    images, labels = full[0]
    assert not np.allclose(images, x[labels])
    # Without rotation and zoom the batches are exactly the crop-and-flip ones.
    plain, _ = build.epoch_batches(x, y, 4, 3, 0, 1, augment={"padding": 0, "flip": False})
    for images, labels in plain.as_numpy_iterator():
        np.testing.assert_array_equal(images, x[labels])
