"""The datasets `tfadv.data` knows, argument checks, and the two data sources (embedded and TFDS).

Private: the public entry points are `tfadv.data.load`, `tfadv.data.load_numpy` and
`tfadv.data.DATASETS`.
"""

import collections
import functools
import importlib.resources

import numpy as np

from tfadv.utils.validation import check_choice, check_number

EMBEDDED_MNIST = "embedded_mnist"

DatasetInfo = collections.namedtuple(
    "DatasetInfo", ["image_shape", "num_classes", "num_train", "num_test"]
)

# Sizes of the official splits (the TFDS versions of tensorflow-datasets 4.9); `num_train` bounds
# `validation_size`, which is carved from the training split.
_INFO = {
    EMBEDDED_MNIST: DatasetInfo((28, 28, 1), 10, 10_000, 5_000),
    "mnist": DatasetInfo((28, 28, 1), 10, 60_000, 10_000),
    "fashion_mnist": DatasetInfo((28, 28, 1), 10, 60_000, 10_000),
    "cifar10": DatasetInfo((32, 32, 3), 10, 50_000, 10_000),
    "cifar100": DatasetInfo((32, 32, 3), 100, 50_000, 10_000),
    "svhn_cropped": DatasetInfo((32, 32, 3), 10, 73_257, 26_032),
}

#: The names `load` and `load_numpy` accept (`"embedded_mnist"` ships in the package).
DATASETS = tuple(_INFO)
SPLITS = ("train", "validation", "test")

_EMBEDDED_FILES = {"train": "mnist-train-10k.npz", "test": "mnist-test-5k.npz"}

# Shuffle buffer for TFDS pipelines: the whole split up to this many examples (held as uint8).
MAX_SHUFFLE_BUFFER = 60_000


def dataset_info(name):
    """Returns the `DatasetInfo` of a known dataset name."""
    return _INFO[name]


def check_arguments(name, split, validation_size, seed, limit):
    """Validates the arguments shared by `load` and `load_numpy`; returns them normalised."""
    check_choice("name", name, DATASETS)
    check_choice("split", split, SPLITS)
    validation_size = check_number("validation_size", validation_size, minimum=0, integer=True)
    num_train = _INFO[name].num_train
    if validation_size >= num_train:
        raise ValueError(
            f"`validation_size` must be smaller than the {num_train} training examples of "
            f"{name!r} (the validation split is carved from the training split). "
            f"Received: validation_size={validation_size}"
        )
    if split == "validation" and validation_size == 0:
        raise ValueError(
            "`split='validation'` needs a validation split: pass `validation_size` > 0 (the number "
            "of training examples to hold out). Received: validation_size=0"
        )
    seed = check_number("seed", seed, minimum=0, integer=True)
    if limit is not None:
        limit = check_number("limit", limit, minimum=1, integer=True)
    return validation_size, seed, limit


def split_size(name, split, validation_size):
    """The number of examples in a split (for the full, official TFDS data)."""
    info = _INFO[name]
    if split == "test":
        return info.num_test
    if split == "validation":
        return validation_size
    return info.num_train - validation_size


# ----------------------------------------------------------------------------------------------
# Embedded MNIST


@functools.cache
def _read_embedded(part):
    """The raw uint8 `(x, y)` arrays of one embedded file, read once and kept read-only."""
    resource = importlib.resources.files("tfadv.data").joinpath("_embedded", _EMBEDDED_FILES[part])
    with importlib.resources.as_file(resource) as path, np.load(path) as archive:
        x, y = archive["x"], archive["y"]
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def embedded_uint8(split, validation_size, seed, limit):
    """The embedded MNIST split as `(x uint8 (N, 28, 28, 1), y int32 (N,))`.

    "validation" is the first `validation_size` digits of a `seed`-ed permutation of the 10k
    training digits, "train" the rest (in permutation order); "test" the 5k test digits in file
    order.
    """
    if split == "test":
        x, y = _read_embedded("test")
    else:
        x, y = _read_embedded("train")
        order = np.random.default_rng(seed).permutation(len(y))
        order = order[:validation_size] if split == "validation" else order[validation_size:]
        x, y = x[order], y[order]
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x[..., None], y.astype(np.int32)


# ----------------------------------------------------------------------------------------------
# TensorFlow Datasets


def tfds_split(split, validation_size):
    """The TFDS split string: the last `validation_size` training examples form "validation"."""
    if split == "test":
        return "test"
    if split == "validation":
        return f"train[-{validation_size}:]"
    return f"train[:-{validation_size}]" if validation_size else "train"


def tfds_source(name, split, validation_size, *, data_dir, download, shuffle_files, seed):
    """An unbatched `tf.data.Dataset` of `(uint8 image, integer label)` read through TFDS."""
    try:  # on use: a heavy import that only TFDS datasets need (not the embedded digits)
        import tensorflow_datasets as tfds
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise ImportError(
            f"Loading {name!r} needs `tensorflow-datasets` (pip install tensorflow-datasets); "
            "`name='embedded_mnist'` works without it."
        ) from error
    kwargs = {}
    if shuffle_files:
        kwargs["read_config"] = tfds.ReadConfig(shuffle_seed=seed)
    try:
        return tfds.load(
            name,
            split=tfds_split(split, validation_size),
            as_supervised=True,
            data_dir=data_dir,
            download=download,
            shuffle_files=shuffle_files,
            **kwargs,
        )
    except AssertionError as error:
        if "could not find data" not in str(error):
            raise
        where = data_dir if data_dir is not None else "the default TFDS data directory"
        raise FileNotFoundError(
            f"Dataset {name!r} is not prepared in {where}, and tfadv does not download by default. "
            "Pass `download=True` (needs internet access), point `data_dir` at a prepared TFDS "
            "directory, or use `name='embedded_mnist'` (bundled, offline). "
            f"Received: name={name!r}, data_dir={data_dir!r}, download={download!r}"
        ) from error
