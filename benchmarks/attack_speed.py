"""PGD-20 (eps 0.3, step 0.01) on 2,000 embedded test digits: tfadv vs a hand-written loop vs ART.

Command: `python benchmarks/attack_speed.py` (ART: `pip install -e .[bench]`). Prints seconds, ratios and
the robust accuracy each attack leaves, all measured in this one run (the machines are noisy, so compare
ratios). The CNN is trained for one clean epoch first so the attacks have something to break.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfadv  # noqa: E402
from benchmarks._common import Timer, accuracy, hand_written_pgd, mnist, print_table, small_cnn  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="best of N timings per contender")
    parser.add_argument("--no-art", action="store_true")
    args = parser.parse_args()
    eps, step = 0.3, 0.01

    x_train, y_train = mnist("train")
    x, y = mnist("test", limit=args.n)
    model = small_cnn()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train, epochs=1, batch_size=128, verbose=0)
    batches = [
        (tf.constant(x[i : i + args.batch_size]), tf.constant(y[i : i + args.batch_size]))
        for i in range(0, len(x), args.batch_size)
    ]

    def run_all(fn):
        return np.concatenate([fn(xb, yb).numpy() for xb, yb in batches])

    contenders = {}
    attack = tfadv.attacks.PGD(eps=eps, step_size=step, steps=args.steps)
    contenders["tfadv PGD"] = lambda: run_all(lambda xb, yb: attack(model, xb, yb))
    hand = hand_written_pgd(eps, step, args.steps)
    contenders["hand-written tf.function loop"] = lambda: run_all(
        lambda xb, yb: hand(model, xb, yb)
    )
    if not args.no_art:
        from art.attacks.evasion import ProjectedGradientDescent
        from art.estimators.classification import TensorFlowV2Classifier

        classifier = TensorFlowV2Classifier(
            model,
            nb_classes=10,
            input_shape=(28, 28, 1),
            loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            clip_values=(0.0, 1.0),
        )
        art_pgd = ProjectedGradientDescent(
            classifier,
            eps=eps,
            eps_step=step,
            max_iter=args.steps,
            num_random_init=1,
            batch_size=args.batch_size,
            verbose=False,
        )
        contenders["ART ProjectedGradientDescent"] = lambda: art_pgd.generate(x, y=y)

    results = {}
    for name, fn in contenders.items():
        x_adv = fn()  # warm-up: tracing / compilation
        times = []
        for _ in range(args.repeats):
            with Timer() as t:
                x_adv = fn()
            times.append(t.seconds)
        results[name] = (min(times), accuracy(model, np.asarray(x_adv, np.float32), y))
    base = results["hand-written tf.function loop"][0]
    rows = [
        [name, f"{s:.2f}", f"{s / base:.2f}x", f"{acc:.4f}"] for name, (s, acc) in results.items()
    ]
    print_table(
        f"PGD-{args.steps} l-inf eps {eps} step {step} on {len(x)} digits (best of {args.repeats}; "
        f"clean accuracy {accuracy(model, x, y):.4f})",
        ["attack", "seconds", "vs hand-written", "robust accuracy"],
        rows,
    )
    if "ART ProjectedGradientDescent" in results:
        ratio = results["ART ProjectedGradientDescent"][0] / results["tfadv PGD"][0]
        print(f"tfadv is {ratio:.1f}x faster than ART")


if __name__ == "__main__":
    main()
