"""Robust accuracy against the l-inf radius for trained MNIST models (the results pages' curve).

Command, from the repository root (the models are the git-ignored outputs of `tfadv train` and
`tfadv tune`; train them first):

    tfadv train                                          # artifacts/mnist_robust/ (the main job)
    tfadv tune --config recipes/tuning/mnist_tune.py     # artifacts/recipes/mnist_tune/trials/*/
    python benchmarks/robustness_curve.py --threads 1 --json docs/results/data/robustness_curve.json

Attacks each model with `tfadv.evaluation.sweep` (the "quick" protocol: PGD-20 and APGD-CE 20
steps, per-example worst case, seed 0, no sanity checks) at l-inf eps 0, 0.05, ..., 0.4 and 0.5
(`--eps`) on the first `--n` embedded MNIST test digits (default 500). The models (`--model
LABEL=PATH`, repeatable) default to the main job's classifier (TRADES beta 6, `compact_cnn`, 15
epochs) and the tuning recipe's PGD-AT trials at training eps 0.3 and 0.1 (`compact_cnn`, 4 epochs
on 2,700 digits); missing files are skipped with a note. Unless `--clean-epochs 0`, a clean
baseline is trained first: the benchmark CNN (`benchmarks/_common.small_cnn`) fitted without any
attack for `--clean-epochs` epochs (default 5; Adam 1e-3, batch 128) on the 10,000 embedded
training digits. `--json` writes one record per model (its source, clean accuracy, worst-case and
per-attack accuracy at each radius, seconds, and the date, command and machine), which
`docs/results/make_figures.py` plots.

Measured with the command above on 2026-12-05 (2-core CPU shared with another benchmark; 3 min 29 s
wall, 2 min 42 s CPU): worst case at eps 0.3 of 0.0% (clean model), 0.0% and 54.6% (PGD-AT at
training eps 0.1 and 0.3) and 88.0% (main job), every model at 0.0% by eps 0.5. The table and the
figure: `docs/results/mnist-recipes.md`; the records: `docs/results/data/robustness_curve.json`.
"""

import argparse
import datetime
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DEFAULT_MODELS = [
    "TRADES beta 6 (main job, recipes/mnist/default.py)=artifacts/mnist_robust/classifier.keras",
    "PGD-AT, train eps 0.3 (recipes/tuning/mnist_tune.py, trial 2)="
    "artifacts/recipes/mnist_tune/trials/2/classifier.keras",
    "PGD-AT, train eps 0.1 (recipes/tuning/mnist_tune.py, trial 0)="
    "artifacts/recipes/mnist_tune/trials/0/classifier.keras",
]
DEFAULT_EPS = "0,0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.5"
PROTOCOL = "quick: PGD-20 and APGD-CE (20 steps), per-example worst case, seed 0"


def machine():
    """The machine in words: cores, memory, accelerators, TensorFlow and Keras versions."""
    import keras
    import tensorflow as tf

    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {round(pages / 2**30)} GiB"
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        memory = ""
    gpus = tf.config.list_physical_devices("GPU")
    accelerator = f"{len(gpus)} GPU" if gpus else "no GPU"
    return (
        f"{os.cpu_count()}-core {platform.machine()} CPU{memory}, {accelerator}; "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=None, help="LABEL=PATH (repeatable)")
    parser.add_argument("--n", type=int, default=500, help="test digits (default: 500)")
    parser.add_argument("--eps", default=DEFAULT_EPS, help="comma-separated l-inf radii")
    parser.add_argument("--clean-epochs", type=int, default=5, help="0: no clean baseline")
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow CPU threads")
    parser.add_argument("--json", default=None, help="write the records here")
    args = parser.parse_args()

    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    import tfadv
    from benchmarks._common import mnist, small_cnn

    eps = [float(e) for e in args.eps.split(",")]
    x, y = mnist("test", limit=args.n)
    command = " ".join(["python benchmarks/robustness_curve.py"] + sys.argv[1:])
    models = []
    if args.clean_epochs:
        x_train, y_train = mnist("train")
        classifier = small_cnn(0)
        classifier.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        start = time.perf_counter()
        classifier.fit(x_train, y_train, batch_size=128, epochs=args.clean_epochs, verbose=0)
        seconds = time.perf_counter() - start
        label = f"clean training (benchmark CNN, {args.clean_epochs} epochs, no attack)"
        source = f"trained by this script in {seconds:.0f} s on {len(x_train)} digits"
        models.append((label, source, classifier))
    for spec in args.model or DEFAULT_MODELS:
        label, _, path = spec.rpartition("=")
        if not os.path.exists(path):
            print(f"skipped (no file): {path}")
            continue
        models.append((label or path, path, path))

    when, where = datetime.date.today().isoformat(), machine()
    records = []
    for label, source, model in models:
        start = time.perf_counter()
        result = tfadv.evaluation.sweep(model, (x, y), eps, attacks="quick", seed=0)
        seconds = time.perf_counter() - start
        print(f"\n{label} ({source}), {seconds:.0f} s")
        print(result)
        records.append(
            {"label": label, "source": source, "seconds": round(seconds, 1)}
            | result.to_dict()
            | {"attacks": PROTOCOL, "date": when, "command": command, "machine": where}
        )
    if args.json:
        import json

        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"records": records}, f, indent=1)
            f.write("\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
