"""`evaluate`: robust accuracy under a named protocol, with the sanity checks that qualify it."""

import time

import keras
import numpy as np

from tfadv.attacks.apgd import APGD
from tfadv.evaluation import _utils, sanity_checks
from tfadv.evaluation.protocols import describe_budget, get_protocol
from tfadv.evaluation.robustness_report import RobustnessReport
from tfadv.evaluation.sanity_checks import SanityFlag
from tfadv.utils import validation


def evaluate(
    model,
    data,
    *,
    eps=0.3,
    norm="linf",
    protocol="quick",
    batch_size=256,
    limit=None,
    checks=True,
    check_examples=200,
    randomized=None,
    eot_iter=20,
    seed=0,
    verbose=0,
):
    """Robust accuracy of `model` on `data` under a named protocol, as a `RobustnessReport`.

    Runs the protocol's attacks (`"quick"`: PGD-20 and APGD-CE; `"standard"`: AutoAttack's APGD-CE,
    APGD-T and Square, each on the examples still robust; or a list of `tfadv.attacks`), and reports
    each attack's accuracy and the per-example worst case: an example counts as robust only if it is
    classified correctly and every attack failed on it (`mean_x min_a`, not `min_a mean_x`).

    Randomised models (two forward passes on the same input differ by more than 1e-4) are detected
    automatically and attacked with Expectation over Transformation: the protocol's randomised
    variant averages gradients over `eot_iter` draws (AutoAttack's `version="rand"`), and accuracy
    is the majority vote of 10 forward passes. A model whose outputs are softmax probabilities is
    attacked through its log-probabilities.

    With `checks=True` the report carries the sanity flags of `tfadv.evaluation.SANITY_CHECKS`, run
    on the first `check_examples` examples: zero input gradients, accuracy above chance at a radius
    that can turn every image grey, accuracy rising with the radius, accuracy rising with more steps
    and restarts, the black-box attack beating the gradient attacks, probabilities instead of
    logits, and randomness. They cost a few extra, short attacks.

    Threat model: the l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract:
    images in [0, 1], integer labels, a model returning logits.

    Args:
        model: a `keras.Model` mapping images to logits, or a `tfadv.AdvModel` (its classifier is
            evaluated).
        data: a tuple `(x, y)` of arrays, or a `tf.data.Dataset` of `(x, y)` batches.
        eps: float >= 0, the radius. Defaults to `0.3`.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        protocol: `"quick"`, `"standard"`, a `tfadv.evaluation.Protocol`, or a list of
            `tfadv.attacks.Attack` (or `(label, attack)` pairs), run at `eps`. Defaults to
            `"quick"`.
        batch_size: int >= 1, examples per attack batch. Defaults to `256`.
        limit: optional int, evaluate only the first `limit` examples. Defaults to `None`.
        checks: bool, run the sanity checks. Defaults to `True`.
        check_examples: int >= 1, how many examples the checks' extra attacks use. Defaults to
            `200`.
        randomized: `None` to detect randomness, or a bool to force it. Defaults to `None`.
        eot_iter: int >= 1, EOT gradient samples per step against a randomised model. Defaults to
            `20` (AutoAttack).
        seed: int, seed of the attacks' random starts and searches. Defaults to `0`.
        verbose: `0` (silent) or `1` (a progress bar). Defaults to `0`.

    Returns:
        A `tfadv.evaluation.RobustnessReport`.

    Example:

    ```python
    x, y = tfadv.data.load_numpy("embedded_mnist", split="test", limit=1000)
    report = tfadv.evaluation.evaluate(model, (x, y), eps=0.3, norm="linf", protocol="standard")
    print(report)
    report.robust_accuracy, report.flagged
    ```

    Reference:
        Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks", ICML 2020; Carlini et al., "On Evaluating Adversarial Robustness",
        arXiv:1902.06705, 2019.
    """
    started = time.time()
    eps = validation.check_eps(eps)
    norm = validation.check_choice("norm", norm, ("linf", "l2"))
    batch_size = validation.check_steps(batch_size, "batch_size")
    check_examples = validation.check_steps(check_examples, "check_examples")
    eot_iter = validation.check_steps(eot_iter, "eot_iter")
    seed = validation.check_number("seed", seed, minimum=0, integer=True)
    validation.check_choice("verbose", verbose, (0, 1))
    if randomized is not None and not isinstance(randomized, bool):
        raise TypeError(f"`randomized` must be None or a bool. Received: randomized={randomized!r}")
    if limit is not None:
        limit = validation.check_steps(limit, "limit")
    proto = get_protocol(protocol)
    model = _utils.unwrap_model(model)
    x, y = _utils.to_numpy(data, limit)

    flags = []
    # Probabilities instead of logits: attack the log-probabilities, and say so.
    probe = _utils.Predictor(model, batch_size).logits(x[: min(len(x), 256)])
    num_classes = probe.shape[-1]
    validation.check_labels(y, num_classes, "y")
    if sanity_checks.looks_like_probabilities(probe):
        model = _utils.LogProbabilities(model)
        flags.append(SanityFlag("probabilities_not_logits", True, "rows sum to 1"))
    else:
        flags.append(SanityFlag("probabilities_not_logits", False))
    detected = sanity_checks.detect_randomized(model, x)
    if randomized is None:
        randomized = detected
    detail = f"detected: {detected}" + ("" if randomized == detected else ", overridden")
    flags.append(SanityFlag("randomized_model", randomized, detail))

    predictor = _utils.Predictor(model, batch_size, randomized=randomized)
    attacks = proto.attacks(eps, norm, seed=seed, randomized=randomized, eot_iter=eot_iter)
    clean_correct = predictor.correct(x, y)
    robust = clean_correct.copy()
    fooled_by = {}
    rows = []
    n = len(x)
    progress = keras.utils.Progbar(n * len(attacks), unit_name="example") if verbose else None
    done = 0
    for label, attack in attacks:
        attack_started = time.time()
        indices = np.flatnonzero(robust if proto.cascade else clean_correct)
        fooled = np.zeros(n, bool)
        for batch in _utils.batches(indices, batch_size):
            x_adv = attack.run(model, x[batch], y[batch], eps=eps).x_adv.numpy()
            fooled[batch] = ~predictor.correct(x_adv, y[batch])
            done += len(batch)
            if progress is not None:
                progress.update(done)
        done += n - len(indices)
        if progress is not None:
            progress.update(done, [("robust_accuracy", float(np.mean(robust & ~fooled)))])
        fooled_by[label] = fooled
        robust &= ~fooled
        accuracy = robust.mean() if proto.cascade else (clean_correct & ~fooled).mean()
        rows.append(
            {
                "name": label,
                "class": type(attack).__name__,
                "budget": describe_budget(attack),
                "config": attack.get_config(),
                "accuracy": float(accuracy),
                "seconds": time.time() - attack_started,
                "examples_attacked": int(len(indices)),
            }
        )

    if checks:
        flags += _run_checks(
            model, predictor, x, y, robust, fooled_by, attacks, proto, eps=eps, norm=norm,
            n_check=min(check_examples, n), num_classes=num_classes, randomized=randomized,
            eot_iter=eot_iter, batch_size=batch_size, seed=seed,
        )  # fmt: skip
    order = list(sanity_checks.SANITY_CHECKS)
    flags.sort(key=lambda f: order.index(f.name))
    return RobustnessReport(
        protocol=proto.name,
        protocol_version=proto.version,
        variant=proto.variant(randomized),
        eps=eps,
        norm=norm,
        attacks=rows,
        accuracy_kind="cumulative" if proto.cascade else "individual",
        robust_accuracy=float(robust.mean()),
        clean_accuracy=float(clean_correct.mean()),
        n_examples=n,
        flags=flags,
        randomized=randomized,
        eot_iter=eot_iter if randomized else 1,
        votes=predictor.votes if randomized else 1,
        seconds=time.time() - started,
        robust_mask=robust,
    )


def _attack_accuracy(attack, model, predictor, x, y, eps, batch_size):
    correct = np.zeros(len(x), bool)
    for batch in _utils.batches(np.arange(len(x)), batch_size):
        x_adv = attack.run(model, x[batch], y[batch], eps=eps).x_adv.numpy()
        correct[batch] = predictor.correct(x_adv, y[batch])
    return correct


def _run_checks(
    model, predictor, x, y, robust, fooled_by, attacks, proto, *, eps, norm, n_check,
    num_classes, randomized, eot_iter, batch_size, seed,
):  # fmt: skip
    """The sanity checks that need extra work, on the first `n_check` examples."""
    flags = []
    xs, ys = x[:n_check], y[:n_check]
    robust_s = robust[:n_check]
    eot = eot_iter if randomized else 1

    flags.append(sanity_checks.check_zero_gradients(model, xs, ys, batch_size))

    # Accuracy at a radius that reaches the grey image, and monotonicity in the radius.
    # One APGD-CE-10 serves the large radius and the effort check (the radius is a call argument,
    # so it compiles once).
    less = APGD(eps=eps, norm=norm, steps=10, loss="ce", eot_iter=eot, seed=seed)
    big = max(sanity_checks.large_eps(norm, x.shape[1:]), eps)
    big_correct = _attack_accuracy(less, model, predictor, xs, ys, big, batch_size)
    flags.append(sanity_checks.check_above_chance(big_correct.mean(), num_classes, big, n_check))
    if big > eps:
        flags.append(
            sanity_checks.check_monotone([eps, big], [robust_s.mean(), big_correct.mean()], n_check)
        )
    else:
        flags.append(SanityFlag("non_monotone_in_eps", None, "eps is already large"))

    # More steps and restarts must not raise accuracy.
    more = APGD(eps=eps, norm=norm, steps=20, restarts=2, loss="ce", eot_iter=eot, seed=seed + 1)
    less_acc = _attack_accuracy(less, model, predictor, xs, ys, eps, batch_size).mean()
    more_acc = _attack_accuracy(more, model, predictor, xs, ys, eps, batch_size).mean()
    flags.append(
        sanity_checks.check_more_effort(
            less_acc, more_acc, "APGD-CE 10 steps", "APGD-CE 20 steps x 2 restarts", n_check
        )
    )

    # A gradient-free attack must not beat the gradient attacks.
    black = [label for label, attack in attacks if getattr(attack, "gradient_free", False)]
    white = [label for label, attack in attacks if not getattr(attack, "gradient_free", False)]
    if black:
        white_fooled = np.zeros(len(x), bool)
        for label in white:
            white_fooled |= fooled_by[label]
        black_fooled = np.zeros(len(x), bool)
        for label in black:
            black_fooled |= fooled_by[label]
        extra = int(np.sum(black_fooled & ~white_fooled))
        flags.append(sanity_checks.check_black_box(extra, len(x), "+".join(black)))
    else:
        from tfadv.attacks.square import Square

        square = Square(eps=eps, norm=norm, n_queries=300, seed=seed)
        candidates = np.flatnonzero(robust_s)
        extra = 0
        if len(candidates):
            still = _attack_accuracy(
                square, model, predictor, xs[candidates], ys[candidates], eps, batch_size
            )
            extra = int(np.sum(~still))
        flags.append(sanity_checks.check_black_box(extra, n_check, "Square (300 queries)"))
    return flags
