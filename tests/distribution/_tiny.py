"""Tiny classifier and data shared by the distribution tests (and the multi-worker processes)."""

import keras
import numpy as np

SHAPE = (6, 6, 1)


def classifier(seed=0):
    """A conv net without batch statistics, so that any split of a batch gives the same update."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(SHAPE),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
        ]
    )


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, *SHAPE)).astype("float32"), rng.integers(0, 4, n).astype("int32")
