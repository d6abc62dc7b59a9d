"""tfadv's AutoAttack protocols versus the reference AutoAttack in PyTorch, on one MNIST model.

Commands, from the repository root (PyTorch and torchattacks: `pip install torch==2.13.0`, the CPU
wheel, then `pip install --no-deps torchattacks`: its own requirements pin requests 2.25 and bring
torchvision, whose newest wheel pulls a CUDA build of torch):

    python benchmarks/autoattack_parity.py --n 500 --fra31 --threads 2 \\
        --model artifacts/mnist_robust/classifier.keras --json parity_robust.json
    python benchmarks/autoattack_parity.py --n 1000 --version rand --repeats 3 --fra31 --threads 2 \\
        --model artifacts/mnist/noise_injection/classifier.keras --json parity_rand.json

Trains the benchmark CNN with PGD adversarial training (as `benchmarks/evaluation.py` does;
`--epochs`, default 4) or loads `--model FILE.keras`, then on the first `--n` embedded MNIST test
digits at l-inf eps 0.3:

- tfadv: `tfadv.evaluation.evaluate(model, ..., protocol=VERSION)` (checks off), timed end to end;
  `--version standard` (the default: APGD-CE, APGD-T, FAB-T, Square 5,000, each on the digits still
  robust) or `--version rand` (AutoAttack's version for randomised models: APGD-CE and APGD-DLR with
  gradients averaged over 20 draws, EOT 20);
- reference: the same version of AutoAttack in PyTorch (torchattacks' port of fra31/auto-attack,
  `--fra31` for fra31's settings: 100 APGD/FAB iterations, where torchattacks' `AutoAttack` runs 10,
  and Square's unrescaled p-schedule) on the same digits, run attack by attack on the digits still
  robust, as `MultiAttack` does, so that each attack's share is known. Correctness is one forward
  pass, as in fra31's code. The PyTorch model is rebuilt layer by layer from the Keras weights
  (`--converter direct`, the default: Conv2D, MaxPooling2D, Flatten, Dense, linear/ReLU Activation
  layers and a `tfadv.layers.GaussianNoiseInjection` input layer, `x + stddev * randn_like(x)`, on at
  inference and unclipped, as the Keras layer), or exported with `tfadv.export.to_onnx` and converted
  by onnx2torch (`--converter onnx2torch`, deterministic models only; onnx2torch imports
  torchvision, whose PyPI wheels need a CUDA build of torch); its logits are checked against Keras
  (noise off on both sides) before attacking.

Both sides count the model's forward and backward passes (examples, summed over batches): in
PyTorch the net is wrapped in a module counting its calls and, through a tensor hook on its output,
its backward passes; in TensorFlow the classifier is wrapped as `Input -> PassCounter -> classifier`,
whose layer adds the batch size to a variable on every forward pass and, through a
`tf.custom_gradient` identity, on every backward pass, inside the compiled attacks too. The counters
are checked first on a hand-written PGD loop of 5 steps (exactly 5 forward and 5 backward passes per
digit), and, on a deterministic model, wrapping is checked not to change an attack's verdicts. Per
attack the table gives the digits attacked and broken, forward and backward passes per digit (the
attack's verdict pass included; a measure that does not move with the machine) and seconds on both
sides, and the ratio tfadv / reference of forward + backward passes per digit. A digit broken early
costs less than one that survives the whole budget, so where the sides broke different numbers of
digits part of the ratio is the outcome; the judgement says so.

Targets (`--version standard`): tfadv's worst case at most 0.2 points above the reference's; tfadv
uses no more forward + backward passes per digit than the reference on any attack. The wall-clock
ratio is printed without a target (on a 2-core CPU the model's kernels set it). `--repeats N` runs the
two sides N times, alternating, checks that each side's verdicts never change and shows the run with
the median speed-up. With `--version rand` the runs use the seeds `--seed`, `--seed + 1`, ... on
both sides; every run's robust accuracy and each side's spread (min-max) are printed, and the target
is tfadv within the reference's spread (at or below its highest run), or at most 1 point above it
on 1,000 digits or more.

The reference side lives in `benchmarks/autoattack_reference.py` (PyTorch only). To run it on another
machine (one with only PyTorch, a GPU say): `--export-reference DIR` writes the digits, labels, Keras
logits and weights (`--converter direct` nets) to `DIR/reference.npz` and stops; run
`autoattack_reference.py DIR/reference.npz [--version rand --repeats N] --json REF.json` there; then
`--reference-json REF.json` here runs tfadv alone and reads the reference's runs (checked to be on the
same digits). `--threads` sets torch's CPU threads when both sides run here (1 while other jobs use
the cores: torch's threads wait for each other at every operation, and a busy core made a 2-thread
APGD step several times slower than a 1-thread one). `--json OUT` also writes the numbers. Expect
tens of minutes for `--n 500` on a 2-core CPU, hours for `--version rand --n 1000 --repeats 3`; use
`--n 20 --epochs 1` for a smoke run.
"""

import argparse
import copy
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfadv  # noqa: E402
import tfadv.evaluation  # noqa: E402
from benchmarks._common import hand_written_pgd, mnist, print_table  # noqa: E402
from benchmarks.autoattack_reference import (  # noqa: E402
    EPS,
    VERSIONS,
    build_direct,
    digits_sha256,
    machine,
    nchw,
    run_reference,
    set_noise_active,
)
from benchmarks.autoattack_reference import check_counting as check_torch_counting  # noqa: E402

COUNT_STEPS = 5  # steps of the PGD loops that check the pass counters
COUNT_DIGITS = 16


class PassCounter(keras.layers.Layer):
    """The identity, counting the forward passes through it and the backward passes into it.

    Every call adds its batch size to `forward_passes`; the gradient of the output (a
    `tf.custom_gradient` identity) adds it to `backward_passes`, so a counter at a model's input
    counts each input-gradient computation once. Both work inside `tf.function` and XLA.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.forward_passes = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.backward_passes = tf.Variable(0, dtype=tf.int64, trainable=False)

    def call(self, inputs):
        batch = tf.cast(tf.shape(inputs)[0], tf.int64)
        backward = self.backward_passes

        @tf.custom_gradient
        def identity(x):
            def gradient(upstream):
                with tf.control_dependencies([backward.assign_add(batch)]):
                    return tf.identity(upstream)

            return tf.identity(x), gradient

        with tf.control_dependencies([self.forward_passes.assign_add(batch)]):
            return identity(inputs)

    def passes(self):
        """`(forward, backward)` examples counted so far."""
        return int(self.forward_passes.numpy()), int(self.backward_passes.numpy())


def counted(classifier):
    """`(model, counter)`: `Input -> PassCounter -> classifier`, the same logits, counted."""
    inputs = keras.Input(classifier.input_shape[1:])
    counter = PassCounter(name="pass_counter")
    return keras.Model(inputs, classifier(counter(inputs)), name="counted"), counter


def is_randomized(model, x):
    """Whether two inference-mode forward passes on `x` differ."""
    return not np.array_equal(model(x, training=False), model(x, training=False))


def check_counting(model, x, y, steps=COUNT_STEPS):
    """Checks the TensorFlow counter on a hand-written PGD-`steps` loop (`steps` forward and
    backward passes per digit) and returns the passes per digit of `tfadv.attacks.PGD(steps)`.

    On a deterministic model it also checks that the wrapper leaves PGD's verdicts unchanged."""
    wrapped, counter = counted(model)
    hand_written_pgd(EPS, EPS / 4, steps)(wrapped, tf.constant(x), tf.constant(y))
    expected = (steps * len(y), steps * len(y))
    if counter.passes() != expected:
        raise RuntimeError(
            f"The TensorFlow pass counter is wrong: a {steps}-step loop on {len(y)} digits counted "
            f"(forward, backward) {counter.passes()}, not {expected}"
        )
    wrapped, counter = counted(model)
    attack = tfadv.attacks.PGD(eps=EPS, steps=steps, seed=0)
    x_counted = attack.run(wrapped, x, y).x_adv.numpy()
    per_digit = [p / len(y) for p in counter.passes()]
    if not is_randomized(model, x):
        x_plain = attack.run(model, x, y).x_adv.numpy()
        verdicts = [np.argmax(model(z, training=False), axis=1) == y for z in (x_plain, x_counted)]
        if not np.array_equal(*verdicts):
            raise RuntimeError("Counting the passes changed PGD's verdicts.")
    return per_digit


def marked_protocol(name, counter, marks):
    """The protocol `name` whose attacks note the counter's reading (`marks[label]`) when first run.

    Name, version, attacks and variant are the registered protocol's; only each attack object's
    `run` is wrapped, so that the passes between two marks are one attack's (its verdicts included).
    """
    protocol = copy.copy(tfadv.evaluation.get_protocol(name))
    build = protocol.attacks

    def attacks(eps, norm, **options):
        pairs = build(eps, norm, **options)
        for label, attack in pairs:

            def noted_run(*args, label=label, run=attack.run, **kwargs):
                marks.setdefault(label, counter.passes())
                return run(*args, **kwargs)

            attack.run = noted_run
        return pairs

    protocol.attacks = attacks
    return protocol


def run_tfadv(model, x, y, batch_size, seed, version="standard"):
    """`evaluate(model, protocol=version)` on the counted model, timed; passes per attack."""
    wrapped, counter = counted(model)
    marks = {}
    protocol = marked_protocol(version, counter, marks)
    started = time.perf_counter()
    report = tfadv.evaluation.evaluate(
        wrapped, (x, y), eps=EPS, norm="linf", protocol=protocol, batch_size=batch_size,
        checks=False, seed=seed,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    names = [row["name"] for row in report.attacks]
    # an attack's passes run from its first `run` to the next attack's (its verdicts included)
    readings = [marks.get(name) for name in names] + [counter.passes()]
    passes = {}
    for i, name in enumerate(names):
        end = next(r for r in readings[i + 1 :] if r is not None)
        start = readings[i] or end
        passes[name] = [e - s for e, s in zip(end, start, strict=True)]
    return {
        "clean": report.clean_accuracy,
        "after": {row["name"]: row["accuracy"] for row in report.attacks},
        "robust": report.robust_accuracy,
        "robust_mask": report.robust_mask,
        "seconds": seconds,
        "attack_seconds": {row["name"]: row["seconds"] for row in report.attacks},
        "attacked": {row["name"]: row["examples_attacked"] for row in report.attacks},
        "passes": passes,
        "clean_passes": list(next(r for r in readings if r is not None)),
        "variant": report.variant,
        "randomized": report.randomized,
        "eot_iter": report.eot_iter,
        "notes": list(report.notes),
        "seed": seed,
    }


def layer_spec(model):
    """The layer list of a plain conv net and its weights, for `autoattack_reference.build_direct`."""
    kinds = {keras.layers.Conv2D: "Conv2D", keras.layers.MaxPooling2D: "MaxPooling2D",
             keras.layers.Flatten: "Flatten", keras.layers.Dense: "Dense",
             keras.layers.Activation: "Activation",
             tfadv.layers.GaussianNoiseInjection: "GaussianNoise"}  # fmt: skip
    spec, weights = [], []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        kind = next((k for cls, k in kinds.items() if isinstance(layer, cls)), None)
        if kind is None:
            raise ValueError(
                "`--converter direct` handles Conv2D, MaxPooling2D, Flatten, Dense, Activation and "
                f"GaussianNoiseInjection layers. Received: a {type(layer).__name__} layer"
            )
        config = layer.get_config()
        if kind == "GaussianNoise" and not layer.active_at_inference:
            kind, config = "Activation", {"activation": "linear"}  # the identity at inference
        spec.append({
            "kind": kind, "activation": config.get("activation"),
            "strides": config.get("strides"), "padding": config.get("padding"),
            "pool_size": config.get("pool_size"), "stddev": config.get("stddev"),
            "weights": len(layer.get_weights()),
        })  # fmt: skip
        weights.append(layer.get_weights())
    return spec, weights


def noise_free_logits(model, x):
    """Keras logits with every noise layer off (restored after)."""
    tfadv.layers.set_noise_active(model, False)
    try:
        return model.predict(x, batch_size=250, verbose=0)
    finally:
        tfadv.layers.set_noise_active(model, True)


def export_reference(model, x, y, folder):
    """Writes `folder/reference.npz`: digits, labels, Keras logits (noise off) and `layer_spec`."""
    spec, weights = layer_spec(model)
    os.makedirs(folder, exist_ok=True)
    arrays = {f"w{i}_{j}": w for i, ws in enumerate(weights) for j, w in enumerate(ws)}
    path = os.path.join(folder, "reference.npz")
    np.savez(path, x=x, y=y, keras_logits=noise_free_logits(model, x),
             spec=np.array(json.dumps(spec)), **arrays)  # fmt: skip
    return path


def torch_model(model, converter, folder):
    """The PyTorch twin of `model`, taking NCHW batches (what torchattacks' Square assumes)."""
    if converter == "onnx2torch":
        import onnx2torch  # optional, and only with a CUDA build of torch (through torchvision)

        path = tfadv.export.to_onnx(model, os.path.join(folder, "model.onnx"))
        return nchw(onnx2torch.convert(path))  # the exported graph is channels-last
    return nchw(build_direct(*layer_spec(model)))


def read_reference(path, x, y, version):
    """The reference's runs from an `autoattack_reference.py --json` file, checked against the
    digits, the radius and the version."""
    with open(path, encoding="utf-8") as f:
        ref = json.load(f)
    if ref["n"] != len(y) or ref["digits_sha256"] != digits_sha256(x, y) or ref["eps"] != EPS:
        raise ValueError(
            f"`--reference-json` was run on other digits or another eps. Received: n={ref['n']}, "
            f"eps={ref['eps']} for {len(y)} digits at eps {EPS}"
        )
    if ref.get("version", "standard") != version:
        raise ValueError(
            f"`--reference-json` ran another AutoAttack version. Received: "
            f"version={ref.get('version', 'standard')!r} for --version {version}"
        )
    runs = ref.get("runs", [ref])  # files written before `--repeats` hold one run
    for run in runs:
        run["robust_mask"] = np.asarray(run["robust_mask"], dtype=bool)
    return runs, ref["logit_gap"], ref["machine"]


def pct(value):
    return f"{100 * value:.1f}%"


def attack_passes(runs, name):
    """One side's `(digits attacked, digits broken, forward/digit, backward/digit, seconds)` for
    attack `name`, as means over `runs` (passes per digit: `None` when it attacked none)."""
    n = len(runs[0]["robust_mask"])
    digits = sum(r["attacked"].get(name, 0) for r in runs)
    broken = sum(r["attacked"].get(name, 0) - round(r["after"].get(name, 0) * n) for r in runs)
    forward = sum(r["passes"].get(name, [0, 0])[0] for r in runs)
    backward = sum(r["passes"].get(name, [0, 0])[1] for r in runs)
    seconds = sum(r["attack_seconds"].get(name, 0.0) for r in runs) / len(runs)
    per_digit = (forward / digits, backward / digits) if digits else (None, None)
    return digits / len(runs), broken / len(runs), *per_digit, seconds


def print_passes(ours_runs, ref_runs, judged_target):
    """Prints the passes per digit of each attack on both sides; returns the ratios tfadv /
    reference of forward + backward passes per digit (`None` where a side attacked no digit)."""
    names = list(dict.fromkeys([*ours_runs[0]["passes"], *ref_runs[0]["passes"]]))
    rows, ratios, outcome_differs = [], {}, []
    for name in names:
        sides = attack_passes(ours_runs, name), attack_passes(ref_runs, name)
        (_, ours_broken, *ours), (_, ref_broken, *ref) = sides
        both = ours[0] is not None and ref[0] is not None and ref[0] + ref[1] > 0
        ratios[name] = (ours[0] + ours[1]) / (ref[0] + ref[1]) if both else None
        if ours_broken != ref_broken:
            outcome_differs.append(name)
        cells = [
            [f"{s[0]:g}", f"{s[1]:g}", *(f"{v:.1f}" if v is not None else "-" for v in s[2:4]),
             f"{s[4]:.1f}"]
            for s in sides
        ]  # fmt: skip
        ratio = "-" if ratios[name] is None else f"{ratios[name]:.3f}"
        rows.append([name, *cells[0], *cells[1], ratio])
    print_table(
        f"Model passes per digit attacked (mean over {len(ours_runs)} run(s); each attack's "
        "verdict pass included)",
        ["attack", "tfadv digits", "broken", "fwd/digit", "bwd/digit", "s",
         "ref digits", "broken", "fwd/digit", "bwd/digit", "s", "tfadv/ref fwd+bwd"],
        rows,
    )  # fmt: skip
    clean = [
        sum(r["clean_passes"][0] for r in runs) / (len(runs) * len(runs[0]["robust_mask"]))
        for runs in (ours_runs, ref_runs)
    ]
    print(f"clean check, forward passes per digit: tfadv {clean[0]:.2f} (with its input checks), "
          f"reference {clean[1]:.2f}")  # fmt: skip
    if not judged_target:
        print("passes: no target for rand (the reference's APGD attacks only the digits that one "
              "fresh draw classifies correctly, tfadv every digit it is given)")  # fmt: skip
        return ratios
    over = {name: r for name, r in ratios.items() if r is not None and r > 1}
    if not any(r is not None for r in ratios.values()):
        print("tfadv passes <= reference's on every attack: not judged (no attack ran on both)")
        return ratios
    print("tfadv forward+backward passes per digit <= reference's on every attack: "
          + ("met" if not over else "MISSED on " + ", ".join(
              f"{name} ({r:.3f})" for name, r in over.items())))  # fmt: skip
    explained = [name for name in over if name in outcome_differs]
    if explained:
        print(f"  note: on {', '.join(explained)} the two sides broke different numbers of "
              "digits; a digit broken early costs less than one that survives the whole budget, "
              "so part of that ratio is the attacks' outcome, not their cost")  # fmt: skip
    return ratios


def judge_rand(ours_runs, ref_runs, n):
    """Prints each side's runs and spread, and the randomised-model target."""
    ours = [100 * r["robust"] for r in ours_runs]
    ref = [100 * r["robust"] for r in ref_runs]
    for label, values in (("tfadv rand", ours), ("reference rand", ref)):
        print(f"{label}: robust accuracy " + ", ".join(f"{v:.1f}%" for v in values)
              + f"; spread {min(values):.1f}-{max(values):.1f}% ({max(values) - min(values):.1f} "
              "points)")  # fmt: skip
    above = max(ours) - max(ref)
    if above <= 0:
        verdict = "met (within the reference's spread)" if min(ours) >= min(ref) else (
            "met (at or below the reference's spread: tfadv's attacks are no weaker)")  # fmt: skip
    elif above <= 1 and n >= 1000:
        verdict = f"met ({above:.1f} points above the reference's highest run, on {n} digits)"
    else:
        verdict = f"MISSED ({above:.1f} points above the reference's highest run, on {n} digits)"
    print(f"tfadv rand within the reference's run-to-run spread (or at most 1 point above it on "
          f"1,000+ digits): {verdict}")  # fmt: skip
    return above


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="test digits (default 1000)")
    parser.add_argument("--model", default=None, help="a trained .keras model (default: train)")
    parser.add_argument("--save", default=None, help="save the trained model here")
    parser.add_argument("--epochs", type=int, default=4, help="PGD-AT epochs when training")
    parser.add_argument("--batch-size", type=int, default=250, help="attack batch (default 250)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--version",
        choices=tuple(VERSIONS),
        default="standard",
        help="AutoAttack's version on both sides: standard, or rand (APGD-CE, APGD-DLR with EOT "
        "20, for randomised models)",
    )
    parser.add_argument("--converter", choices=("direct", "onnx2torch"), default="direct")
    parser.add_argument("--json", default=None, help="also write the numbers as JSON")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--reference-steps",
        type=int,
        default=None,
        help="the reference's APGD/FAB iterations (default torchattacks' 10; --fra31: 100)",
    )
    parser.add_argument(
        "--fra31",
        action="store_true",
        help="the reference as fra31/auto-attack's version: 100 iterations (unless "
        "--reference-steps) and Square's unrescaled p-schedule",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run both sides this many times, alternating (rand: seeds --seed, --seed + 1, ...) "
        "(default 1)",
    )
    parser.add_argument(
        "--export-reference",
        default=None,
        metavar="DIR",
        help="only write DIR/reference.npz for autoattack_reference.py, then stop",
    )
    parser.add_argument(
        "--reference-json",
        default=None,
        metavar="FILE",
        help="read the reference side from autoattack_reference.py --json FILE",
    )
    args = parser.parse_args(argv)
    for name in ("n", "epochs", "batch_size", "repeats", "threads", "reference_steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1. Received: {value}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0. Received: {args.seed}")
    if args.model and not os.path.exists(args.model):
        parser.error(f"--model: no such file. Received: {args.model}")
    if args.reference_json and not os.path.exists(args.reference_json):
        parser.error(f"--reference-json: no such file. Received: {args.reference_json}")
    if args.reference_json and (args.export_reference or args.repeats > 1):
        parser.error("--reference-json reads the reference's runs: drop --export-reference and "
                     "--repeats (run autoattack_reference.py --repeats N)")  # fmt: skip

    if not (args.reference_json or args.export_reference):
        try:  # optional: only the reference, run here, needs them
            import torch
            import torchattacks  # noqa: F401
        except ImportError as error:
            parser.error(
                f"{error}: pip install torch==2.13.0, then pip install --no-deps torchattacks"
            )
        if args.converter == "onnx2torch":
            try:  # optional, and it imports torchvision, whose PyPI wheels need a CUDA torch
                import onnx2torch  # noqa: F401
            except (ImportError, RuntimeError) as error:
                parser.error(f"--converter onnx2torch: {error}; use --converter direct")

    keras.utils.set_random_seed(args.seed)  # a noise layer's seed generator is made at loading
    if args.model:
        try:
            model = keras.saving.load_model(args.model)
        except (ValueError, TypeError, OSError) as error:
            parser.error(f"--model: cannot load {args.model}: {error}")
    else:
        from benchmarks.evaluation import train  # only when training (it brings in ART's imports)

        model = train(args.epochs, batch_size=128)
        if args.save:
            model.save(args.save)
    x, y = mnist("test", limit=args.n)
    noisy = any(getattr(layer, "_tfadv_noise_layer", False) for layer in model.layers)
    if noisy and args.converter == "onnx2torch":
        parser.error("--converter onnx2torch: the ONNX twin of a noise layer is not checked to "
                     "stay random; use --converter direct")  # fmt: skip
    if args.converter == "direct" or args.export_reference:
        try:  # a layer the direct converter does not know: refused before any attack runs
            layer_spec(model)
        except ValueError as error:
            parser.error(str(error))
    if args.export_reference:
        print(f"Wrote {export_reference(model, x, y, args.export_reference)} ({len(y)} digits)")
        return

    tf_counts = check_counting(model, x[:COUNT_DIGITS], y[:COUNT_DIGITS])
    if args.reference_json:
        try:
            ref_runs, logit_gap, ref_machine = read_reference(
                args.reference_json, x, y, args.version
            )
        except (ValueError, KeyError) as error:
            parser.error(f"--reference-json: {error}")
        pairs = [(run_tfadv(model, x, y, args.batch_size, r["seed"], args.version), r)
                 for r in ref_runs]  # fmt: skip
        torch_counts = None
    else:
        if args.threads:
            torch.set_num_threads(args.threads)
        with tempfile.TemporaryDirectory() as folder:
            net = torch_model(model, args.converter, folder)
        with torch.no_grad():  # noise off on both sides
            images = torch.tensor(x.transpose(0, 3, 1, 2))
            torch_logits = set_noise_active(net, False)(images).numpy()
        set_noise_active(net, True)
        logit_gap = float(np.max(np.abs(torch_logits - noise_free_logits(model, x))))
        ref_machine = machine("cpu")
        torch_counts = check_torch_counting(net, x[:COUNT_DIGITS], y[:COUNT_DIGITS], COUNT_STEPS)
        pairs = []
        for repeat in range(args.repeats):  # alternating, so that both sides see the same machine
            seed = args.seed + repeat if args.version == "rand" else args.seed
            ours = run_tfadv(model, x, y, args.batch_size, seed, args.version)
            ref = run_reference(net, x, y, args.batch_size, seed, steps=args.reference_steps,
                                fra31=args.fra31, version=args.version)  # fmt: skip
            pairs.append((ours, {**ref, "seed": seed}))
        if args.version == "standard":  # seeded on both sides: every repeat gives the same verdicts
            for side in (0, 1):
                masks = {np.asarray(pair[side]["robust_mask"]).tobytes() for pair in pairs}
                if len(masks) != 1:
                    raise RuntimeError(f"The repeats of side {side} disagree on the robust digits.")
    ours_runs = [pair[0] for pair in pairs]
    ref_runs = [pair[1] for pair in pairs]
    print(f"\nPyTorch twin: max |logit difference| {logit_gap:.2e} on {len(y)} digits (noise off)")
    print(f"tfadv ran here ({os.cpu_count()} CPU cores, TensorFlow {tf.__version__}); "
          f"the reference on {ref_machine}")  # fmt: skip
    if not args.reference_json:
        steps = args.reference_steps or (100 if args.fra31 else 10)
        print(f"reference settings: {steps} APGD/FAB iterations, " + (
            "fra31's (Square's unrescaled p-schedule)" if args.fra31 else "torchattacks' (--fra31 "
            "for fra31's)"))  # fmt: skip
    print(f"pass counters checked on a hand-written {COUNT_STEPS}-step PGD loop, {COUNT_DIGITS} "
          f"digits; PGD-{COUNT_STEPS} passes per digit (forward, backward): tfadv "
          f"{tf_counts[0]:.1f}, {tf_counts[1]:.1f}" + ("" if torch_counts is None else
          f"; torchattacks {torch_counts[0]:.1f}, {torch_counts[1]:.1f}"))  # fmt: skip
    first = ours_runs[0]
    print(f"tfadv protocol {args.version!r}: variant {first['variant']!r}, randomised model "
          f"{first['randomized']}, EOT {first['eot_iter']}"
          + "".join(f"\n  note: {note}" for note in first["notes"]))  # fmt: skip

    speedups = [ref["seconds"] / ours["seconds"] for ours, ref in pairs]
    median = sorted(range(len(pairs)), key=speedups.__getitem__)[len(pairs) // 2]
    shown = pairs if args.version == "rand" else [pairs[median]]
    names = list(dict.fromkeys([*ours_runs[0]["after"], *ref_runs[0]["after"]]))
    rows = [
        [f"{label} (seed {r['seed']})", pct(r["clean"]),
         *(pct(r["after"][a]) if a in r["after"] else "-" for a in names), pct(r["robust"]),
         f"{r['seconds']:.1f}"]
        for pair in shown
        for label, r in zip((f"tfadv {args.version}", "AutoAttack (torchattacks)"), pair, strict=True)
    ]  # fmt: skip
    print_table(
        f"AutoAttack {args.version}, l-inf eps {EPS}, {len(y)} MNIST test digits (cumulative "
        "accuracy)",
        ["evaluation", "clean", *names, "worst case", "seconds"],
        rows,
    )
    pass_ratios = print_passes(ours_runs, ref_runs, judged_target=args.version == "standard")
    if len(pairs) > 1 and not args.reference_json:
        print(f"\n{len(pairs)} alternating runs (tfadv s / reference s): "
              + ", ".join(f"{o['seconds']:.1f} / {r['seconds']:.1f}" for o, r in pairs))  # fmt: skip
    ours, ref = pairs[median]
    a, b = ours["robust_mask"], ref["robust_mask"]
    agree = float(np.mean(a == b))
    gap = 100 * (ours["robust"] - ref["robust"])
    print(f"per-digit agreement {100 * agree:.1f}% (robust for both {int(np.sum(a & b))}, only "
          f"tfadv {int(np.sum(a & ~b))}, only reference {int(np.sum(~a & b))})"
          + (f", seed {ours['seed']}" if args.version == "rand" else ""))  # fmt: skip
    if args.version == "standard":
        print(f"tfadv worst case minus reference: {gap:+.1f} points (target <= +0.2): "
              f"{'met' if gap <= 0.2 else 'MISSED'}")  # fmt: skip
        rand_above = None
    else:
        rand_above = judge_rand(ours_runs, ref_runs, len(y))
    # a wall-clock ratio only means something when both sides ran here, in this process
    if args.reference_json:
        print("wall-clock ratio: not computed (the reference ran elsewhere, see --reference-json)")
    else:
        print(f"wall-clock ratio reference s / tfadv s: {speedups[median]:.2f}x"
              + (" (median run)" if len(pairs) > 1 else "")
              + " (no target: on this CPU the model's kernels set it)")  # fmt: skip
    if args.json:

        def numbers(r):
            return {**r, "robust_mask": [int(v) for v in r["robust_mask"]]}

        result = {
            "n": len(y), "eps": EPS, "version": args.version, "converter": args.converter,
            "logit_gap": logit_gap, "reference_machine": ref_machine, "seed": args.seed,
            "fra31": args.fra31, "reference_steps": args.reference_steps,
            "counter_check": {"steps": COUNT_STEPS, "digits": COUNT_DIGITS,
                              "tfadv_pgd_per_digit": tf_counts,
                              "torchattacks_pgd_per_digit": torch_counts},
            "tfadv_runs": [numbers(o) for o in ours_runs],
            "reference_runs": [numbers(r) for r in ref_runs],
            "median_run": median, "agreement": agree, "gap_points": gap,
            "pass_ratio": pass_ratios, "rand_points_above_reference": rand_above,
            "wall_clock_ratio": None if args.reference_json else speedups[median],
        }  # fmt: skip
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, default=float)
        print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
