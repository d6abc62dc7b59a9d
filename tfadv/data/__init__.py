"""Offline-first data pipelines for adversarial training.

- `tfadv.data.load`: a batched, prefetched `tf.data.Dataset` of `(image, label)` pairs, images
  float32 in [0, 1] and labels int32.
- `tfadv.data.load_numpy`: the same split as NumPy arrays.
- `tfadv.data.random_crop_flip`: CIFAR-style pad / random crop / random flip augmentation.
- `tfadv.data.random_affine`: digit-style random rotation and scaling.
- `tfadv.data.DATASETS`: the known dataset names. `"embedded_mnist"` (the default) is a real MNIST
  subset bundled with the package (CC BY-SA 3.0, see `tfadv/data/_embedded/README.md`); the others
  are read through TensorFlow Datasets.
"""

from tfadv.data._catalog import DATASETS
from tfadv.data.affine import random_affine
from tfadv.data.arrays import load_numpy
from tfadv.data.augment import random_crop_flip
from tfadv.data.pipeline import load

__all__ = ["DATASETS", "load", "load_numpy", "random_affine", "random_crop_flip"]
