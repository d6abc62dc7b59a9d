"""Shared test setup: two logical CPU devices (for MirroredStrategy tests) and quiet logs."""

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
except RuntimeError:  # already initialised by an earlier import
    pass

# Tests build many small graphs and run each a few times: Grappler's graph rewrites cost more than
# they save there (measured: tracing plus first run of a method's `fit` 25% faster without them).
# The library itself keeps TensorFlow's defaults.
tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

# Tracing allocates millions of short-lived Python objects: the modules imported so far (TensorFlow,
# Keras) go to the permanent generation, and young collections run less often (measured: 11% less
# CPU time for the method registry tests).
gc.freeze()
gc.set_threshold(50_000, 50, 100)


@pytest.fixture(autouse=True)
def _reset_keras_state():
    """Each test starts from the float32 policy and a fixed seed."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")
    # Without Python's full garbage collection (`free_memory=True`), which took about 2 s per test
    # once a worker's heap had grown: 40% of the suite's time. Python still collects on its own.
    keras.backend.clear_session(free_memory=False)


@pytest.fixture(scope="session")
def mnist_small():
    """A few hundred real digits from the embedded MNIST, as float32 arrays in [0, 1]."""
    from tfadv.data import load_numpy

    x_train, y_train = load_numpy("embedded_mnist", split="train")
    x_test, y_test = load_numpy("embedded_mnist", split="test")
    return (x_train, y_train), (x_test, y_test)


def tiny_cnn(num_classes=10, input_shape=(28, 28, 1), seed=None):
    """A small conv net for fast CPU tests (initialised from `seed` when given)."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(num_classes),
        ]
    )


def random_data(n=32, input_shape=(8, 8, 1), num_classes=4, seed=0):
    """`n` uniform random images in [0, 1] with int32 labels: data for the shape of a test."""
    generator = np.random.default_rng(seed)
    x = generator.uniform(0.0, 1.0, size=(n, *input_shape)).astype("float32")
    return x, generator.integers(0, num_classes, n).astype("int32")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


#: `tfadv train` arguments for a run as small as it gets: synthetic digits, one epoch of two
#: batches, one attack step, eight test digits, no checks, export or plot.
TINY_RUN = [
    "--config.data.synthetic=True",
    "--config.data.train_limit=64",
    "--config.data.validation_size=32",
    "--config.batch_size=32",
    "--config.attack.steps=1",
    "--config.validation.steps=1",
    "--config.eps_schedule.ramp_epochs=1",
    "--config.evaluation.limit=8",
    "--config.evaluation.checks=False",
    "--config.export.enabled=False",
    "--config.plot=False",
    "--config.verbose=0",
    "--config.epochs=1",
]
