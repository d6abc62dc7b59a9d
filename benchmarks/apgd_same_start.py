"""tfadv's APGD against fra31/auto-attack's own APGD, run from the same starting points.

The AutoAttack parity benchmark (`benchmarks/autoattack_parity.py`) compares whole evaluations, whose
random starts differ between the two sides, so a gap of a few tenths of a point can be chance or a
difference in the algorithm. This benchmark removes the chance: it draws one random start per digit
(APGD's, a uniform point of the l-inf sphere of radius eps, clipped to [0, 1]), gives the same
start to tfadv's `APGD` and to fra31's `APGDAttack.attack_single_run(x, y, x_init=...)`, runs one
100-iteration run of each on the same weights (the PyTorch twin is rebuilt layer by layer, as in
`autoattack_reference.build_direct`), and prints, per loss (`ce`, `dlr`), how many digits each
breaks and on how many digits their verdicts disagree. Identical algorithms can still drift apart
on a few digits: a gradient entry near zero can get a different sign in the two frameworks' float32
arithmetic, and APGD's path then diverges. fra31's code is not a dependency of tfadv: pass a
checkout of github.com/fra31/auto-attack with `--fra31-path` (PyTorch from the `bench` extra).

Command:

    python benchmarks/apgd_same_start.py --fra31-path ../auto-attack --n 1000 [--model FILE.keras]

Without `--model` it trains the benchmark CNN for 4 epochs of PGD-AT (the model of the parity
benchmark: `benchmarks/evaluation.py`'s `train(4, 128)`).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfadv  # noqa: E402
from benchmarks._common import mnist, print_table  # noqa: E402
from benchmarks.autoattack_parity import layer_spec  # noqa: E402
from benchmarks.autoattack_reference import build_direct  # noqa: E402


class FixedStart(tfadv.attacks.LinfBall):
    """The l-inf ball whose APGD start is a given array (the benchmark's shared starting points)."""

    def __init__(self, start):
        self.start = tf.constant(start)

    def random_boundary_start(self, x, eps, seed=None):
        return self.start


def linf_sphere_starts(x, eps, seed):
    """APGD's start for each digit: `x + eps * t / ||t||_inf`, `t` uniform in [-1, 1], in [0, 1]."""
    t = np.random.default_rng(seed).uniform(-1.0, 1.0, size=x.shape).astype(np.float32)
    scale = np.abs(t.reshape(len(x), -1)).max(axis=1).reshape(-1, *([1] * (x.ndim - 1)))
    return np.clip(x + eps * t / scale, 0.0, 1.0).astype(np.float32)


def run_tfadv(model, x, y, starts, eps, loss, steps):
    attack = tfadv.attacks.APGD(eps=eps, steps=steps, loss=loss)
    attack.threat_model = FixedStart(starts)
    run = tf.function(
        lambda: attack._single_run(
            model, tf.constant(x), tf.constant(y), tf.constant(eps), None, None
        )
    )
    started = time.perf_counter()
    _, _, fooled, _, _ = run()
    return fooled.numpy(), time.perf_counter() - started


def run_fra31(net, x, y, starts, eps, loss, steps):
    import torch
    from autoattack.autopgd_base import APGDAttack

    attack = APGDAttack(net, n_iter=steps, norm="Linf", eps=eps, loss=loss, device="cpu")
    xt, yt = torch.tensor(x), torch.tensor(y.astype(np.int64))
    attack.init_hyperparam(xt)
    started = time.perf_counter()
    _, robust, _, _ = attack.attack_single_run(xt, yt, x_init=torch.tensor(starts))
    return ~robust.bool().numpy(), time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fra31-path", required=True, help="a checkout of fra31/auto-attack")
    parser.add_argument("--n", type=int, default=1000, help="test digits (default 1000)")
    parser.add_argument("--model", default=None, help="a trained .keras model (default: train)")
    parser.add_argument("--eps", type=float, default=0.3)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="seed of the shared starting points")
    parser.add_argument("--losses", default="ce,dlr")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.fra31_path, "autoattack", "autopgd_base.py")):
        parser.error(
            "--fra31-path must be a checkout of fra31/auto-attack (with autoattack/autopgd_base.py). "
            f"Received: --fra31-path={args.fra31_path}"
        )
    sys.path.insert(0, os.path.abspath(args.fra31_path))
    import torch

    torch.set_num_threads(os.cpu_count())
    if args.model:
        model = keras.models.load_model(args.model)
    else:
        from benchmarks.evaluation import train

        model = train(4, 128)
    x, y = mnist("test", limit=args.n)
    x, y = x.astype(np.float32), y.astype(np.int32)
    net = build_direct(*layer_spec(model)).eval()
    with torch.no_grad():
        gap = np.abs(net(torch.tensor(x[:250])).numpy() - model.predict(x[:250], verbose=0)).max()
    starts = linf_sphere_starts(x, args.eps, args.seed)

    rows = []
    for loss in args.losses.split(","):
        ours, ours_s = run_tfadv(model, x, y, starts, args.eps, loss, args.steps)
        ref, ref_s = run_fra31(net, x, y, starts, args.eps, loss, args.steps)
        rows.append([
            f"APGD-{loss.upper()}", int(ours.sum()), int(ref.sum()), int((ours & ~ref).sum()),
            int((ref & ~ours).sum()), f"{ours_s:.1f}", f"{ref_s:.1f}",
        ])  # fmt: skip
    print_table(
        f"One {args.steps}-iteration APGD run per digit from the same start, {len(y)} embedded MNIST "
        f"test digits, l-inf eps {args.eps} (largest logit difference of the PyTorch twin: {gap:.2e})",
        [
            "attack",
            "broken: tfadv",
            "broken: fra31",
            "tfadv only",
            "fra31 only",
            "tfadv s",
            "fra31 s",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
