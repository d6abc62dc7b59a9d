"""`tfadv.data.load_numpy` / `tfadv.data.load` on the embedded real MNIST digits."""

import numpy as np
import pytest
import tensorflow as tf

import tfadv.data


def _keys(x):
    """One hashable key per image, to compare splits as sets of digits."""
    flat = (np.asarray(x).reshape(len(x), -1) * 255).round().astype(np.uint8)
    return {row.tobytes() for row in flat}


def test_exports():
    assert tfadv.data.DATASETS == (
        "embedded_mnist",
        "mnist",
        "fashion_mnist",
        "cifar10",
        "cifar100",
        "svhn_cropped",
    )
    for name in ("load", "load_numpy", "random_crop_flip", "DATASETS"):
        assert name in tfadv.data.__all__


def test_embedded_files_ship_with_the_package():
    from importlib import resources

    folder = resources.files("tfadv.data").joinpath("_embedded")
    names = {entry.name for entry in folder.iterdir()}
    assert {"mnist-train-10k.npz", "mnist-test-5k.npz", "README.md"} <= names
    readme = folder.joinpath("README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 3.0" in readme and "LeCun" in readme


@pytest.mark.parametrize("split, size", [("train", 9000), ("validation", 1000), ("test", 5000)])
def test_load_numpy_shapes_dtypes_and_range(split, size):
    x, y = tfadv.data.load_numpy("embedded_mnist", split=split)
    assert x.shape == (size, 28, 28, 1) and x.dtype == np.float32
    assert y.shape == (size,) and y.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert x.max() == 1.0 and x.min() == 0.0  # real 0..255 pixels scaled by 1/255
    assert set(np.unique(y)) == set(range(10))


def _multiset(x, y):
    """The images and labels as a sorted multiset of rows (duplicates counted)."""
    rows = np.concatenate([(x.reshape(len(x), -1) * 255).round(), y[:, None]], axis=1)
    return np.unique(rows.astype(np.int16), axis=0, return_counts=True)


def test_train_and_validation_are_disjoint_and_cover_the_10k():
    x_train, y_train = tfadv.data.load_numpy(split="train", validation_size=2500, seed=3)
    x_val, y_val = tfadv.data.load_numpy(split="validation", validation_size=2500, seed=3)
    x_all, y_all = tfadv.data.load_numpy(split="train", validation_size=0)
    assert len(x_train) == 7500 and len(x_val) == 2500 and len(x_all) == 10_000
    # Together they are exactly the 10k training digits, each used once: hence disjoint.
    rows, counts = _multiset(np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val]))
    rows_all, counts_all = _multiset(x_all, y_all)
    np.testing.assert_array_equal(rows, rows_all)
    np.testing.assert_array_equal(counts, counts_all)
    shared = _keys(x_train) & _keys(x_val)
    duplicates = len(x_all) - len(_keys(x_all))  # MNIST holds a few identical images
    assert len(shared) <= duplicates
    assert set(np.unique(y_val)) == set(range(10))


def test_splits_are_deterministic_and_seed_dependent():
    x1, y1 = tfadv.data.load_numpy(split="validation", seed=0)
    x2, y2 = tfadv.data.load_numpy(split="validation", seed=0)
    x3, y3 = tfadv.data.load_numpy(split="validation", seed=1)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(y1, y3)
    assert _keys(x1) != _keys(x3)


def test_test_split_ignores_seed_and_validation_size():
    x1, y1 = tfadv.data.load_numpy(split="test", seed=0, validation_size=10)
    x2, y2 = tfadv.data.load_numpy(split="test", seed=5, validation_size=0)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)


def test_limit_takes_the_first_examples():
    x_full, y_full = tfadv.data.load_numpy(split="train")
    x, y = tfadv.data.load_numpy(split="train", limit=100)
    assert x.shape == (100, 28, 28, 1)
    np.testing.assert_array_equal(x, x_full[:100])
    np.testing.assert_array_equal(y, y_full[:100])
    x, _ = tfadv.data.load_numpy(split="validation", validation_size=50, limit=1000)
    assert len(x) == 50


def test_load_numpy_returns_fresh_writable_arrays():
    x, y = tfadv.data.load_numpy(split="test", limit=5)
    x[:] = 0.5
    y[:] = 0
    x2, _ = tfadv.data.load_numpy(split="test", limit=5)
    assert x2.max() == 1.0


def test_load_batches_and_element_spec():
    ds = tfadv.data.load("embedded_mnist", split="train", batch_size=64, limit=200)
    image_spec, label_spec = ds.element_spec
    assert image_spec.shape.as_list() == [None, 28, 28, 1] and image_spec.dtype == tf.float32
    assert label_spec.shape.as_list() == [None] and label_spec.dtype == tf.int32
    sizes = [int(x.shape[0]) for x, _ in ds]
    assert sizes == [64, 64, 64, 8]
    ds = tfadv.data.load(split="train", batch_size=64, limit=200, drop_remainder=True)
    assert [int(x.shape[0]) for x, _ in ds] == [64, 64, 64]
    assert ds.element_spec[0].shape.as_list() == [64, 28, 28, 1]


def test_load_matches_load_numpy_without_shuffle():
    x_np, y_np = tfadv.data.load_numpy(split="validation", validation_size=300, seed=2)
    ds = tfadv.data.load(split="validation", validation_size=300, seed=2, batch_size=128)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    np.testing.assert_allclose(np.concatenate(xs), x_np, atol=1e-7)
    np.testing.assert_array_equal(np.concatenate(ys), y_np)


def test_load_shuffles_train_reproducibly():
    def labels(**kwargs):
        ds = tfadv.data.load(split="train", batch_size=100, limit=300, **kwargs)
        return np.concatenate([y.numpy() for _, y in ds])

    _, y_np = tfadv.data.load_numpy(split="train", limit=300)
    default = labels()
    assert not np.array_equal(default, y_np)  # train shuffles by default
    assert np.array_equal(np.sort(default), np.sort(y_np))  # ... the same examples
    np.testing.assert_array_equal(default, labels(seed=0))
    assert not np.array_equal(labels(seed=0), labels(seed=1))
    np.testing.assert_array_equal(labels(shuffle=False), y_np)


def test_test_split_is_not_shuffled_by_default():
    _, y_np = tfadv.data.load_numpy(split="test", limit=256)
    ds = tfadv.data.load(split="test", batch_size=128, limit=256)
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in ds]), y_np)


def test_repeat_and_augment():
    ds = tfadv.data.load(split="train", batch_size=32, limit=40, repeat=True, augment=True)
    batches = list(ds.take(5))
    assert len(batches) == 5
    for x, y in batches:
        assert x.shape == (32, 28, 28, 1) and x.dtype == tf.float32
        assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
        assert y.dtype == tf.int32


def test_augment_is_ignored_outside_train():
    plain = tfadv.data.load(split="test", batch_size=50, limit=50)
    augmented = tfadv.data.load(split="test", batch_size=50, limit=50, augment=True)
    (x1, _), (x2, _) = next(iter(plain)), next(iter(augmented))
    np.testing.assert_array_equal(x1.numpy(), x2.numpy())


def test_augment_changes_train_images():
    plain = tfadv.data.load(split="train", batch_size=50, limit=50, shuffle=False)
    augmented = tfadv.data.load(split="train", batch_size=50, limit=50, shuffle=False, augment=True)
    (x1, y1), (x2, y2) = next(iter(plain)), next(iter(augmented))
    np.testing.assert_array_equal(y1.numpy(), y2.numpy())
    assert not np.array_equal(x1.numpy(), x2.numpy())
    # Reproducible for a given seed.
    again = tfadv.data.load(split="train", batch_size=50, limit=50, shuffle=False, augment=True)
    np.testing.assert_array_equal(next(iter(again))[0].numpy(), x2.numpy())


def test_augment_options_shift_without_flip():
    """`augment={"padding": 2, "flip": False}`: every image is its digit shifted by at most 2 pixels."""
    plain = tfadv.data.load(split="train", batch_size=50, limit=50, shuffle=False)
    shifted = tfadv.data.load(
        split="train", batch_size=50, limit=50, shuffle=False, augment={"padding": 2, "flip": False}
    )
    (x1, _), (x2, _) = next(iter(plain)), next(iter(shifted))
    x1, x2 = x1.numpy()[..., 0], x2.numpy()[..., 0]
    assert not np.array_equal(x1, x2)
    padded = np.pad(x1, [(0, 0), (2, 2), (2, 2)])
    for original, augmented in zip(padded, x2):
        crops = [original[r : r + 28, c : c + 28] for r in range(5) for c in range(5)]
        # A shift, never a mirror image: some crop of the zero-padded digit equals it exactly.
        assert any(np.array_equal(crop, augmented) for crop in crops)
