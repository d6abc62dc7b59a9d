"""Shared pieces of the benchmarks: the small CNN, the data, a timer and table printing."""

import time

import keras
import numpy as np
import tensorflow as tf


def small_cnn(seed=0):
    """The benchmark CNN (conv32-pool-conv64-pool-fc128), as in PEERS.md's measurement."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def mnist(split, limit=None):
    import tfadv

    return tfadv.data.load_numpy("embedded_mnist", split, validation_size=0, limit=limit)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def print_table(title, header, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print(" | ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def hand_written_pgd(eps, step_size, steps):
    """A plain `tf.function` PGD l-inf loop, the way a user would write it by hand."""

    @tf.function
    def attack(model, x, y):
        x_adv = tf.clip_by_value(x + tf.random.uniform(tf.shape(x), -eps, eps), 0.0, 1.0)
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                loss = tf.reduce_sum(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x_adv, training=False))
                )
            grad = tape.gradient(loss, x_adv)
            x_adv = x_adv + step_size * tf.sign(grad)
            x_adv = tf.clip_by_value(tf.clip_by_value(x_adv, x - eps, x + eps), 0.0, 1.0)
        return x_adv

    return attack


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0, batch_size=500), axis=1) == y))
