"""
Title: Scaling out: tf.distribute and multi-worker
Author: tfadv
Description: Adversarially train with `fit` under a `tf.distribute.MirroredStrategy` (two logical CPUs here), evaluate with the attack batches dealt to the replicas, and run a recipe on several machines with `TF_CONFIG`.
"""

"""
## Setup

Adversarial training costs about K+1 times normal training (K attack steps, one update), so it
outgrows one device early. tfadv adds nothing of its own between `AdvModel.fit` and
`tf.distribute`: build and compile the model inside a strategy's scope and call `fit`. The attack
runs inside `train_step`, so each replica attacks its own share of the global batch.

This guide has no second device to use, so it makes two: it splits the CPU into two *logical*
devices, which `tf.distribute.MirroredStrategy` treats as two replicas. That must happen before
anything initialises TensorFlow's runtime, so it comes before Keras and tfadv are imported. (Two
logical CPUs share the same cores: this shows the mechanics, not a speed-up. On a machine with
GPUs, skip this step; `MirroredStrategy` takes every GPU.)

This guide reads one environment variable: with `TFADV_EXAMPLE_SMOKE=1` it runs at smoke size
(256 training digits, one epoch, 2-step attacks, 32 test digits; seconds, what the test suite
runs), otherwise at its real size (9,000 training digits, 3 epochs of 10-step PGD-AT, 1,000 test
digits, then 3 epochs of the main job's recipe; not measured, an estimated 10 to 15 minutes on a
2-core CPU, from the main job's 15 epochs in about 15 minutes there).
"""

import json
import os
import shlex
import tempfile

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
import numpy as np

import tfadv
from tfadv.cli.main import main as tfadv_cli

SMOKE = os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"
TRAIN_LIMIT, EPOCHS, STEPS, TEST_LIMIT = (256, 1, 2, 32) if SMOKE else (None, 3, 10, 1000)

keras.utils.set_random_seed(0)
print("logical devices:", [device.name for device in tf.config.list_logical_devices("CPU")])

"""
## The strategy

`tfadv.distribute.make_strategy(name)` builds a strategy by name; the names are the registry
`tfadv.distribute.STRATEGIES`: `"default"` (one device), `"mirrored"` (every local GPU, or here
the two logical CPUs), `"multi_worker"` (the machines listed in `TF_CONFIG`, below) and `"tpu"`.
The same names are the recipes' `distribution.strategy` field and the `--strategy` flag of
`tfadv train` and `tfadv evaluate`. Any `tf.distribute` strategy object works just as well.
"""

print("strategies:", list(tfadv.distribute.STRATEGIES))
strategy = tfadv.distribute.make_strategy("mirrored")
replicas = strategy.num_replicas_in_sync
print(f"{type(strategy).__name__} with {replicas} replicas: {strategy.extended.worker_devices}")

"""
## Adversarial training with `fit`

Build the classifier and the method, and compile, inside `strategy.scope()`: the variables are
then mirrored on every replica. `fit` is unchanged. Its `batch_size` is the *global* batch, cut
into equal shares for the replicas; scale it with the number of replicas to keep each replica's
share (here 32 digits) as on one device.

Under the strategy, each replica's loss is its mean over its share divided by the number of
replicas, so the summed gradients are those of the global-batch mean: two replicas take the
update one device would take on the same batch (tested in `tests/distribution`). The epsilon
warm-up and the other schedules are computed inside the compiled step, with no host round trip.
Keras turns XLA off under a strategy (`jit_compile="auto"`).
"""

x_train, y_train = tfadv.data.load_numpy("embedded_mnist", "train", limit=TRAIN_LIMIT)
x_test, y_test = tfadv.data.load_numpy("embedded_mnist", "test", limit=TEST_LIMIT)

with strategy.scope():
    model = tfadv.methods.PGDAT(
        tfadv.models.compact_cnn(),
        attack=tfadv.attacks.PGD(eps=0.3, step_size=2.5 * 0.3 / STEPS, steps=STEPS),
        eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.3, ramp_epochs=max(1, EPOCHS - 1)),
        eval_attack=tfadv.attacks.PGD(eps=0.3, steps=STEPS),
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))

history = model.fit(
    x_train,
    y_train,
    epochs=EPOCHS,
    batch_size=32 * replicas,
    validation_split=0.1,
    verbose=2,
)
print({name: round(values[-1], 4) for name, values in history.history.items()})

"""
## Evaluation under the strategy

`tfadv.evaluation.evaluate(..., strategy=...)` takes the same names (or a strategy object; TPUs
are refused) and deals the attack batches of one device, whole, to the replicas: batch `i` goes to
replica `i mod R`. The attacks' random keys fold in each batch's contents, so dealing whole
batches keeps every draw, and every example's verdict is the one-device verdict for the same seed.
The evaluation below runs on both replicas (with the protocol's sanity checks) and then on one
device (without them), and compares the verdicts example by example.

(With `batch_size=16` the smoke run's 32 digits make two batches, one per replica; the default is
256.)
"""

options = dict(eps=0.3, protocol="quick", batch_size=16 if SMOKE else 256, seed=0)
on_replicas = tfadv.evaluation.evaluate(model, (x_test, y_test), strategy=strategy, **options)
print(on_replicas)
on_one_device = tfadv.evaluation.evaluate(model, (x_test, y_test), checks=False, **options)
same = on_replicas.per_example["broken_by"] == on_one_device.per_example["broken_by"]
print(
    f"robust accuracy: {on_replicas.robust_accuracy:.3f} on {replicas} replicas, "
    f"{on_one_device.robust_accuracy:.3f} on one device; same verdict for every example: {same}"
)
np.testing.assert_array_equal(on_replicas.robust_mask, on_one_device.robust_mask)

"""
The same evaluation from the command line, for a saved model:

```bash
tfadv evaluate classifier.keras --eps 0.3 --protocol quick --strategy mirrored
```

## A recipe under a strategy: `tfadv train --strategy`

`tfadv train --config RECIPE --strategy NAME` (the config field `distribution.strategy`) creates
the strategy before any other TensorFlow op, builds the classifier and the method and compiles
inside its scope, and trains with `fit`; `config.batch_size` is the global batch. The run prints
its strategy and number of replicas on its first line. Below, the main job
(`recipes/mnist/default.py`, TRADES with beta 6) on the two replicas: at smoke size with 2-step
attacks, no sanity checks and no exports, at the real size cut to 3 of its 15 epochs. In a shell,
type the same words after `tfadv`; this guide calls the command in-process through
`tfadv.cli.main.main`.
"""

folder = tempfile.mkdtemp()
run = os.path.join(folder, "main_job_mirrored")
argv = ["train", "--config", "recipes/mnist/default.py", "--strategy", "mirrored"]
argv += [f"--config.workdir={run}"]
if SMOKE:
    argv += ["--smoke", "--config.attack.steps=2", "--config.validation.steps=2"]
    argv += ["--config.evaluation.limit=16", "--config.evaluation.checks=False"]
    argv += ["--config.export.enabled=False", "--config.plot=False"]
else:  # the main job cut to 3 epochs (drop these two overrides for its 15)
    argv += ["--config.epochs=3", "--config.eps_schedule.ramp_epochs=1.0"]
print("$ tfadv", shlex.join(argv))
code = tfadv_cli(argv)
if code != 0:
    raise SystemExit(f"`tfadv {shlex.join(argv)}` exited with {code}")
with open(os.path.join(run, "command.txt")) as file:
    print("command:", file.read().strip())

"""
## Several machines: `TF_CONFIG` and `--strategy multi_worker`

With `MultiWorkerMirroredStrategy` the same program runs on every machine, each told the cluster
and its own place in it by the `TF_CONFIG` environment variable: the list of workers
(`host:port`), and this process's index. Worker 0 is the chief. The strategy must be created at
program start, before any other TensorFlow op (`tfadv train` and `tfadv evaluate` do so).

`tfadv train --strategy multi_worker` is the whole recipe on several machines. Start the same
command, with the same recipe and data, on every machine. Each worker trains on its share of every
global batch (split by example; the last incomplete global batch of an epoch is dropped); the
chief keeps the run's folder (checkpoints, logs, and the report and the exports, made on one
device from the kept epoch), and every other worker checkpoints into `WORKDIR/workers/INDEX` on
its own disk. The workers agree on the epoch to resume from through the strategy's collectives
(no shared file system is needed); that resume across workers is implemented but has not been
exercised yet (`docs/scaling.md`).

Keras 3's `fit` cannot run on several workers yet (keras-team/keras#20585), so under
`multi_worker` `tfadv train` runs the epochs with its own loop
(`tfadv.experiment.distributed.fit_multi_worker`): the same `train_step`, callbacks and epoch
logs as `fit`, with the examples in the `fit` path's order. Outside the CLI, drive
`AdvModel.train_step` under `strategy.run` yourself; `docs/scaling.md` has the loop.

`tfadv evaluate MODEL --strategy multi_worker` evaluates on several machines: each attacks its
share of the batches, the verdicts are summed over the workers after every attack, and every
worker prints the same report. `tfadv tune` runs its trials in one process and refuses
`multi_worker`.

Below are the two commands of a two-worker cluster on one machine (the loopback interface), the
setup `tests/distribution` runs; on two machines, put their addresses in `worker`. This guide
prints them and does not start them.
"""

cluster = {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}
command = ["tfadv", "train", "--config", "recipes/mnist/default.py", "--strategy", "multi_worker"]
command += ["--config.workdir=artifacts/main_job_two_workers"]
for index in range(len(cluster["worker"])):
    tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
    print(f"TF_CONFIG={shlex.quote(tf_config)} {shlex.join(command)} &")

"""
What was run and what was not: `docs/scaling.md` lists it. In short, `MirroredStrategy` on two
logical CPUs and `MultiWorkerMirroredStrategy` with two processes on loopback are tested (the
weights and verdicts are compared with one device); several GPUs, several physical machines and
TPUs have not been run.
"""
