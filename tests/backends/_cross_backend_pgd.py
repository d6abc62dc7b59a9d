"""Runs PGD under this process's Keras backend on given weights and digits; writes the result.

Used by `test_backend_tiers.py::test_same_verdicts_on_tensorflow_and_jax`:
`KERAS_BACKEND=jax python _cross_backend_pgd.py IN.npz OUT.npz`.
"""

import sys

import keras
import numpy as np

from tfadv.attacks import PGD


def build_model():
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )


def run(weights, x, y, norm, eps):
    model = build_model()
    model.set_weights(weights)
    attack = PGD(eps=eps, norm=norm, steps=10, random_start=False)
    x_adv = keras.ops.convert_to_numpy(attack(model, x, y))
    logits = keras.ops.convert_to_numpy(model(x_adv))
    return x_adv, logits


def main(source, target):
    data = np.load(source)
    weights = [data[f"w{i}"] for i in range(int(data["n_weights"]))]
    outputs = {}
    for norm, eps in (("linf", 0.3), ("l2", 2.0)):
        outputs[f"x_adv_{norm}"], outputs[f"logits_{norm}"] = run(
            weights, data["x"], data["y"], norm, eps
        )
    np.savez(target, backend=keras.backend.backend(), **outputs)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
