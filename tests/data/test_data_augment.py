"""`tfadv.data.random_crop_flip`."""

import numpy as np
import pytest
import tensorflow as tf

import tfadv.data


@pytest.fixture
def images():
    return tf.constant(np.random.default_rng(0).uniform(size=(6, 32, 32, 3)), tf.float32)


def test_batch_shape_dtype_and_range(images):
    out = tfadv.data.random_crop_flip(images, seed=0)
    assert out.shape == images.shape and out.dtype == tf.float32
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0
    assert not np.array_equal(out.numpy(), images.numpy())


def test_single_image_and_label_pass_through(images):
    out, label = tfadv.data.random_crop_flip(images[0], tf.constant(3), seed=1)
    assert out.shape == (32, 32, 3)
    assert int(label) == 3


def test_identity_without_padding_and_flip(images):
    out, labels = tfadv.data.random_crop_flip(images, tf.range(6), padding=0, flip=False)
    np.testing.assert_array_equal(out.numpy(), images.numpy())
    np.testing.assert_array_equal(labels.numpy(), np.arange(6))


def test_flip_only_flips_left_right(images):
    x = images.numpy()
    out = tfadv.data.random_crop_flip(images, padding=0, seed=0).numpy()
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x, strict=True)]
    kept = [np.array_equal(o, i) for o, i in zip(out, x, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    # Over a few seeds some images are flipped and some are not.
    seen = set()
    for seed in range(5):
        out = tfadv.data.random_crop_flip(images, padding=0, seed=seed).numpy()
        seen |= {np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x, strict=True)}
    assert seen == {True, False}


def test_crop_is_a_shifted_window_of_the_zero_padded_image():
    image = tf.constant(np.random.default_rng(1).uniform(0.1, 1.0, size=(1, 8, 8, 1)), tf.float32)
    padded = np.pad(image.numpy()[0, :, :, 0], 2)
    windows = {(i, j): padded[i : i + 8, j : j + 8] for i in range(5) for j in range(5)}
    offsets = set()
    for seed in range(30):
        out = tfadv.data.random_crop_flip(image, padding=2, flip=False, seed=seed).numpy()
        match = [k for k, w in windows.items() if np.array_equal(out[0, :, :, 0], w)]
        assert len(match) == 1
        offsets.add(match[0])
    assert len(offsets) > 5  # the offset really is random over [0, 2 * padding]


def test_reflect_padding_keeps_range(images):
    out = tfadv.data.random_crop_flip(images, padding=4, pad_mode="reflect", seed=0)
    assert out.shape == images.shape
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0


def test_seeds_are_reproducible(images):
    a = tfadv.data.random_crop_flip(images, seed=7).numpy()
    b = tfadv.data.random_crop_flip(images, seed=7).numpy()
    c = tfadv.data.random_crop_flip(images, seed=tf.constant([7, 1])).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_works_in_dataset_map_unbatched_and_batched(images):
    labels = tf.range(6)
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    for pipeline in (ds.map(tfadv.data.random_crop_flip).batch(3), ds.batch(3)):
        pipeline = pipeline.map(tfadv.data.random_crop_flip)
        for x, y in pipeline:
            assert x.shape == (3, 32, 32, 3) and y.shape == (3,)
    spec = ds.batch(3).map(tfadv.data.random_crop_flip).element_spec
    assert spec[0].shape.as_list() == [None, 32, 32, 3]


def test_uint8_images_keep_dtype():
    x = tf.constant(np.full((2, 28, 28, 1), 200, np.uint8))
    out = tfadv.data.random_crop_flip(x, seed=0)
    assert out.dtype == tf.uint8 and out.shape == x.shape


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"padding": -1}, "padding=-1"),
        ({"pad_mode": "wrap"}, "pad_mode='wrap'"),
        ({"padding": 40, "pad_mode": "reflect"}, "padding=40"),
        ({"padding": 33, "pad_mode": "symmetric"}, "padding=33"),
    ],
)
def test_bad_arguments(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tfadv.data.random_crop_flip(images, **kwargs)


def test_bad_rank():
    with pytest.raises(ValueError, match="shape"):
        tfadv.data.random_crop_flip(tf.zeros((32, 32)))
