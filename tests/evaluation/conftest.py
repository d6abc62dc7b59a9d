"""Shared fixtures of the evaluation tests: a small CNN trained briefly on embedded MNIST digits."""

import keras
import pytest


def small_cnn():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


@pytest.fixture(scope="session")
def trained_cnn(mnist_small):
    """`(model, x_test, y_test)`: a plain CNN trained briefly on 3,000 digits; 128 test digits."""
    (x_train, y_train), (x_test, y_test) = mnist_small
    keras.utils.set_random_seed(0)
    model = small_cnn()
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x_train[:3000], y_train[:3000], epochs=2, batch_size=64, verbose=0)
    return model, x_test[:128], y_test[:128]


class AlwaysNoise(keras.layers.Layer):
    """Adds fresh Gaussian noise at every call, inference included: a randomised model."""

    def __init__(self, stddev=0.1, **kwargs):
        super().__init__(**kwargs)
        self.stddev = stddev
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, inputs, training=None):
        noise = keras.random.normal(
            keras.ops.shape(inputs), stddev=self.stddev, seed=self.seed_generator
        )
        return inputs + noise


class RoundInputs(keras.layers.Layer):
    """Binarises the input with `round`: a textbook gradient-masking "defence" (zero gradients)."""

    def call(self, inputs):
        return keras.ops.round(inputs)


class StopInputGradient(keras.layers.Layer):
    """The identity with a zero gradient: a model that hides its gradients from white-box attacks."""

    def call(self, inputs):
        return keras.ops.stop_gradient(inputs)
