"""One worker of `test_multi_worker.py`: `python _multi_worker_task.py INDEX PORTS_JSON OUT_DIR`.

Joins a two-worker `MultiWorkerMirroredStrategy` cluster on loopback (`TF_CONFIG`), then for PGD-AT
and TRADES trains epoch 0, saves the weights (optimizer and progress state included), rebuilds
the model as a restarted job would, restores them and trains epoch 1. Writes the final weights.

Keras 3's `fit` cannot run on several workers yet (keras-team/keras#20585: its symbolic build
reduces the input batch across workers and fails), so the loop runs `AdvModel.train_step` under
`strategy.run` in a `tf.function`, exactly as `fit` would per batch, and anchors the progress at
each epoch as `fit`'s progress callback does.
"""

import json
import os
import sys

index, ports, out_dir = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
os.environ["TF_CONFIG"] = json.dumps(
    {
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
        "task": {"type": "worker", "index": index},
    }
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfadv  # noqa: E402
import tfadv.distribute  # noqa: E402

keras.config.disable_traceback_filtering()
strategy = tfadv.distribute.make_strategy("multi_worker")

import _tiny  # noqa: E402
from test_multi_worker import GLOBAL_BATCH, STEPS, build  # noqa: E402


def dataset(context):
    """This worker's half of each of the one-device global batches, in order."""
    x, y = _tiny.data(GLOBAL_BATCH * STEPS)
    per_worker = context.get_per_replica_batch_size(GLOBAL_BATCH)
    start = context.input_pipeline_id * per_worker
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    return batches.map(lambda a, b: (a[start : start + per_worker], b[start : start + per_worker]))


def train_epoch(model, epoch):
    model.progress_state.assign([epoch, STEPS, 0])

    @tf.function
    def step(batch):
        strategy.run(model.train_step, args=(batch,))

    for batch in strategy.distribute_datasets_from_function(dataset):
        step(batch)


def fresh(name):
    with strategy.scope():
        model = build(name)
        model.optimizer.build(model.trainable_variables)
    return model


results = {}
for name in ("pgd_at", "trades"):
    backup = os.path.join(out_dir, f"{name}_worker{index}.weights.h5")
    model = fresh(name)
    train_epoch(model, 0)
    model.save_weights(backup)
    model = fresh(name)  # the job restarts
    model.load_weights(backup)
    train_epoch(model, 1)
    for i, w in enumerate(model.classifier.get_weights()):
        results[f"{name}/{i}"] = w
    results[f"{name}/progress"] = np.array(float(model.epoch_progress.numpy()))
np.savez(os.path.join(out_dir, f"worker{index}.npz"), **results)
