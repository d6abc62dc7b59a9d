"""Gradient evaluations per epoch of PGD-10 AT and FAT (tau = 0, 1, 2, 3) on the embedded MNIST.

Command: `python benchmarks/backprops.py --limit 3000 --epochs 2` (the whole 9,000-digit training
split without `--limit`). Every contender trains the same small CNN (conv32-pool-conv64-pool-fc128,
same initial weights), batch 128, Adam 1e-3, l-inf eps 0.3, step 0.03, K = 10 steps, uniform random
start, in one run:

- `PGD-10 AT`: `tfadv.methods.PGDAT` with `tfadv.attacks.PGD`;
- `FAT tau=t`: `tfadv.methods.FAT` with `tfadv.attacks.EarlyStoppedPGD` (omega 0.001, FAT's) and a
  fixed `tau=t`.

For each epoch it prints the attack's gradient evaluations per example (`history["grad_evals"]`,
FAT's "BP count"), their total over the epoch, the seconds per epoch (epoch 1 without its first
batch, which traces the step, scaled to the whole epoch) and the training metrics; then each run's
wall time (tracing included).

FAT's claim (Zhang et al. 2020) is that early stopping needs far fewer gradient evaluations.
tfadv's early-stopped PGD is compacted: each step gathers the examples still active, runs the model
on them only and scatters the results back, so an epoch's attack cost follows `grad_evals` (the
loop still runs until the last example of a batch stops, and the training step itself is the same
for every contender). Target: a FAT tau=0 epoch at most half a PGD-10 AT epoch.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import tfadv  # noqa: E402
from benchmarks._common import print_table, small_cnn  # noqa: E402

BATCH = 128


class EpochTimer(keras.callbacks.Callback):
    """Seconds per epoch; the first epoch is timed from the end of its first (tracing) batch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if not self.seconds and batch == 0:
            self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self.start
        steps = (self.params or {}).get("steps") or 1
        if not self.seconds and steps > 1:
            elapsed *= steps / (steps - 1)
        self.seconds.append(elapsed)


def contenders(eps, step_size, steps, taus, seed):
    yield (
        "PGD-10 AT",
        lambda: tfadv.methods.PGDAT(
            small_cnn(),
            attack=tfadv.attacks.PGD(eps=eps, step_size=step_size, steps=steps, seed=seed),
        ),
    )
    for tau in taus:
        yield (
            f"FAT tau={tau}",
            lambda tau=tau: tfadv.methods.FAT(
                small_cnn(),
                attack=tfadv.attacks.EarlyStoppedPGD(
                    eps=eps, step_size=step_size, steps=steps, omega=0.001, seed=seed
                ),
                tau=tau,
            ),
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="training digits (default all)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per contender")
    parser.add_argument("--eps", type=float, default=0.3)
    parser.add_argument("--step-size", type=float, default=0.03)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--taus", default="0,1,2,3", help="comma-separated FAT taus")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    taus = [int(t) for t in args.taus.split(",") if t.strip()]
    x, y = tfadv.data.load_numpy("embedded_mnist", split="train", limit=args.limit)
    print(
        f"{len(x)} digits, {args.epochs} epoch(s), batch {BATCH}, eps {args.eps}, "
        f"step {args.step_size}, K = {args.steps}, keras {keras.__version__}"
    )

    rows, walls = [], []
    for name, build in contenders(args.eps, args.step_size, args.steps, taus, args.seed):
        model = build()
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        timer = EpochTimer()
        start = time.perf_counter()
        history = model.fit(
            x, y, batch_size=BATCH, epochs=args.epochs, callbacks=[timer], verbose=0
        ).history
        walls.append([name, f"{time.perf_counter() - start:.1f}"])
        for epoch in range(args.epochs):
            per_example = history["grad_evals"][epoch]
            rows.append(
                [
                    name,
                    epoch + 1,
                    f"{per_example:.2f}",
                    f"{per_example * len(x):,.0f}",
                    f"{timer.seconds[epoch]:.1f}",
                    f"{history['clean_accuracy'][epoch]:.3f}",
                    f"{history['adv_accuracy'][epoch]:.3f}",
                ]
            )
    header = [
        "method",
        "epoch",
        "grad evals / example",
        "grad evals / epoch",
        "s / epoch",
        "train clean acc",
        "train adv acc",
    ]
    print_table("Attack gradient evaluations per epoch", header, rows)
    print_table("Wall time per run (tracing included)", ["method", "seconds"], walls)


if __name__ == "__main__":
    main()
