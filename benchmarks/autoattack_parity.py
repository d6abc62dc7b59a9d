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

The table gives, for each side, the accuracy after each attack (cumulative), the worst case and
the seconds, then the per-digit agreement of the robust/broken verdicts and the two targets of the
issue (tfadv's worst case at most 0.2 points above the reference's; tfadv at least 3x faster).
`--json OUT` also writes the numbers. Expect tens of minutes for `--n 1000` on a 2-core CPU; use
`--n 100` for a smoke run.
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

import tfadv  # noqa: E402
import tfadv.evaluation  # noqa: E402
from benchmarks._common import mnist, print_table  # noqa: E402

EPS = 0.3
ATTACKS = ("APGD-CE", "APGD-T", "FAB-T", "Square")


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


def torch_model(model, converter, folder):
    """The PyTorch twin of `model`, taking NCHW batches (what torchattacks' Square assumes)."""
    import torch

    if converter == "onnx2torch":
        import onnx2torch

        path = tfadv.export.to_onnx(model, os.path.join(folder, "model.onnx"))
        body = onnx2torch.convert(path)
    else:
        body = _direct(model)

    class NCHW(torch.nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            out = self.body(x.permute(0, 2, 3, 1))  # the exported graph is channels-last
            return out[0] if isinstance(out, (list, tuple)) else out

    return NCHW(body).eval()


def _direct(model):
    """A channels-last `torch.nn.Sequential` with the Keras weights (plain conv nets only)."""
    import torch

    class ToNCHW(torch.nn.Module):
        def forward(self, x):
            return x.permute(0, 3, 1, 2)

    class ToNHWC(torch.nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1)

    layers, channels_first = [ToNCHW()], True
    for layer in model.layers:
        config = layer.get_config()
        if isinstance(layer, keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2],
                                   stride=config["strides"], padding=config["padding"])  # fmt: skip
            conv.weight.data = torch.tensor(kernel.transpose(3, 2, 0, 1))
            conv.bias.data = torch.tensor(bias)
            layers.append(conv)
        elif isinstance(layer, keras.layers.MaxPooling2D):
            layers.append(torch.nn.MaxPool2d(config["pool_size"], config["strides"]))
        elif isinstance(layer, keras.layers.Flatten):
            layers += [ToNHWC(), torch.nn.Flatten()]  # Keras flattens channels-last
            channels_first = False
        elif isinstance(layer, keras.layers.Dense):
            kernel, bias = layer.get_weights()
            dense = torch.nn.Linear(*kernel.shape)
            dense.weight.data = torch.tensor(kernel.T)
            dense.bias.data = torch.tensor(bias)
            layers.append(dense)
        else:
            raise ValueError(
                "`--converter direct` handles Conv2D, MaxPooling2D, Flatten and Dense layers. "
                f"Received: a {type(layer).__name__} layer; use `--converter onnx2torch`"
            )
        if config.get("activation") == "relu":
            layers.append(torch.nn.ReLU())
        elif config.get("activation") not in (None, "linear"):
            raise ValueError(f"Unsupported activation. Received: {config['activation']!r}")
    if channels_first:
        layers.append(ToNHWC())
    return torch.nn.Sequential(*layers)


def run_reference(net, x, y, batch_size, seed):
    import torch
    import torchattacks

    images = torch.tensor(x.transpose(0, 3, 1, 2))
    labels = torch.tensor(y, dtype=torch.long)
    started = time.perf_counter()

    def predict(batch_images):
        with torch.no_grad():
            return net(batch_images).argmax(1)

    def batched(fn, idx):
        return torch.cat([fn(idx[i : i + batch_size]) for i in range(0, len(idx), batch_size)])

    every = torch.arange(len(y))
    robust = batched(lambda i: predict(images[i]), every) == labels
    clean = robust.float().mean().item()
    auto = torchattacks.AutoAttack(net, norm="Linf", eps=EPS, version="standard", n_classes=10,
                                   seed=seed)  # fmt: skip
    after, attack_seconds = {}, {}
    for name, attack in zip(ATTACKS, auto._autoattack.attacks, strict=True):
        attack_started = time.perf_counter()
        idx = torch.nonzero(robust).flatten()
        if len(idx):
            correct = (
                batched(lambda i, a=attack: predict(a(images[i], labels[i])), idx) == labels[idx]
            )
            robust[idx] = correct
        after[name] = robust.float().mean().item()
        attack_seconds[name] = time.perf_counter() - attack_started
    return {
        "clean": clean,
        "after": after,
        "robust": robust.float().mean().item(),
        "robust_mask": robust.numpy(),
        "seconds": time.perf_counter() - started,
        "attack_seconds": attack_seconds,
    }


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
    args = parser.parse_args(argv)

    import torch

    if args.model:
        model = keras.saving.load_model(args.model)
    else:
        from benchmarks.evaluation import train

        model = train(args.epochs, batch_size=128)
        if args.save:
            model.save(args.save)
    x, y = mnist("test", limit=args.n)

    with tempfile.TemporaryDirectory() as folder:
        net = torch_model(model, args.converter, folder)
    with torch.no_grad():
        torch_logits = net(torch.tensor(x[:256].transpose(0, 3, 1, 2))).numpy()
    logit_gap = float(np.max(np.abs(torch_logits - model(x[:256]).numpy())))
    print(f"PyTorch twin ({args.converter}): max |logit difference| {logit_gap:.2e} on 256 digits")

    ours = run_tfadv(model, x, y, args.batch_size, args.seed)
    ref = run_reference(net, x, y, args.batch_size, args.seed)

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
    speedup = ref["seconds"] / ours["seconds"]
    print(f"\nper-digit agreement {100 * agree:.1f}% (robust for both {int(np.sum(a & b))}, only "
          f"tfadv {int(np.sum(a & ~b))}, only reference {int(np.sum(~a & b))})")  # fmt: skip
    print(f"tfadv worst case minus reference: {gap:+.1f} points (target <= +0.2): "
          f"{'met' if gap <= 0.2 else 'MISSED'}")  # fmt: skip
    print(f"tfadv speed-up: {speedup:.2f}x (target >= 3x): {'met' if speedup >= 3 else 'MISSED'}")
    if args.json:
        drop = ("robust_mask",)
        result = {
            "n": len(y), "eps": EPS, "converter": args.converter, "logit_gap": logit_gap,
            "tfadv": {k: v for k, v in ours.items() if k not in drop},
            "reference": {k: v for k, v in ref.items() if k not in drop},
            "agreement": agree, "gap_points": gap, "speedup": speedup,
        }  # fmt: skip
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
        print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
