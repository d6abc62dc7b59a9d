"""The reference side of `benchmarks/autoattack_parity.py`: AutoAttack standard in PyTorch, alone.

This module needs PyTorch, torchattacks and NumPy only (no TensorFlow, no tfadv), so the reference can run
where only PyTorch is installed, e.g. on a GPU machine, from weights and digits exported on the Keras side:

    python benchmarks/autoattack_parity.py --n 1000 --model pgdat4.keras --export-reference ref/
    python benchmarks/autoattack_reference.py ref/reference.npz --device cuda --json ref1000.json
    python benchmarks/autoattack_parity.py --n 1000 --model pgdat4.keras --reference-json ref1000.json

The first command writes the first `--n` embedded MNIST test digits, their labels, the Keras logits and the
weights of a plain conv net (Conv2D, MaxPooling2D, Flatten and Dense layers) to `reference.npz`. This
script rebuilds the net layer by layer in PyTorch (TF32 off, so a GPU computes in float32 as the CPU does),
prints its largest logit difference to Keras, and runs torchattacks' port of AutoAttack's standard version
(APGD-CE, APGD-T, FAB-T, Square 5,000) at l-inf eps 0.3, attack by attack on the digits still robust, as
`MultiAttack` does, so that each attack's share is known. `--json` writes the accuracies, the seconds, the
per-digit robust mask and a SHA-256 of the digits, which the third command checks before comparing.
`autoattack_parity.py` without `--reference-json` calls the same `run_reference` in one process.
"""

import argparse
import hashlib
import json
import os
import platform
import time

import numpy as np

EPS = 0.3
ATTACKS = ("APGD-CE", "APGD-T", "FAB-T", "Square")


def digits_sha256(x, y):
    """A fingerprint of the digits and labels, so that both sides can check they attacked the same."""
    digest = hashlib.sha256(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return digest.hexdigest()


def load_exported(path):
    """`(x, y, spec, weights, keras_logits)` from a `reference.npz` written by `--export-reference`."""
    with np.load(path, allow_pickle=False) as data:
        spec = json.loads(str(data["spec"]))
        weights = [[data[f"w{i}_{j}"] for j in range(s["weights"])] for i, s in enumerate(spec)]
        return data["x"], data["y"], spec, weights, data["keras_logits"]


def build_direct(spec, weights):
    """A channels-last `torch.nn.Sequential` from a Keras layer spec and its weights (plain conv nets)."""
    import torch

    class ToNCHW(torch.nn.Module):
        def forward(self, x):
            return x.permute(0, 3, 1, 2)

    class ToNHWC(torch.nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1)

    layers, channels_first = [ToNCHW()], True
    for layer, arrays in zip(spec, weights, strict=True):
        if layer["kind"] == "Conv2D":
            kernel, bias = arrays
            conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2],
                                   stride=layer["strides"], padding=layer["padding"])  # fmt: skip
            conv.weight.data = torch.tensor(kernel.transpose(3, 2, 0, 1))
            conv.bias.data = torch.tensor(bias)
            layers.append(conv)
        elif layer["kind"] == "MaxPooling2D":
            layers.append(torch.nn.MaxPool2d(layer["pool_size"], layer["strides"]))
        elif layer["kind"] == "Flatten":
            layers += [ToNHWC(), torch.nn.Flatten()]  # Keras flattens channels-last
            channels_first = False
        elif layer["kind"] == "Dense":
            kernel, bias = arrays
            dense = torch.nn.Linear(*kernel.shape)
            dense.weight.data = torch.tensor(kernel.T)
            dense.bias.data = torch.tensor(bias)
            layers.append(dense)
        else:
            raise ValueError(f"Unsupported layer kind. Received: kind={layer['kind']!r}")
        if layer["activation"] == "relu":
            layers.append(torch.nn.ReLU())
        elif layer["activation"] not in (None, "linear"):
            raise ValueError(
                f"Unsupported activation. Received: activation={layer['activation']!r}"
            )
    if channels_first:
        layers.append(ToNHWC())
    return torch.nn.Sequential(*layers)


def nchw(body):
    """Wraps a channels-last network so that it takes NCHW batches (what torchattacks' Square assumes)."""
    import torch

    class NCHW(torch.nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            out = self.body(x.permute(0, 2, 3, 1))
            return out[0] if isinstance(out, (list, tuple)) else out

    return NCHW(body).eval()


def run_reference(net, x, y, batch_size, seed, device="cpu", steps=None, fra31=False):
    """AutoAttack standard (torchattacks) attack by attack on the digits still robust, timed.

    `steps` sets the iterations of APGD-CE, APGD-T and FAB-T; `None` keeps torchattacks' `AutoAttack`
    as shipped (10 each), 100 is fra31/auto-attack's standard setting (Square: 5,000 queries in both).
    `fra31=True` is fra31/auto-attack's standard version exactly: 100 iterations unless `steps` says
    otherwise, and Square with `resc_schedule=False` (fra31's `autoattack.py`), where torchattacks'
    `AutoAttack` keeps Square's default `resc_schedule=True` (the p-schedule of 10,000 queries
    squeezed into 5,000: a 28x28 window side of 1 instead of 2 in the last 1,000 queries).
    """
    if fra31 and steps is None:
        steps = 100
    import torch
    import torchattacks

    net = net.to(device)
    images = torch.tensor(x.transpose(0, 3, 1, 2), device=device)
    labels = torch.tensor(y, dtype=torch.long, device=device)
    started = time.perf_counter()

    def predict(batch_images):
        with torch.no_grad():
            return net(batch_images).argmax(1)

    def batched(fn, idx):
        return torch.cat([fn(idx[i : i + batch_size]) for i in range(0, len(idx), batch_size)])

    every = torch.arange(len(y), device=device)
    robust = batched(lambda i: predict(images[i]), every) == labels
    clean = robust.float().mean().item()
    auto = torchattacks.AutoAttack(net, norm="Linf", eps=EPS, version="standard", n_classes=10,
                                   seed=seed)  # fmt: skip
    if steps is not None:
        for attack in auto._autoattack.attacks[:3]:
            attack.steps = steps  # read at run time by APGD, APGDT and FAB
    if fra31:
        auto._autoattack.attacks[3].rescale_schedule = False  # read at run time by Square
    after, attack_seconds = {}, {}
    for name, attack in zip(ATTACKS, auto._autoattack.attacks, strict=True):
        attack_started = time.perf_counter()
        idx = torch.nonzero(robust).flatten()
        if len(idx):
            correct = (
                batched(lambda i, a=attack: predict(a(images[i], labels[i])), idx) == labels[idx]
            )
            robust[idx] = correct
        after[name] = robust.float().mean().item()  # .item() waits for the device
        attack_seconds[name] = time.perf_counter() - attack_started
    return {
        "clean": clean,
        "after": after,
        "robust": robust.float().mean().item(),
        "robust_mask": robust.cpu().numpy(),
        "seconds": time.perf_counter() - started,
        "attack_seconds": attack_seconds,
    }


def machine(device):
    """A one-line description of where the reference ran."""
    import torch
    import torchattacks

    where = (
        torch.cuda.get_device_name(0)
        if device.startswith("cuda")
        else f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores, "
        f"torch threads {torch.get_num_threads()}"
    )
    return f"{where}; torch {torch.__version__}, torchattacks {torchattacks.__version__}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", help="reference.npz written by autoattack_parity.py --export-reference"
    )
    parser.add_argument("--n", type=int, default=None, help="only the first N digits (default all)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--batch-size", type=int, default=250, help="attack batch (default 250)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="APGD-CE/APGD-T/FAB-T iterations (default: torchattacks' 10; fra31: 100)",
    )
    parser.add_argument(
        "--fra31",
        action="store_true",
        help="fra31/auto-attack's standard version exactly: 100 iterations (unless --steps) and "
        "Square without torchattacks' rescaled p-schedule",
    )
    parser.add_argument("--json", default=None, help="write the numbers and the robust mask here")
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    x, y, spec, weights, keras_logits = load_exported(args.data)
    x, y, keras_logits = x[: args.n], y[: args.n], keras_logits[: args.n]
    net = nchw(build_direct(spec, weights)).to(args.device)
    with torch.no_grad():
        logits = net(torch.tensor(x.transpose(0, 3, 1, 2), device=args.device)).cpu().numpy()
    logit_gap = float(np.max(np.abs(logits - keras_logits)))
    where = machine(args.device)
    print(f"PyTorch twin on {where}: max |logit difference| {logit_gap:.2e} on {len(y)} digits")

    ref = run_reference(
        net, x, y, args.batch_size, args.seed, args.device, args.steps, fra31=args.fra31
    )
    print(f"AutoAttack standard (torchattacks), l-inf eps {EPS}, {len(y)} digits: clean "
          f"{100 * ref['clean']:.1f}%, " + ", ".join(
              f"{a} {100 * ref['after'][a]:.1f}% ({ref['attack_seconds'][a]:.1f} s)" for a in ATTACKS)
          + f"; worst case {100 * ref['robust']:.1f}%, {ref['seconds']:.1f} s")  # fmt: skip
    if args.json:
        result = {k: v for k, v in ref.items() if k != "robust_mask"}
        result.update(
            n=len(y), eps=EPS, seed=args.seed, batch_size=args.batch_size, device=args.device,
            steps=args.steps or (100 if args.fra31 else 10), fra31=args.fra31,
            machine=where, logit_gap=logit_gap, digits_sha256=digits_sha256(x, y),
            robust_mask=[int(v) for v in ref["robust_mask"]],
        )  # fmt: skip
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
        print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
