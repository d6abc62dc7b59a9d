"""One epoch of PGD-10 adversarial training on the embedded MNIST: clean fit vs tfadv vs hand-written vs ART.

Command: `python benchmarks/training_speed.py` (ART: `pip install -e .[bench]`). Same small CNN
(conv32-pool-conv64-pool-fc128), batch 128, eps 0.3, step 0.01, 10 steps, Adam, for every contender, all in
one run. Each Keras contender runs one warm-up epoch (tracing); then `--rounds` rounds each time one epoch
of every Keras contender in turn (interleaved, so that a slow stretch of a shared machine hits all of them
alike), and the table gives each contender's fastest epoch (this shared machine has slow stretches
that double an epoch's time at random: the minimum is the estimate least hit by them; every epoch's
time is printed too). ART is timed on `--art-limit` digits (it is
slow) and scaled to the epoch. Prints seconds per epoch and ratios.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfadv  # noqa: E402
from benchmarks._common import Timer, hand_written_pgd, mnist, print_table, small_cnn  # noqa: E402

EPS, STEP, STEPS, BATCH = 0.3, 0.01, 10, 128


class HandWrittenAT(keras.Model):
    """What a user writes by hand: a `train_step` with a `tf.function` PGD loop."""

    def __init__(self, classifier):
        super().__init__()
        self.classifier = classifier
        self.attack = hand_written_pgd(EPS, STEP, STEPS)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.acc = keras.metrics.SparseCategoricalAccuracy(name="adv_accuracy")

    def call(self, x, training=None):
        return self.classifier(x, training=training)

    def train_step(self, data):
        x, y = data
        x_adv = self.attack(self.classifier, x, y)
        with tf.GradientTape() as tape:
            logits = self.classifier(x_adv, training=True)
            loss = self.loss_fn(y, logits)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.acc.update_state(y, logits)
        return {"loss": loss, "adv_accuracy": self.acc.result()}


def time_epoch(model, x, y):
    with Timer() as t:
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    return t.seconds


def time_interleaved(contenders, x, y, rounds):
    """Fastest epoch of each model (seconds), timing one epoch of each in turn for `rounds` rounds."""
    for model in contenders.values():
        time_epoch(model, x, y)  # warm-up (tracing)
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, model in contenders.items():
            times[name].append(time_epoch(model, x, y))
    return {name: min(seconds) for name, seconds in times.items()}, times


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="training digits (default all 10k)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="timed epochs per Keras contender, interleaved"
    )
    parser.add_argument("--art-limit", type=int, default=1000)
    parser.add_argument("--no-art", action="store_true")
    args = parser.parse_args()
    x, y = mnist("train", limit=args.limit)

    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1. Received: --rounds={args.rounds}")
    clean = small_cnn()
    clean.compile(
        keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model = tfadv.methods.PGDAT(
        small_cnn(), attack=tfadv.attacks.PGD(eps=EPS, step_size=STEP, steps=STEPS)
    )
    model.compile(keras.optimizers.Adam(1e-3))
    hand = HandWrittenAT(small_cnn())
    hand.compile(keras.optimizers.Adam(1e-3))
    contenders = {"clean keras fit": clean, "tfadv PGDAT": model, "hand-written train_step": hand}
    rows, times = time_interleaved(contenders, x, y, args.rounds)
    for name, seconds in times.items():
        print(f"{name}: " + ", ".join(f"{s:.1f}" for s in seconds) + " s")

    if not args.no_art:
        from art.defences.trainer import AdversarialTrainerMadryPGD
        from art.estimators.classification import TensorFlowV2Classifier

        net = small_cnn()
        classifier = TensorFlowV2Classifier(
            net,
            nb_classes=10,
            input_shape=(28, 28, 1),
            loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            optimizer=keras.optimizers.Adam(1e-3),
            clip_values=(0.0, 1.0),
        )
        trainer = AdversarialTrainerMadryPGD(
            classifier, nb_epochs=1, batch_size=BATCH, eps=EPS, eps_step=STEP, max_iter=STEPS
        )
        n = min(args.art_limit, len(x))
        y_onehot = keras.utils.to_categorical(y[:n], 10)
        with Timer() as t:
            trainer.fit(x[:n], y_onehot)
        rows[f"ART AdversarialTrainerMadryPGD ({n} digits, scaled)"] = t.seconds * len(x) / n

    base = rows["hand-written train_step"]
    clean_s = rows["clean keras fit"]
    table = [
        [name, f"{s:.1f}", f"{s / clean_s:.1f}x", f"{s / base:.2f}x"] for name, s in rows.items()
    ]
    print_table(
        f"One epoch of PGD-{STEPS} AT on {len(x)} embedded MNIST digits, batch {BATCH} "
        f"(TF {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores)",
        ["contender", "s/epoch", "vs clean", "vs hand-written"],
        table,
    )
    art = [s for name, s in rows.items() if name.startswith("ART")]
    if art:
        print(f"tfadv is {art[0] / rows['tfadv PGDAT']:.1f}x faster than ART")


if __name__ == "__main__":
    main()
