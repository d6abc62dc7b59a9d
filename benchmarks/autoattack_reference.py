"""The reference side of `benchmarks/autoattack_parity.py`: AutoAttack in PyTorch, alone.

This module needs PyTorch, torchattacks and NumPy only (no TensorFlow, no tfadv), so the reference can run
where only PyTorch is installed, e.g. on a GPU machine, from weights and digits exported on the Keras side:

    python benchmarks/autoattack_parity.py --n 1000 --model pgdat4.keras --export-reference ref/
    python benchmarks/autoattack_reference.py ref/reference.npz --device cuda --json ref1000.json
    python benchmarks/autoattack_parity.py --n 1000 --model pgdat4.keras --reference-json ref1000.json

The first command writes the first `--n` embedded MNIST test digits, their labels, the Keras logits and the
weights of a plain conv net (Conv2D, MaxPooling2D, Flatten, Dense and linear/ReLU Activation layers, and a
`tfadv.layers.GaussianNoiseInjection` input layer) to `reference.npz`. This script rebuilds the net layer by
layer in PyTorch (TF32 off, so a GPU computes in float32 as the CPU does), prints its largest logit difference
to Keras (noise off on both sides), and runs torchattacks' port of AutoAttack at l-inf eps 0.3, attack by
attack on the digits still robust, as `MultiAttack` does, so that each attack's share is known: the standard
version (APGD-CE, APGD-T, FAB-T, Square 5,000), or with `--version rand` the version for randomised models
(APGD-CE and APGD-DLR, one restart, gradients averaged over 20 draws: EOT 20). The net is wrapped so that
its forward and backward passes are counted (examples, summed over batches), per attack. `--repeats N` runs
the attacks N times with the seeds `--seed`, `--seed + 1`, ... (a randomised model's spread). `--json`
writes, per run, the accuracies, the seconds, the passes, the per-digit robust mask, and a SHA-256 of the
digits, which the third command checks before comparing. `autoattack_parity.py` without `--reference-json`
calls the same `run_reference` in one process.
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
RAND_ATTACKS = ("APGD-CE", "APGD-DLR")
#: The attacks of each AutoAttack version, in the order they run.
VERSIONS = {"standard": ATTACKS, "rand": RAND_ATTACKS}


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
    """A channels-last `torch.nn.Sequential` from a Keras layer spec and its weights (plain conv nets).

    Kinds: `Conv2D`, `MaxPooling2D`, `Flatten`, `Dense`, `Activation` (each with its `activation`,
    linear or ReLU) and `GaussianNoise` (`stddev`: `tfadv.layers.GaussianNoiseInjection`, on at
    inference).
    """
    import torch  # optional: autoattack_parity.py --reference-json runs without PyTorch

    class ToNCHW(torch.nn.Module):
        def forward(self, x):
            return x.permute(0, 3, 1, 2)

    class ToNHWC(torch.nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1)

    class GaussianNoise(torch.nn.Module):
        """`x + stddev * N(0, 1)`, in eval mode too and unclipped, as `GaussianNoiseInjection`."""

        def __init__(self, stddev):
            super().__init__()
            self.stddev = float(stddev)
            self.noise_active = True  # `set_noise_active` switches it off for the logit check

        def forward(self, x):
            if not self.noise_active or self.stddev == 0.0:
                return x
            return x + self.stddev * torch.randn_like(x)

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
        elif layer["kind"] == "GaussianNoise":
            layers.append(GaussianNoise(layer["stddev"]))
        elif layer["kind"] != "Activation":
            raise ValueError(f"Unsupported layer kind. Received: kind={layer['kind']!r}")
        if layer.get("activation") == "relu":
            layers.append(torch.nn.ReLU())
        elif layer.get("activation") not in (None, "linear"):
            raise ValueError(
                f"Unsupported activation. Received: activation={layer['activation']!r}"
            )
    if channels_first:
        layers.append(ToNHWC())
    return torch.nn.Sequential(*layers)


def set_noise_active(net, active):
    """Switches the `GaussianNoise` modules of a `build_direct` net on or off; returns `net`."""
    for module in net.modules():
        if hasattr(module, "noise_active"):
            module.noise_active = active
    return net


def counting(net):
    """`net` wrapped so that it counts its forward and backward passes, in examples.

    Every call adds its batch size to `forward_passes`; every backward pass through the output (a
    tensor hook on it, so also each of several backward passes from one forward, as FAB's per-class
    gradients make) adds the batch size to `backward_passes`. `passes()` reads both.
    """
    import torch  # optional: autoattack_parity.py --reference-json runs without PyTorch

    class Counting(torch.nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body
            self.forward_passes = 0
            self.backward_passes = 0

        def forward(self, x):
            batch = int(x.shape[0])
            self.forward_passes += batch
            out = self.body(x)
            if out.requires_grad:
                out.register_hook(lambda grad: self._add_backward(batch))
            return out

        def _add_backward(self, batch):
            self.backward_passes += batch

        def passes(self):
            return self.forward_passes, self.backward_passes

    return Counting(net).eval()


def check_counting(net, x, y, steps=5):
    """Counts of a hand-written PGD-`steps` loop (one forward and one backward per step) and of
    torchattacks' `PGD(steps=steps)` on the digits `x`; raises if the loop's are not `steps` each."""
    import torch  # optional: autoattack_parity.py --reference-json runs without PyTorch
    import torchattacks  # optional, as torch

    images = torch.tensor(x.transpose(0, 3, 1, 2))
    labels = torch.tensor(y, dtype=torch.long)
    counted = counting(net)
    x_adv = images.clone()
    for _ in range(steps):
        x_adv.requires_grad_()
        loss = torch.nn.functional.cross_entropy(counted(x_adv), labels)
        (grad,) = torch.autograd.grad(loss, [x_adv])
        x_adv = torch.clamp(x_adv.detach() + 0.01 * grad.sign(), 0.0, 1.0)
    expected = (steps * len(y), steps * len(y))
    if counted.passes() != expected:
        raise RuntimeError(
            f"The PyTorch pass counter is wrong: a {steps}-step loop on {len(y)} digits counted "
            f"(forward, backward) {counted.passes()}, not {expected}"
        )
    counted = counting(net)
    torchattacks.PGD(counted, eps=EPS, alpha=EPS / 4, steps=steps)(images, labels)
    return [p / len(y) for p in counted.passes()]


def nchw(body):
    """Wraps a channels-last network so that it takes NCHW batches (what torchattacks' Square assumes)."""
    import torch  # optional: autoattack_parity.py --reference-json runs without PyTorch

    class NCHW(torch.nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            out = self.body(x.permute(0, 2, 3, 1))
            return out[0] if isinstance(out, (list, tuple)) else out

    return NCHW(body).eval()


def run_reference(
    net, x, y, batch_size, seed, device="cpu", steps=None, fra31=False, version="standard"
):
    """AutoAttack (torchattacks) attack by attack on the digits still robust, timed and counted.

    `version` is `"standard"` (APGD-CE, APGD-T, FAB-T, Square 5,000) or `"rand"` (APGD-CE and
    APGD-DLR, one restart, EOT 20: fra31's `set_version("rand")`). `steps` sets the iterations of
    the APGD and FAB attacks; `None` keeps torchattacks' `AutoAttack` as shipped (10 each), 100 is
    fra31/auto-attack's setting (Square: 5,000 queries in both). `fra31=True` is fra31/auto-attack's
    version exactly: 100 iterations unless `steps` says otherwise, and (standard) Square with
    `resc_schedule=False` (fra31's `autoattack.py`), where torchattacks' `AutoAttack` keeps Square's
    default `resc_schedule=True` (the p-schedule of 10,000 queries squeezed into 5,000: a 28x28
    window side of 1 instead of 2 in the last 1,000 queries).

    Correctness is one forward pass, in the clean check and after each attack, as in fra31's
    `run_standard_evaluation` (for a randomised net, one draw). The global torch seed is set to
    `seed` first, so that a randomised net's draws outside the attacks are seeded too.

    Returns a dict: `clean`, `after` (accuracy after each attack, cumulative), `robust`,
    `robust_mask`, `seconds`, `attack_seconds`, `attacked` (digits each attack ran on), `passes`
    (`[forward, backward]` examples per attack, its verdict pass included) and `clean_passes`.
    """
    if fra31 and steps is None:
        steps = 100
    names = VERSIONS[version]
    import torch  # optional: autoattack_parity.py --reference-json runs without PyTorch
    import torchattacks  # optional, as torch

    torch.manual_seed(seed)
    net = counting(net.to(device))
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
    clean_passes = list(net.passes())
    auto = torchattacks.AutoAttack(net, norm="Linf", eps=EPS, version=version, n_classes=10,
                                   seed=seed)  # fmt: skip
    attacks = auto._autoattack.attacks
    if steps is not None:
        for attack in attacks:
            if hasattr(attack, "steps"):
                attack.steps = steps  # read at run time by APGD, APGDT and FAB
    if fra31 and version == "standard":
        attacks[3].rescale_schedule = False  # read at run time by Square
    after, attack_seconds, attacked, passes = {}, {}, {}, {}
    for name, attack in zip(names, attacks, strict=True):
        attack_started = time.perf_counter()
        before = net.passes()
        idx = torch.nonzero(robust).flatten()
        if len(idx):
            correct = (
                batched(lambda i, a=attack: predict(a(images[i], labels[i])), idx) == labels[idx]
            )
            robust[idx] = correct
        after[name] = robust.float().mean().item()  # .item() waits for the device
        attack_seconds[name] = time.perf_counter() - attack_started
        attacked[name] = len(idx)
        passes[name] = [now - then for now, then in zip(net.passes(), before, strict=True)]
    return {
        "clean": clean,
        "after": after,
        "robust": robust.float().mean().item(),
        "robust_mask": robust.cpu().numpy(),
        "seconds": time.perf_counter() - started,
        "attack_seconds": attack_seconds,
        "attacked": attacked,
        "passes": passes,
        "clean_passes": clean_passes,
    }


def machine(device):
    """A one-line description of where the reference ran."""
    import torch  # optional: autoattack_parity.py --reference-json runs without PyTorch
    import torchattacks  # optional, as torch

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
        "--version",
        choices=tuple(VERSIONS),
        default="standard",
        help="AutoAttack's version: standard, or rand (APGD-CE, APGD-DLR with EOT 20)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="runs, with seeds --seed, --seed + 1, ... (default 1)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="APGD/FAB iterations (default: torchattacks' 10; fra31: 100)",
    )
    parser.add_argument(
        "--fra31",
        action="store_true",
        help="fra31/auto-attack's version exactly: 100 iterations (unless --steps) and (standard) "
        "Square without torchattacks' rescaled p-schedule",
    )
    parser.add_argument("--json", default=None, help="write the numbers and the robust mask here")
    args = parser.parse_args(argv)
    for name in ("n", "threads", "batch_size", "repeats", "steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1. Received: {value}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0. Received: {args.seed}")

    import torch  # optional for autoattack_parity.py, which imports this module

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    x, y, spec, weights, keras_logits = load_exported(args.data)
    x, y, keras_logits = x[: args.n], y[: args.n], keras_logits[: args.n]
    net = nchw(build_direct(spec, weights)).to(args.device)
    with torch.no_grad():  # noise off, as for the exported Keras logits
        images = torch.tensor(x.transpose(0, 3, 1, 2), device=args.device)
        logits = set_noise_active(net, False)(images).cpu().numpy()
    set_noise_active(net, True)
    logit_gap = float(np.max(np.abs(logits - keras_logits)))
    where = machine(args.device)
    print(f"PyTorch twin on {where}: max |logit difference| {logit_gap:.2e} on {len(y)} digits")

    runs = []
    for repeat in range(args.repeats):
        seed = args.seed + repeat
        ref = run_reference(
            net, x, y, args.batch_size, seed, args.device, args.steps, args.fra31, args.version
        )
        runs.append({**ref, "seed": seed})
        print(f"AutoAttack {args.version} (torchattacks), l-inf eps {EPS}, {len(y)} digits, seed "
              f"{seed}: clean {100 * ref['clean']:.1f}%, " + ", ".join(
                  f"{a} {100 * ref['after'][a]:.1f}% ({ref['attack_seconds'][a]:.1f} s, "
                  f"{sum(ref['passes'][a]) / max(ref['attacked'][a], 1):.0f} passes/digit)"
                  for a in VERSIONS[args.version])
              + f"; worst case {100 * ref['robust']:.1f}%, {ref['seconds']:.1f} s")  # fmt: skip
    if args.json:

        def plain(run):
            return {**run, "robust_mask": [int(v) for v in run["robust_mask"]]}

        result = plain(runs[0])  # the first run at the top level, as before `--repeats`
        result.update(
            n=len(y), eps=EPS, seed=args.seed, batch_size=args.batch_size, device=args.device,
            steps=args.steps or (100 if args.fra31 else 10), fra31=args.fra31,
            version=args.version, machine=where, logit_gap=logit_gap,
            digits_sha256=digits_sha256(x, y), runs=[plain(run) for run in runs],
        )  # fmt: skip
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
        print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
