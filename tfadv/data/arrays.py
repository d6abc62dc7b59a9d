"""`load_numpy`: a dataset split as in-memory NumPy arrays."""

import numpy as np

from tfadv.data import _catalog


def load_numpy(
    name="embedded_mnist", split="train", *, validation_size=1000, seed=0, limit=None, data_dir=None
):
    """Loads a dataset split as NumPy arrays of float32 images in [0, 1] and int32 labels.

    `"embedded_mnist"` (the default) is a real MNIST subset bundled with tfadv: 10,000 training and
    5,000 test digits (CC BY-SA 3.0, LeCun, Cortes and Burges), read offline. Its `"validation"`
    split is the first `validation_size` digits of a `seed`-ed permutation of the 10,000 training
    digits and `"train"` is the rest, in permutation order, so the two are disjoint and together
    make up the training file; `"test"` is the 5,000 test digits in file order.

    The TFDS names of `tfadv.data.DATASETS` (`"mnist"`, `"fashion_mnist"`, `"cifar10"`,
    `"cifar100"`, `"svhn_cropped"`) are read from a prepared TFDS data directory (never
    downloaded here; prepare them with `tfadv.data.load(..., download=True)`); their
    `"validation"` split is the last `validation_size` training examples (`train[-N:]`) and
    `"train"` the ones before (`train[:-N]`), so `seed` plays no part. The whole split is held in
    memory: use `tfadv.data.load` for large ones.

    Args:
        name: a name from `tfadv.data.DATASETS`. Defaults to `"embedded_mnist"`.
        split: `"train"`, `"validation"` or `"test"`. Defaults to `"train"`.
        validation_size: the number of training examples held out as the `"validation"` split,
            an integer >= 0 and smaller than the training set. `0` keeps all of them in
            `"train"` (asking for `"validation"` then raises). Defaults to `1000`.
        seed: an integer >= 0 seeding the train/validation permutation of `"embedded_mnist"`.
            Use the same seed for both splits. Defaults to `0`.
        limit: keep only the first `limit` examples of the split (after splitting); `None`
            (the default) keeps all.
        data_dir: the TFDS data directory for TFDS names; `None` (the default) uses TFDS's
            default (`~/tensorflow_datasets` or `$TFDS_DATA_DIR`). Ignored for
            `"embedded_mnist"`.

    Returns:
        A tuple `(x, y)`: `x` float32 of shape `(N, height, width, channels)` in [0, 1] (NHWC),
        `y` int32 of shape `(N,)`.

    Example:

    ```python
    x_train, y_train = tfadv.data.load_numpy("embedded_mnist", split="train")
    x_val, y_val = tfadv.data.load_numpy("embedded_mnist", split="validation")
    x_test, y_test = tfadv.data.load_numpy("embedded_mnist", split="test", limit=500)
    x_train.shape  # (9000, 28, 28, 1)
    ```
    """
    validation_size, seed, limit = _catalog.check_arguments(
        name, split, validation_size, seed, limit
    )
    if name == _catalog.EMBEDDED_MNIST:
        x, y = _catalog.embedded_uint8(split, validation_size, seed, limit)
    else:
        x, y = _tfds_uint8(name, split, validation_size, seed, limit, data_dir)
    return x.astype(np.float32) / np.float32(255.0), y.astype(np.int32)


def _tfds_uint8(name, split, validation_size, seed, limit, data_dir):
    ds = _catalog.tfds_source(
        name,
        split,
        validation_size,
        data_dir=data_dir,
        download=False,
        shuffle_files=False,
        seed=seed,
    )
    if limit is not None:
        ds = ds.take(limit)
    images, labels = [], []
    for x, y in ds.batch(4096).as_numpy_iterator():
        images.append(x)
        labels.append(y)
    height, width, channels = _catalog.dataset_info(name).image_shape
    if not images:
        return np.zeros((0, height, width, channels), np.uint8), np.zeros((0,), np.int32)
    return np.concatenate(images), np.concatenate(labels)
