"""tfadv on each Keras backend, side by side, against each backend's own hand-written loop.

For every backend asked for (each in a process of its own: Keras fixes its backend when it loads),
on the same weights and digits (the benchmark CNN of `_common.small_cnn`, seeded; embedded MNIST):

- one PGD-10 adversarial-training epoch through `tfadv.methods.PGDAT.fit`, and the same epoch as a
  hand-written loop of that backend (TensorFlow: a `tf.function` step with `GradientTape`s; JAX: a
  `jax.jit` stateless step with `jax.grad`; PyTorch: an eager loop with `torch.autograd`);
- one PGD-50 run of `tfadv.attacks.PGD`, and a hand-written PGD-50 of that backend;
- one `"standard"` evaluation (`tfadv.evaluation.evaluate`), where the backend has the protocol's
  attacks.

The ratio tfadv / hand-written is the number that holds across machines (the K+1-pass limit of
PGD-K AT: tfadv adds no model pass). Absolute seconds hold only for the machine that measured them;
on a CPU, XLA's CPU backend makes JAX several times slower than TensorFlow for convolutions.

Usage:

    python benchmarks/backends.py                      # tensorflow and jax
    python benchmarks/backends.py --backends tensorflow,jax,torch --json out.json
    python benchmarks/backends.py --loop-study         # JAX: lax.fori_loop against unrolled PGD-10
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EPS, STEP, AT_STEPS, PGD_STEPS = 0.3, 0.05, 10, 50


def _parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--train", type=int, default=1000, help="training digits of the AT epoch")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--n", type=int, default=500, help="test digits of PGD-50")
    parser.add_argument("--standard", type=int, default=100, help="test digits of 'standard'")
    parser.add_argument("--json", help="also write the numbers as JSON")
    parser.add_argument("--loop-study", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one backend's process
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------ one backend's worker
def _timed(fn, repeats=1):
    """Seconds of the fastest of `repeats` calls after one warm-up call (compilation)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _hand_written(backend, model, eps, step, steps):
    """`(pgd(x, y) -> x_adv, at_epoch(x, y, batch))` written the way a user of `backend` would."""
    import keras
    import numpy as np
    from _common import hand_written_pgd

    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.SGD(0.01)
    optimizer.build(model.trainable_variables)
    if backend == "tensorflow":
        import tensorflow as tf

        pgd_at, pgd_eval = hand_written_pgd(eps, step, AT_STEPS), hand_written_pgd(eps, step, steps)

        @tf.function
        def train_step(x, y):
            x_adv = pgd_at(model, x, y)
            with tf.GradientTape() as tape:
                loss = ce(y, model(x_adv, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))

        def epoch(x, y, batch):
            for i in range(0, len(x), batch):
                train_step(tf.constant(x[i : i + batch]), tf.constant(y[i : i + batch]))

        return lambda x, y: pgd_eval(model, tf.constant(x), tf.constant(y)).numpy(), epoch
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def logits(tv, ntv, x, training=False):
            return model.stateless_call(tv, ntv, x, training=training)

        def attack(tv, ntv, x, y, key, k):
            def loss(z):
                return ce(y, logits(tv, ntv, z)[0]) * x.shape[0]

            x_adv = jnp.clip(x + jax.random.uniform(key, x.shape, minval=-eps, maxval=eps), 0, 1)
            for _ in range(k):  # unrolled, as a JAX user writes a short loop under jit
                x_adv = x_adv + step * jnp.sign(jax.grad(loss)(x_adv))
                x_adv = jnp.clip(jnp.clip(x_adv, x - eps, x + eps), 0.0, 1.0)
            return x_adv

        pgd_jit = jax.jit(lambda tv, ntv, x, y, key: attack(tv, ntv, x, y, key, steps))

        @jax.jit
        def train_step(state, x, y, key):
            tv, ntv, ov = state
            x_adv = attack(tv, ntv, x, y, key, AT_STEPS)

            def loss(tv):
                out, new_ntv = logits(tv, ntv, x_adv, training=True)
                return ce(y, out), new_ntv

            (_, ntv), grads = jax.value_and_grad(loss, has_aux=True)(tv)
            tv, ov = optimizer.stateless_apply(ov, grads, tv)
            return tv, ntv, ov

        def state():
            return (
                [v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables],
                [v.value for v in optimizer.variables],
            )

        def pgd(x, y):
            s = state()
            return np.asarray(pgd_jit(s[0], s[1], x, y, jax.random.PRNGKey(0)))

        def epoch(x, y, batch):
            s, key = state(), jax.random.PRNGKey(1)
            for i in range(0, len(x), batch):
                key, sub = jax.random.split(key)
                s = train_step(s, x[i : i + batch], y[i : i + batch], sub)
            jax.block_until_ready(s)

        return pgd, epoch
    import torch

    def attack_torch(x, y, k):
        x_adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(k):
            x_adv.requires_grad_(True)
            loss = ce(y, model(x_adv, training=False)) * x.shape[0]
            (grad,) = torch.autograd.grad(loss, x_adv)
            x_adv = x_adv.detach() + step * grad.sign()
            x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
        return x_adv.detach()

    def pgd(x, y):
        return attack_torch(torch.as_tensor(x), torch.as_tensor(y), steps).numpy()

    def epoch(x, y, batch):
        for i in range(0, len(x), batch):
            xb, yb = torch.as_tensor(x[i : i + batch]), torch.as_tensor(y[i : i + batch])
            x_adv = attack_torch(xb, yb, AT_STEPS)
            model.zero_grad()
            ce(yb, model(x_adv, training=True)).backward()
            with torch.no_grad():
                optimizer.apply([v.value.grad for v in model.trainable_variables],
                                model.trainable_variables)  # fmt: skip

    return pgd, epoch


def worker(args):
    import keras
    import numpy as np

    sys.path.insert(0, HERE)
    from _common import mnist, small_cnn

    import tfadv

    backend = keras.backend.backend()
    weights = np.load(args.weights)
    initial = [weights[f"w{i}"] for i in range(len(weights.files))]
    x_train, y_train = mnist("train", args.train)
    x_test, y_test = mnist("test", max(args.n, args.standard))

    def fresh_model():
        model = small_cnn()
        model.set_weights(initial)
        return model

    result = {"backend": backend}
    model = fresh_model()
    hand_pgd, hand_epoch = _hand_written(backend, model, EPS, STEP, PGD_STEPS)
    attack = tfadv.attacks.PGD(eps=EPS, step_size=STEP, steps=PGD_STEPS)
    x, y = x_test[: args.n], y_test[: args.n]
    result["pgd50_tfadv_s"] = _timed(lambda: keras.ops.convert_to_numpy(attack(model, x, y)))
    result["pgd50_hand_s"] = _timed(lambda: hand_pgd(x, y))
    x_adv = keras.ops.convert_to_numpy(attack(model, x, y))
    predictions = keras.ops.convert_to_numpy(model(x_adv)).argmax(axis=1)
    result["pgd50_accuracy"] = float(np.mean(predictions == y))

    result["at_epoch_hand_s"] = _timed(lambda: hand_epoch(x_train, y_train, args.batch))
    adv_model = tfadv.methods.PGDAT(
        fresh_model(), attack=tfadv.attacks.PGD(eps=EPS, step_size=STEP, steps=AT_STEPS)
    )
    adv_model.compile(optimizer=keras.optimizers.SGD(0.01))
    fit = lambda: adv_model.fit(x_train, y_train, batch_size=args.batch, epochs=1, verbose=0)
    result["at_epoch_tfadv_s"] = _timed(fit)

    try:
        model = fresh_model()
        start = time.perf_counter()
        report = tfadv.evaluation.evaluate(
            model, (x_test[: args.standard], y_test[: args.standard]), eps=EPS,
            protocol="standard", seed=0, checks=False,
        )  # fmt: skip
        result["standard_s"] = time.perf_counter() - start
        result["standard_robust_accuracy"] = float(report.robust_accuracy)
    except ValueError as error:  # an attack of the protocol not written for this backend
        result["standard_s"] = None
        result["standard_note"] = str(error).split(". Received")[0]
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f)


# --------------------------------------------------------------------------------- the loop study
def loop_study():
    """JAX on a CPU: PGD-10 as `lax.fori_loop`, with `unroll=5`, and fully unrolled."""
    os.environ["KERAS_BACKEND"] = "jax"
    import jax
    import jax.numpy as jnp
    import keras

    sys.path.insert(0, HERE)
    from _common import mnist, small_cnn

    model = small_cnn()
    x, y = mnist("train", 100)
    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    grad = jax.grad(lambda z: ce(y, model.stateless_call(tv, ntv, z)[0]))

    def step(_, x_adv):
        x_adv = x_adv + STEP * jnp.sign(grad(x_adv))
        return jnp.clip(jnp.clip(x_adv, x - EPS, x + EPS), 0.0, 1.0)

    rows = []
    for label, unroll in (("lax.fori_loop", 1), ("fori_loop unroll=5", 5), ("unrolled", True)):
        fn = jax.jit(lambda x0, unroll=unroll: jax.lax.fori_loop(0, 10, step, x0, unroll=unroll))
        seconds = _timed(lambda fn=fn: jax.block_until_ready(fn(x)), repeats=3)
        rows.append((label, f"{seconds:.2f}"))
    from _common import print_table

    print_table(f"PGD-10, 100 digits, JAX {jax.__version__} on {jax.default_backend()}",
                ("loop", "seconds"), rows)  # fmt: skip


# ------------------------------------------------------------------------------------------ driver
def main(argv=None):
    args = _parse(argv)
    if args.worker:
        return worker(args)
    if args.loop_study:
        return loop_study()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, HERE)
    import numpy as np
    from _common import print_table, small_cnn

    folder = tempfile.mkdtemp(prefix="tfadv_backends_")
    weights_path = os.path.join(folder, "weights.npz")
    weights = small_cnn().get_weights()
    np.savez(weights_path, **{f"w{i}": w for i, w in enumerate(weights)})
    results = []
    for backend in args.backends.split(","):
        out = os.path.join(folder, f"{backend}.json")
        command = [sys.executable, os.path.abspath(__file__), "--worker", backend,
                   "--weights", weights_path, "--out", out, "--train", str(args.train),
                   "--batch", str(args.batch), "--n", str(args.n),
                   "--standard", str(args.standard)]  # fmt: skip
        env = dict(os.environ, KERAS_BACKEND=backend)
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{backend}: failed\n{done.stderr[-3000:]}")
            continue
        with open(out, encoding="utf-8") as f:
            results.append(json.load(f))

    def ratio(a, b):
        return f"{a / b:.2f}" if a and b else "n/a"

    rows = []
    for r in results:
        standard = f"{r['standard_s']:.1f}" if r["standard_s"] is not None else "n/a"
        rows.append((
            r["backend"],
            f"{r['at_epoch_tfadv_s']:.1f}", f"{r['at_epoch_hand_s']:.1f}",
            ratio(r["at_epoch_tfadv_s"], r["at_epoch_hand_s"]),
            f"{r['pgd50_tfadv_s']:.2f}", f"{r['pgd50_hand_s']:.2f}",
            ratio(r["pgd50_tfadv_s"], r["pgd50_hand_s"]),
            f"{100 * r['pgd50_accuracy']:.1f}%", standard,
        ))  # fmt: skip
    print_table(
        f"One run: PGD-10 AT epoch ({args.train} digits, batch {args.batch}), PGD-50 "
        f"({args.n} digits), 'standard' ({args.standard} digits); seconds after compilation",
        ("backend", "AT tfadv", "AT hand", "ratio", "PGD-50 tfadv", "PGD-50 hand", "ratio",
         "PGD-50 acc", "standard"),
        rows,
    )  # fmt: skip
    for r in results:
        if r.get("standard_note"):
            print(f"{r['backend']}: 'standard' not run: {r['standard_note']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
