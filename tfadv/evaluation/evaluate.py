"""`evaluate`: robust accuracy under a named protocol, with the sanity checks that qualify it."""

import os
import time

import keras
import numpy as np

from tfadv.attacks.square import Square
from tfadv.evaluation import _checks, _utils, adaptive_checks, sanity_checks
from tfadv.evaluation.loading import load_model
from tfadv.evaluation.protocols import describe_budget, get_protocol
from tfadv.evaluation.robustness_report import RobustnessReport
from tfadv.evaluation.sanity_checks import SanityFlag
from tfadv.evaluation.transfer_attack import TransferAttack
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
    surrogate=None,
    verbose=0,
):
    """Robust accuracy of `model` on `data` under a named protocol, as a `RobustnessReport`.

    Runs the protocol's attacks (`"quick"`: PGD-20 and APGD-CE; `"standard"`, `"plus"`, `"rand"`:
    AutoAttack's versions of those names, each attack on the examples still robust; or a list of
    `tfadv.attacks`), and reports each attack's accuracy and the per-example worst case: an example
    counts as robust only if it is classified correctly and every attack failed on it (`mean_x
    min_a`, not `min_a mean_x`). Per example, the report records which attack broke it first and
    the norm of that attack's perturbation, and it carries a RobustBench-style summary.

    The model may be a path: a `.keras` file, a SavedModel folder (what `tfadv.export` writes;
    gradient attacks run through its serving signature) or an `.onnx` file, run by ONNX Runtime
    without gradients: then only the black-box attacks run (the protocol's Square, or Square with
    5000 queries), plus a `TransferAttack` from `surrogate` when one is given (variant
    `"black-box"`).

    Randomised models (two forward passes on the same input differ by more than 1e-4) are detected
    automatically and attacked with Expectation over Transformation: the protocol's randomised
    variant averages gradients over `eot_iter` draws (AutoAttack's `version="rand"`), and accuracy
    is the majority vote of 10 forward passes. A model whose outputs are softmax probabilities is
    attacked through its log-probabilities.

    With `checks=True` the report carries the sanity flags of `tfadv.evaluation.SANITY_CHECKS`, run
    on the first `check_examples` examples: zero input gradients, accuracy above chance at a radius
    that can turn every image grey, accuracy rising with the radius, accuracy rising with more steps
    and restarts, the black-box attack beating the gradient attacks, probabilities instead of
    logits, randomness, and two adaptive attacks that must not beat the protocol: PGD on
    temperature-scaled logits (Hitaj et al.) and, with a `surrogate`, a transfer attack. They cost
    a few extra, short attacks.

    Threat model: the l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract
    (`tfadv.utils.validation.check_inputs`, checked before any attack runs): images float in
    [0, 1] of the model's input shape (a missing channel axis is refused), integer class ids of
    shape `(N,)` (one-hot labels are refused: pass `np.argmax(y, axis=-1)`), as many labels as
    images; a model returning logits.

    Args:
        model: a `keras.Model` mapping images to logits, a `tfadv.AdvModel` (its classifier is
            evaluated), or a path read by `tfadv.evaluation.load_model`.
        data: a tuple `(x, y)` of arrays, or a `tf.data.Dataset` of `(x, y)` batches.
        eps: float >= 0, the radius. Defaults to `0.3`.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        protocol: `"quick"`, `"standard"`, `"plus"`, `"rand"`, a `tfadv.evaluation.Protocol`, or a
            list of `tfadv.attacks.Attack` (or `(label, attack)` pairs), run at `eps`. Defaults to
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
        surrogate: `None`, a differentiable model (or its path) with the same classes, or
            `"train"` (a small model trained on `data` labelled by the target's predictions): the
            source of the transfer attack. Defaults to `None` (no transfer attack).
        verbose: `0` (silent) or `1` (a progress bar). Defaults to `0`.

    Returns:
        A `tfadv.evaluation.RobustnessReport`.

    Example:

    ```python
    x, y = tfadv.data.load_numpy("embedded_mnist", split="test", limit=1000)
    report = tfadv.evaluation.evaluate(model, (x, y), eps=0.3, norm="linf", protocol="standard")
    print(report)
    report.robust_accuracy, report.flagged, report.summary
    ```

    Reference:
        Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks", ICML 2020; Carlini et al., "On Evaluating Adversarial Robustness",
        arXiv:1902.06705, 2019; Hitaj, Pagnotta, Masi, Mancini, "Evaluating the Robustness of
        Geometry-Aware Instance-Reweighted Adversarial Training", arXiv:2103.01914, 2021.
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
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    model = _utils.unwrap_model(model)
    x, y = _utils.to_numpy(data, limit, model=model)
    gradient_free = bool(getattr(model, "gradient_free", False))

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
    surrogate = adaptive_checks.resolve_surrogate(surrogate, predictor, x, seed=seed)
    attacks = proto.attacks(eps, norm, seed=seed, randomized=randomized, eot_iter=eot_iter)
    variant = proto.variant(randomized)
    if gradient_free:
        attacks, variant = _black_box_attacks(attacks, surrogate, eps, norm, seed), "black-box"
    clean_correct = predictor.correct(x, y)
    robust = clean_correct.copy()
    fooled_by = {}
    broken_by = np.full(len(x), None, dtype=object)
    perturbation = np.full(len(x), np.nan)
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
            first = fooled[batch] & np.array([b is None for b in broken_by[batch]], bool)
            broken_by[batch[first]] = label
            perturbation[batch[first]] = _norms(x_adv - x[batch], norm)[first]
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
                "config": _json_config(attack),
                "accuracy": float(accuracy),
                "seconds": time.time() - attack_started,
                "examples_attacked": int(len(indices)),
            }
        )

    if checks:
        flags += _checks.run_checks(
            model, predictor, x, y, robust, fooled_by, attacks, eps=eps, norm=norm,
            n_check=min(check_examples, n), num_classes=num_classes, randomized=randomized,
            eot_iter=eot_iter, batch_size=batch_size, seed=seed, surrogate=surrogate,
        )  # fmt: skip
    order = list(sanity_checks.SANITY_CHECKS)
    flags.sort(key=lambda f: order.index(f.name))
    per_example = {
        "label": [int(v) for v in y],
        "clean_correct": [bool(v) for v in clean_correct],
        "broken_by": list(broken_by),
        "perturbation_norm": [None if np.isnan(v) else float(v) for v in perturbation],
    }
    return RobustnessReport(
        protocol=proto.name,
        protocol_version=proto.version,
        variant=variant,
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
        per_example=per_example,
    )


def _black_box_attacks(attacks, surrogate, eps, norm, seed):
    """The attacks for a gradient-free model: the protocol's black-box ones (or Square with 5000
    queries), then a transfer attack from `surrogate` when there is one."""
    chosen = [(label, a) for label, a in attacks if getattr(a, "gradient_free", False)]
    if not chosen:
        chosen = [("Square", Square(eps=eps, norm=norm, n_queries=5000, p_init=0.8, seed=seed))]
    if surrogate is not None:
        chosen.append(("Transfer", TransferAttack(surrogate, eps=eps, norm=norm, seed=seed)))
    return chosen


def _norms(delta, norm):
    flat = delta.reshape(len(delta), -1)
    if norm == "linf":
        return np.abs(flat).max(axis=1)
    return np.linalg.norm(flat, axis=1)


def _json_config(attack):
    """The attack's config with non-JSON values (a surrogate model) replaced by their names."""
    plain = (str, int, float, bool, type(None), list, tuple, dict)
    return {
        key: value if isinstance(value, plain) else getattr(value, "name", type(value).__name__)
        for key, value in attack.get_config().items()
    }
