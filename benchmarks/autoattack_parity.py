"""tfadv's "standard" protocol versus the reference AutoAttack in PyTorch, on one MNIST model.

Command: `python benchmarks/autoattack_parity.py --n 1000` (PyTorch, torchattacks and onnx2torch:
`pip install -e .[bench]`). Trains the benchmark CNN with PGD adversarial training (as
`benchmarks/evaluation.py` does; `--epochs`, default 4) or loads `--model FILE.keras`, then on the
first `--n` embedded MNIST test digits at l-inf eps 0.3:

- tfadv: `tfadv.evaluation.evaluate(model, ..., protocol="standard")` (APGD-CE, APGD-T, FAB-T,
  Square 5,000, each on the digits still robust; checks off), timed end to end;
- reference: AutoAttack's standard version in PyTorch (torchattacks' port of fra31/auto-attack:
  APGD-CE, APGD-T, FAB-T, Square 5,000 with AutoAttack's settings) on the same digits, run attack
  by attack on the digits still robust, as `MultiAttack` does, so that each attack's share is
  known. The PyTorch model is the deployed artefact: the model is exported with
  `tfadv.export.to_onnx` and converted by onnx2torch (`--converter onnx2torch`, the default), or
  rebuilt layer by layer from the Keras weights (`--converter direct`: Conv2D, MaxPooling2D,
  Flatten and Dense layers only), and its logits are checked against Keras before attacking.

The reference side lives in `benchmarks/autoattack_reference.py` (PyTorch only). To run it on another
machine (one with only PyTorch, a GPU say): `--export-reference DIR` writes the digits, labels, Keras
logits and weights (`--converter direct` nets) to `DIR/reference.npz` and stops; run
`autoattack_reference.py DIR/reference.npz --json REF.json` there; then `--reference-json REF.json` here
runs tfadv alone and reads the reference's verdicts (checked to be on the same digits). `--threads`
sets torch's CPU threads when both sides run here; `--reference-steps 100` gives the reference
fra31/auto-attack's 100 APGD/FAB iterations (torchattacks' `AutoAttack` runs 10).

The table gives, for each side, the accuracy after each attack (cumulative), the worst case and
the seconds, then the per-digit agreement of the robust/broken verdicts and the two targets of the
issue (tfadv's worst case at most 0.2 points above the reference's; tfadv at least 3x faster, given
only when both sides ran here, in this process). `--repeats N` runs the two sides N times,
alternating, checks that each side's verdicts never change, prints every run's seconds and judges
the run with the median speed-up (this 2-core machine's speed drifts by a third between runs).
`--json OUT` also writes the numbers. Expect tens
of minutes for `--n 1000` on a 2-core CPU; use `--n 100` for a smoke run.
"""

import argparse
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
from benchmarks._common import mnist, print_table  # noqa: E402
from benchmarks.autoattack_reference import (  # noqa: E402
    ATTACKS,
    EPS,
    build_direct,
    digits_sha256,
    machine,
    nchw,
    run_reference,
)


def run_tfadv(model, x, y, batch_size, seed):
    started = time.perf_counter()
    report = tfadv.evaluation.evaluate(
        model, (x, y), eps=EPS, norm="linf", protocol="standard", batch_size=batch_size,
        checks=False, seed=seed,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    accuracies = [a["accuracy"] for a in report.attacks]
    return {
        "clean": report.clean_accuracy,
        "after": dict(zip(ATTACKS, accuracies, strict=True)),
        "robust": report.robust_accuracy,
        "robust_mask": report.robust_mask,
        "seconds": seconds,
        "attack_seconds": {a["name"]: a["seconds"] for a in report.attacks},
    }


def layer_spec(model):
    """The layer list of a plain conv net and its weights, for `autoattack_reference.build_direct`."""
    kinds = {keras.layers.Conv2D: "Conv2D", keras.layers.MaxPooling2D: "MaxPooling2D",
             keras.layers.Flatten: "Flatten", keras.layers.Dense: "Dense"}  # fmt: skip
    spec, weights = [], []
    for layer in model.layers:
        kind = next((k for cls, k in kinds.items() if isinstance(layer, cls)), None)
        if kind is None:
            raise ValueError(
                "`--converter direct` handles Conv2D, MaxPooling2D, Flatten and Dense layers. "
                f"Received: a {type(layer).__name__} layer; use `--converter onnx2torch`"
            )
        config = layer.get_config()
        spec.append({
            "kind": kind, "activation": config.get("activation"),
            "strides": config.get("strides"), "padding": config.get("padding"),
            "pool_size": config.get("pool_size"), "weights": len(layer.get_weights()),
        })  # fmt: skip
        weights.append(layer.get_weights())
    return spec, weights


def export_reference(model, x, y, folder):
    """Writes `folder/reference.npz`: digits, labels, Keras logits and the `layer_spec` weights."""
    spec, weights = layer_spec(model)
    os.makedirs(folder, exist_ok=True)
    arrays = {f"w{i}_{j}": w for i, ws in enumerate(weights) for j, w in enumerate(ws)}
    path = os.path.join(folder, "reference.npz")
    np.savez(path, x=x, y=y, keras_logits=model.predict(x, batch_size=250, verbose=0),
             spec=np.array(json.dumps(spec)), **arrays)  # fmt: skip
    return path


def torch_model(model, converter, folder):
    """The PyTorch twin of `model`, taking NCHW batches (what torchattacks' Square assumes)."""
    if converter == "onnx2torch":
        import onnx2torch

        path = tfadv.export.to_onnx(model, os.path.join(folder, "model.onnx"))
        return nchw(onnx2torch.convert(path))  # the exported graph is channels-last
    return nchw(build_direct(*layer_spec(model)))


def read_reference(path, x, y):
    """The reference side from an `autoattack_reference.py --json` file, checked against the digits."""
    with open(path, encoding="utf-8") as f:
        ref = json.load(f)
    if ref["n"] != len(y) or ref["digits_sha256"] != digits_sha256(x, y) or ref["eps"] != EPS:
        raise ValueError(
            f"`--reference-json` was run on other digits or another eps. Received: n={ref['n']}, "
            f"eps={ref['eps']} for {len(y)} digits at eps {EPS}"
        )
    ref["robust_mask"] = np.asarray(ref["robust_mask"], dtype=bool)
    return ref


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="test digits (default 1000)")
    parser.add_argument("--model", default=None, help="a trained .keras model (default: train)")
    parser.add_argument("--save", default=None, help="save the trained model here")
    parser.add_argument("--epochs", type=int, default=4, help="PGD-AT epochs when training")
    parser.add_argument("--batch-size", type=int, default=250, help="attack batch (default 250)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--converter", choices=("onnx2torch", "direct"), default="onnx2torch")
    parser.add_argument("--json", default=None, help="also write the numbers as JSON")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--reference-steps",
        type=int,
        default=None,
        help="the reference's APGD/FAB iterations (default torchattacks' 10)",
    )
    parser.add_argument(
        "--fra31",
        action="store_true",
        help="the reference as fra31/auto-attack's standard version: 100 iterations (unless "
        "--reference-steps) and Square's unrescaled p-schedule",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run both sides this many times, alternating, and judge the median speed-up "
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
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1. Received: --repeats={args.repeats}")

    if args.model:
        model = keras.saving.load_model(args.model)
    else:
        from benchmarks.evaluation import train

        model = train(args.epochs, batch_size=128)
        if args.save:
            model.save(args.save)
    x, y = mnist("test", limit=args.n)
    if args.export_reference:
        print(f"Wrote {export_reference(model, x, y, args.export_reference)} ({len(y)} digits)")
        return

    if args.reference_json:
        ours = run_tfadv(model, x, y, args.batch_size, args.seed)
        ref = read_reference(args.reference_json, x, y)
        logit_gap, ref_machine = ref["logit_gap"], ref["machine"]
    else:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        with tempfile.TemporaryDirectory() as folder:
            net = torch_model(model, args.converter, folder)
        with torch.no_grad():
            torch_logits = net(torch.tensor(x.transpose(0, 3, 1, 2))).numpy()
        logit_gap = float(np.max(np.abs(torch_logits - model.predict(x, verbose=0))))
        ref_machine = machine("cpu")
        pairs = []
        for _ in range(args.repeats):  # alternating, so that both sides see the same machine
            ours = run_tfadv(model, x, y, args.batch_size, args.seed)
            ref = run_reference(
                net, x, y, args.batch_size, args.seed, steps=args.reference_steps, fra31=args.fra31
            )
            pairs.append((ours, ref))
        for side in (0, 1):  # seeded on both sides: every repeat must give the same verdicts
            masks = {np.asarray(pair[side]["robust_mask"]).tobytes() for pair in pairs}
            if len(masks) != 1:
                raise RuntimeError(f"The repeats of side {side} disagree on the robust digits.")
        ratios = [pair[1]["seconds"] / pair[0]["seconds"] for pair in pairs]
        ours, ref = pairs[sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]]
    print(f"PyTorch twin: max |logit difference| {logit_gap:.2e} on {len(y)} digits")
    print(f"tfadv ran here ({os.cpu_count()} CPU cores, TensorFlow {tf.__version__}); "
          f"the reference on {ref_machine}")  # fmt: skip

    def pct(v):
        return f"{100 * v:.1f}%"

    rows = [
        [name, pct(r["clean"]), *(pct(r["after"][a]) for a in ATTACKS), pct(r["robust"]),
         f"{r['seconds']:.1f}"]
        for name, r in (("tfadv standard", ours), ("AutoAttack (torchattacks)", ref))
    ]  # fmt: skip
    print_table(
        f"AutoAttack standard, l-inf eps {EPS}, {len(y)} MNIST test digits (cumulative accuracy)",
        ["evaluation", "clean", *ATTACKS, "worst case", "seconds"],
        rows,
    )
    a, b = ours["robust_mask"], ref["robust_mask"]
    agree = float(np.mean(a == b))
    gap = 100 * (ours["robust"] - ref["robust"])
    # a speed-up only means something when both sides ran on the same machine, in this process
    speedup = None if args.reference_json else ref["seconds"] / ours["seconds"]
    if not args.reference_json and args.repeats > 1:
        print(f"\n{args.repeats} alternating runs (tfadv s / reference s = speed-up): "
              + ", ".join(f"{o['seconds']:.1f} / {r['seconds']:.1f} = {r['seconds'] / o['seconds']:.2f}x"
                          for o, r in pairs)
              + "; the table shows the run with the median speed-up (the upper middle one"
              " for an even count)")  # fmt: skip
    print(f"\nper-digit agreement {100 * agree:.1f}% (robust for both {int(np.sum(a & b))}, only "
          f"tfadv {int(np.sum(a & ~b))}, only reference {int(np.sum(~a & b))})")  # fmt: skip
    print(f"tfadv worst case minus reference: {gap:+.1f} points (target <= +0.2): "
          f"{'met' if gap <= 0.2 else 'MISSED'}")  # fmt: skip
    if speedup is None:
        print("tfadv speed-up: not computed (the reference ran elsewhere, see --reference-json)")
    else:
        print(
            f"tfadv speed-up: {speedup:.2f}x (target >= 3x): {'met' if speedup >= 3 else 'MISSED'}"
        )
    if args.json:

        def numbers(r):
            out = {k: v for k, v in r.items() if k != "robust_mask"}
            return {**out, "robust_mask": [int(v) for v in r["robust_mask"]]}

        result = {
            "n": len(y), "eps": EPS, "converter": args.converter, "logit_gap": logit_gap,
            "reference_machine": ref_machine, "seed": args.seed,
            "tfadv": numbers(ours), "reference": numbers(ref),
            "agreement": agree, "gap_points": gap, "speedup": speedup,
            "runs": [] if args.reference_json else [
                {"tfadv_seconds": o["seconds"], "reference_seconds": r["seconds"],
                 "tfadv_attack_seconds": o["attack_seconds"],
                 "reference_attack_seconds": r["attack_seconds"]} for o, r in pairs
            ],
        }  # fmt: skip
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
        print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
