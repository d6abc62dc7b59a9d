"""One process of a JAX cluster on this machine: PGD-AT through `fit` on global batches.

    python _multi_host_fit.py PROCESS_ID NUM_PROCESSES PORT OUT.npz

With NUM_PROCESSES > 1 the process joins the cluster through
`tfadv.distribute.make_distribution("multi_worker")` (`keras.distribution.initialize()` from the
`KERAS_DISTRIBUTION_*` variables set here) and trains under `DataParallel` over every process's
device; with 1 it trains alone. It writes the trained weights to OUT.npz. Run by
`test_backend_tiers.py::test_jax_multi_host_fit`.
"""

import os
import sys

os.environ["KERAS_BACKEND"] = "jax"
process_id, num_processes, port, out = sys.argv[1:5]
os.environ.update(
    KERAS_DISTRIBUTION_JOB_ADDRESSES=f"localhost:{port}",
    KERAS_DISTRIBUTION_NUM_PROCESSES=num_processes,
    KERAS_DISTRIBUTION_PROCESS_ID=process_id,
)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfadv  # noqa: E402

if int(num_processes) > 1:
    keras.distribution.set_distribution(tfadv.distribute.make_distribution("multi_worker"))
keras.utils.set_random_seed(0)
classifier = keras.Sequential(
    [
        keras.Input((6, 6, 1)),
        keras.layers.Conv2D(3, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(3),
    ]
)
model = tfadv.methods.PGDAT(classifier, attack=tfadv.attacks.PGD(eps=0.1, step_size=0.05, steps=3))
model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
rng = np.random.default_rng(0)
x = rng.uniform(0.0, 1.0, size=(64, 6, 6, 1)).astype("float32")
y = rng.integers(0, 3, size=64).astype("int32")
batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # global batches
history = model.fit(batches, epochs=2, verbose=0)
np.savez(
    out,
    devices=len(keras.distribution.list_devices()),
    loss=np.array(history.history["loss"]),
    **{f"w{i}": w for i, w in enumerate(classifier.get_weights())},
)
