"""tfadv's "standard" protocol versus ART's AutoAttack on a PGD-trained small CNN, 1,000 digits.

Command: `python benchmarks/evaluation.py` (ART: `pip install -e .[bench]`). Trains the benchmark
CNN with PGD adversarial training (`tfadv.methods.PGDAT`, PGD-10 with step 0.01, eps ramped
0 -> 0.3 over 2 epochs; `--epochs`, default 4) on the 10,000 embedded training digits, or loads
`--model FILE.keras` (`--save FILE.keras` keeps the trained one), then evaluates it at l-inf
eps = 0.3 on the first `--n` (default 1,000) embedded test digits with

- tfadv `"standard"` (APGD-CE 100 steps, APGD-T 9 targets x 100 steps, Square 5,000 queries, each
  on the digits still robust, as AutoAttack does), and
- ART's `AutoAttack` through `TensorFlowV2Classifier`: `--art-attacks default` is ART's own attack
  list (APGD-CE and APGD-DLR with 5 restarts, DeepFool, Square 5,000 x 5 restarts); `matched`
  gives ART the same budgets as tfadv's protocol (APGD-CE, APGD-DLR, Square 5,000, one restart
  each).

Both run in this one process on the same model and digits, and the table gives the seconds and the
robust accuracy of each (lower accuracy = stronger attack). Expect minutes for tfadv and much longer
for ART on a CPU: use `--n 200` for a smoke run, `--no-art` to time tfadv alone.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tfadv  # noqa: E402
import tfadv.evaluation  # noqa: E402
from benchmarks._common import Timer, mnist, print_table, small_cnn  # noqa: E402

EPS = 0.3


def train(epochs, batch_size):
    x_train, y_train = mnist("train")
    model = tfadv.methods.PGDAT(
        small_cnn(),
        attack=tfadv.attacks.PGD(eps=EPS, step_size=0.01, steps=10),
        eps_schedule=tfadv.schedules.LinearRamp(0.0, EPS, ramp_epochs=2),
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=2)
    return model.classifier


def art_attacks(classifier, kind, batch_size):
    if kind == "default":
        return None  # ART's own list
    from art.attacks.evasion import AutoProjectedGradientDescent, SquareAttack

    common = dict(norm=np.inf, eps=EPS, eps_step=EPS, max_iter=100, nb_random_init=1)
    return [
        AutoProjectedGradientDescent(
            estimator=classifier, loss_type="cross_entropy", batch_size=batch_size, **common
        ),
        AutoProjectedGradientDescent(
            estimator=classifier,
            loss_type="difference_logits_ratio",
            batch_size=batch_size,
            **common,
        ),
        SquareAttack(
            estimator=classifier,
            norm=np.inf,
            eps=EPS,
            max_iter=5000,
            p_init=0.8,
            nb_restarts=1,
            batch_size=batch_size,
        ),  # fmt: skip
    ]


def run_art(model, x, y, kind, batch_size):
    from art.attacks.evasion import AutoAttack
    from art.estimators.classification import TensorFlowV2Classifier

    classifier = TensorFlowV2Classifier(
        model,
        nb_classes=10,
        input_shape=x.shape[1:],
        loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        clip_values=(0.0, 1.0),
    )
    attack = AutoAttack(
        estimator=classifier,
        norm=np.inf,
        eps=EPS,
        eps_step=0.1,
        attacks=art_attacks(classifier, kind, batch_size),
        batch_size=batch_size,
    )
    x_adv = attack.generate(x=x, y=y)
    delta = np.abs(x_adv - x).reshape(len(x), -1).max(axis=1)
    assert delta.max() <= EPS + 1e-5, delta.max()
    return float(np.mean(np.argmax(model.predict(x_adv, verbose=0), axis=1) == y))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="test digits (default: 1000)")
    parser.add_argument("--model", default=None, help="a trained .keras model (skips training)")
    parser.add_argument("--save", default=None, help="save the trained classifier here")
    parser.add_argument("--epochs", type=int, default=4, help="PGD-AT epochs (default: 4)")
    parser.add_argument("--batch-size", type=int, default=500, help="attack batch (default: 500)")
    parser.add_argument("--art-attacks", choices=("default", "matched"), default="default")
    parser.add_argument("--no-art", action="store_true", help="time tfadv alone")
    parser.add_argument("--json", default=None, help="write tfadv's report as JSON here")
    args = parser.parse_args()

    if args.model:
        model = keras.saving.load_model(args.model)
        model = getattr(model, "classifier", model)
    else:
        with Timer() as timer:
            model = train(args.epochs, batch_size=128)
        print(f"PGD-AT training: {args.epochs} epochs in {timer.seconds:.0f} s")
        if args.save:
            model.save(args.save)
    x, y = mnist("test", limit=args.n)
    clean = float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))

    rows = []
    with Timer() as timer:
        report = tfadv.evaluation.evaluate(
            model, (x, y), eps=EPS, protocol="standard", batch_size=args.batch_size, checks=False
        )
    tfadv_seconds = timer.seconds
    print(report)
    if args.json:
        report.to_json(args.json)
    rows.append(
        ["tfadv 'standard' v1.0", f"{tfadv_seconds:.1f}", f"{report.robust_accuracy:.2%}", "1.00"]
    )

    if not args.no_art:
        with Timer() as timer:
            art_accuracy = run_art(model, x, y, args.art_attacks, args.batch_size)
        rows.append([
            f"ART AutoAttack ({args.art_attacks})",
            f"{timer.seconds:.1f}",
            f"{art_accuracy:.2%}",
            f"{timer.seconds / tfadv_seconds:.2f}",
        ])  # fmt: skip
    print_table(
        f"Robust accuracy at l-inf eps={EPS} on {len(x)} embedded test digits "
        f"(clean accuracy {clean:.2%})",
        ["evaluation", "seconds", "robust accuracy", "time / tfadv"],
        rows,
    )


if __name__ == "__main__":
    main()
