"""`tfadv.data.load` / `load_numpy` through TensorFlow Datasets, mocked: nothing is downloaded.

`tfds.testing.mock_data(num_examples=n)` returns `n` random examples for *every* split string,
ignoring slices such as `train[:-10]`. To check how the validation split is carved, `_indexed_mock`
passes an `as_dataset_fn` that applies TFDS's own slicing arithmetic to a fake split whose images
encode their index.
"""

import types

import numpy as np
import pytest
import tensorflow as tf

import tfadv.data

tfds = pytest.importorskip("tensorflow_datasets")

SHAPES = {
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "cifar100": (32, 32, 3),
    "svhn_cropped": (32, 32, 3),
}


def _indexed_mock(num_train=40, num_test=20):
    """Mocks TFDS with splits whose example i has every pixel equal to i (test: 100 + i)."""
    sizes = {"train": num_train, "test": num_test}
    requested = []

    def as_dataset(self, split, decoders=None, read_config=None, **kwargs):
        del decoders, read_config, kwargs
        requested.append(split)
        instruction = split
        if isinstance(split, str):
            instruction = tfds.core.ReadInstruction.from_spec(split)
        infos = {k: types.SimpleNamespace(num_examples=v) for k, v in sizes.items()}
        (absolute,) = instruction.to_absolute(infos)
        start = absolute.from_ or 0
        stop = sizes[absolute.splitname] if absolute.to is None else absolute.to
        index = np.arange(start, stop) + (100 if absolute.splitname == "test" else 0)
        shape = self.info.features["image"].shape
        images = np.broadcast_to(index[:, None, None, None], (len(index), *shape)).astype(np.uint8)
        features = {"image": images, "label": (index % 10).astype(np.int64)}
        return tf.data.Dataset.from_tensor_slices(features)

    return tfds.testing.mock_data(as_dataset_fn=as_dataset), requested


def _collect(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("name", ["mnist", "cifar10", "svhn_cropped"])
def test_shapes_dtypes_and_range(name):
    with tfds.testing.mock_data(num_examples=20):
        ds = tfadv.data.load(name, split="train", batch_size=8)
        image_spec, label_spec = ds.element_spec
        assert image_spec.dtype == tf.float32 and label_spec.dtype == tf.int32
        assert image_spec.shape.as_list() == [None, *SHAPES[name]]
        x, y = _collect(ds)
    assert x.shape == (20, *SHAPES[name]) and y.shape == (20,)
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.5  # uint8 pixels scaled by 1/255


@pytest.mark.parametrize("name", ["fashion_mnist", "cifar100"])
def test_other_names_load(name):
    with tfds.testing.mock_data(num_examples=5):
        x, y = tfadv.data.load_numpy(name, split="test")
    assert x.shape == (5, *SHAPES[name]) and x.dtype == np.float32
    assert y.dtype == np.int32


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_validation_is_carved_from_the_end_of_train(name):
    mock, requested = _indexed_mock(num_train=40, num_test=20)
    with mock:
        x_train, y_train = _collect(
            tfadv.data.load(name, split="train", validation_size=10, batch_size=16)
        )
        x_val, _ = _collect(tfadv.data.load(name, split="validation", validation_size=10))
        x_test, _ = _collect(tfadv.data.load(name, split="test", validation_size=10))
        x_all, _ = tfadv.data.load_numpy(name, split="train", validation_size=0)
    assert requested == ["train[:-10]", "train[-10:]", "test", "train"]
    index = lambda x: np.rint(x[:, 0, 0, 0] * 255).astype(int)  # noqa: E731
    assert sorted(index(x_train)) == list(range(30))  # shuffled, all of train[:-10]
    assert list(index(x_val)) == list(range(30, 40))  # not shuffled
    assert list(index(x_test)) == list(range(100, 120))
    assert list(index(x_all)) == list(range(40))
    assert np.array_equal(y_train, index(x_train) % 10)
    assert x_train.shape[1:] == SHAPES[name]


def test_limit_and_load_numpy_validation():
    mock, _ = _indexed_mock(num_train=40)
    with mock:
        x, y = tfadv.data.load_numpy("mnist", split="validation", validation_size=10, limit=4)
        x_lim, _ = _collect(tfadv.data.load("mnist", split="train", validation_size=10, limit=7))
    assert list(np.rint(x[:, 0, 0, 0] * 255).astype(int)) == [30, 31, 32, 33]
    assert list(y) == [0, 1, 2, 3] and y.dtype == np.int32
    assert sorted(np.rint(x_lim[:, 0, 0, 0] * 255).astype(int)) == list(range(7))


def test_augment_keeps_shapes_and_range():
    with tfds.testing.mock_data(num_examples=16):
        plain = _collect(tfadv.data.load("cifar10", split="train", batch_size=8, shuffle=False))
        augmented = _collect(
            tfadv.data.load("cifar10", split="train", batch_size=8, shuffle=False, augment=True)
        )
        val = _collect(tfadv.data.load("cifar10", split="validation", batch_size=8, augment=True))
    assert augmented[0].shape == (16, 32, 32, 3) == plain[0].shape
    assert augmented[0].min() >= 0.0 and augmented[0].max() <= 1.0
    np.testing.assert_array_equal(augmented[1], plain[1])
    assert not np.array_equal(augmented[0], plain[0])
    np.testing.assert_array_equal(val[0], plain[0])  # validation is never augmented


def test_missing_dataset_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=False"):
        tfadv.data.load("mnist", split="test", data_dir=str(tmp_path))
    assert not any(tmp_path.iterdir())  # nothing downloaded or prepared
