"""`evaluate`: robust accuracy under a named protocol, with the sanity checks that qualify it."""

import os
import time

import keras
import numpy as np

from tfadv import backend
from tfadv.attacks.square import Square
from tfadv.evaluation import _checks, _utils, adaptive_checks, distributed, sanity_checks
from tfadv.evaluation.loading import load_model
from tfadv.evaluation.protocols import describe_budget, get_protocol
from tfadv.evaluation.robustness_report import RobustnessReport, SmoothedAccuracy
from tfadv.evaluation.sanity_checks import SanityFlag
from tfadv.evaluation.transfer_attack import TransferAttack
from tfadv.utils import validation


@distributed.under_keras_distribution
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
    smoothed_draws=None,
    strategy=None,
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

    Randomised models (two forward passes on the same input differ by more than 1e-4, or
    `randomized=True`) are evaluated as AutoAttack evaluates them:

    - one forward pass decides correctness, on the clean and on every adversarial example (a
      deployed randomised model answers with one draw). The draws, the attacks' included, are
      keyed by `seed` and the batch (for noise drawn by Keras seed generators, as tfadv's noise
      layers draw it; each keyed block leaves the generators' states as it found them), so that
      an evaluation reproduces; with a `strategy` the replicas then take turns;
    - APGD runs every example for its whole budget instead of stopping it at its first
      misclassified iterate, which fooled one draw only (`stop_when_fooled=False`);
    - the protocol runs what was asked: `"quick"`, `"standard"` and `"plus"` keep their attacks
      (one gradient sample per step), the `randomized_model` flag is raised with the advice to
      run `"rand"` (APGD-CE and APGD-DLR with gradients averaged over `eot_iter` draws,
      AutoAttack's `version="rand"`). No protocol switches to other attacks;
    - `smoothed_draws=N` adds the majority vote of `N` passes as a separate line (clean and
      robust accuracy of the vote, each attack also run on the examples the vote still gets
      right); it is never the headline.

    On a model detected as deterministic the EOT of `"rand"` is idle: its attacks take one
    gradient sample per step (`eot_iter` 1, the same numbers for a twentieth of the work), and the
    report says so. These rules changed the numbers of randomised models (they were scored by a
    majority vote of 10 passes, and the named protocols ran `"rand"`'s attacks on them) with the
    same protocol versions (standard 2.1, quick/plus/rand 1.1); deterministic models' numbers did
    not change. A model whose outputs are softmax probabilities is attacked through its
    log-probabilities.

    Every Keras backend runs it (TensorFlow, JAX, PyTorch: the model's forward passes are
    compiled by `tf.function` or `tfadv.backend.compiled_call`); a named protocol needs its
    attacks to run on the backend. TensorFlow only: a `strategy` (tf.distribute), SavedModel and
    ONNX models; on JAX and PyTorch a randomised model whose noise no Keras seed generator draws
    is refused (its draws could not be keyed), with a `ValueError` naming the backend.

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
        eot_iter: int >= 1, EOT gradient samples per step of the attacks that average gradients
            (the `"rand"` protocol's, and the sanity checks' on a randomised model); 1 on a
            deterministic model. Defaults to `20` (AutoAttack).
        seed: int, seed of the attacks' random starts and searches, and the key of a randomised
            model's draws. Defaults to `0`.
        surrogate: `None`, a differentiable model (or its path) with the same classes, or
            `"train"` (a small model trained on `data` labelled by the target's predictions): the
            source of the transfer attack. Defaults to `None` (no transfer attack).
        smoothed_draws: `None` or int >= 1: also score the majority vote of that many forward
            passes per example (ties: the lowest class), reported as the report's `smoothed`
            line, never as its headline. Not with a multi-worker strategy. Defaults to `None`.
        strategy: `None`, a `tf.distribute.Strategy` or a name from
            `tfadv.distribute.STRATEGIES` (e.g. `"mirrored"`): the attacks' batches (the ones
            of one device, whole) are dealt to its replicas and workers, so that every example's
            verdict is the one device's for the same seed (`tfadv.evaluation.distributed`).
            On JAX: `"mirrored"` or a `keras.distribution.DataParallel`, under which every
            attack batch is split between the devices. Defaults to `None` (one device).
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
    if smoothed_draws is not None:
        smoothed_draws = validation.check_steps(smoothed_draws, "smoothed_draws")
    proto = get_protocol(protocol)
    replicas = distributed.resolve_strategy(strategy)
    if smoothed_draws is not None and replicas is not None and replicas.multi_worker:
        raise ValueError(
            "`smoothed_draws` needs every attack batch on this machine; a multi-worker strategy "
            f"deals them out. Received: smoothed_draws={smoothed_draws}, strategy="
            f"{type(replicas.strategy).__name__}"
        )
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    model = _utils.unwrap_model(model)
    x, y = _utils.to_numpy(data, limit, model=model)
    gradient_free = bool(getattr(model, "gradient_free", False))
    if backend.name() != "tensorflow" and not _utils.noise_states(model):
        # Before the first compiled call: noise that no Keras seed generator draws cannot be keyed
        # on JAX and PyTorch (and fails inside `jax.jit`).
        unkeyed = sanity_checks.detect_randomized(model, x) if randomized is None else randomized
        _utils.check_randomized_backend(model, unkeyed)

    flags = []
    # Probabilities instead of logits: attack the log-probabilities, and say so.
    probe = _utils.Predictor(model, batch_size).logits(x[: min(len(x), 256)])
    num_classes = probe.shape[-1]
    validation.check_labels(y, num_classes, "y")
    if sanity_checks.looks_like_probabilities(probe):
        model = _utils.log_probabilities(model)
        flags.append(SanityFlag("probabilities_not_logits", True, "rows sum to 1"))
    else:
        flags.append(SanityFlag("probabilities_not_logits", False))
    detected = sanity_checks.detect_randomized(model, x)
    if randomized is None:
        randomized = detected
    detail = f"detected: {detected}" + ("" if randomized == detected else ", overridden")

    predictor = _utils.Predictor(model, batch_size, randomized=randomized, seed=seed)
    surrogate = adaptive_checks.resolve_surrogate(surrogate, predictor, x, seed=seed)
    # On a deterministic model every draw is the same: EOT is idle, one gradient sample suffices.
    attacks = proto.attacks(eps, norm, seed=seed, randomized=randomized,
                            eot_iter=eot_iter if randomized else 1)  # fmt: skip
    variant = "default"
    if gradient_free:
        attacks, variant = _black_box_attacks(attacks, surrogate, eps, norm, seed), "black-box"
    flag, notes = _checks.randomness_flag(proto, attacks, randomized, detail, eot_iter,
                                          gradient_free, eps=eps, norm=norm, seed=seed)  # fmt: skip
    flags.append(flag)
    clean_correct = predictor.correct(x, y, key=("clean",))
    robust = clean_correct.copy()
    smoothing = smoothed_draws is not None
    if smoothing:  # the vote's own cascade: its clean verdicts, then each attack's
        vote_robust = predictor.smoothed_predictions(x, smoothed_draws, key=("clean",)) == y
        vote_clean = vote_robust.copy()
    fooled_by = {}
    broken_by = np.full(len(x), None, dtype=object)
    perturbation = np.full(len(x), np.nan)
    rows = []
    n = len(x)
    progress = keras.utils.Progbar(n * len(attacks), unit_name="example") if verbose else None
    done = 0
    for number, (label, attack) in enumerate(attacks):
        attack_started = time.time()
        indices = np.flatnonzero(robust if proto.cascade else clean_correct)
        fooled = np.zeros(n, bool)
        vote_fooled = np.zeros(n, bool)  # the examples the vote still gets right, then fooled
        vote_targets = (vote_robust if proto.cascade else vote_clean) if smoothing else vote_fooled

        def attack_batch(batch, attack=attack, number=number, targets=vote_targets,
                         vote_fooled=vote_fooled):  # fmt: skip
            key = (number, int(batch[0]))  # a randomised model's draws, keyed by the batch
            with predictor.keyed("attack", *key):
                x_adv = _utils.as_numpy(attack.run(model, x[batch], y[batch], eps=eps).x_adv)
            mine = targets[batch]
            if mine.any():  # (a multi-worker strategy is refused: every batch is local)
                votes = predictor.smoothed_predictions(x_adv[mine], smoothed_draws, key=key)
                vote_fooled[batch[mine]] = votes != y[batch[mine]]
            return distributed.BatchVerdict(
                ~predictor.correct(x_adv, y[batch], key=key), _norms(x_adv - x[batch], norm)
            )

        batches = _utils.batches(indices, batch_size)
        for batch, verdict in distributed.run_batches(replicas, attack_batch, batches):
            fooled[batch] = verdict.fooled
            first = fooled[batch] & np.array([b is None for b in broken_by[batch]], bool)
            broken_by[batch[first]] = label
            perturbation[batch[first]] = verdict.perturbation_norm[first]
            done += len(batch)
            if progress is not None:
                progress.update(done)
        done += n - len(indices)
        if progress is not None:
            progress.update(done, [("robust_accuracy", float(np.mean(robust & ~fooled)))])
        fooled_by[label] = fooled
        robust &= ~fooled
        accuracy = robust.mean() if proto.cascade else (clean_correct & ~fooled).mean()
        seconds = time.time() - attack_started
        if smoothing:  # the examples the vote still gets right that one draw did not
            left = np.flatnonzero(vote_targets & ~np.isin(np.arange(n), indices))
            for batch in _utils.batches(left, batch_size):
                key = ("vote only", number, int(batch[0]))
                with predictor.keyed("attack", *key):
                    x_adv = _utils.as_numpy(attack.run(model, x[batch], y[batch], eps=eps).x_adv)
                votes = predictor.smoothed_predictions(x_adv, smoothed_draws, key=key)
                vote_fooled[batch] = votes != y[batch]
            vote_robust &= ~vote_fooled
        rows.append(
            {
                "name": label,
                "class": type(attack).__name__,
                "budget": describe_budget(attack, num_classes),
                "config": _json_config(attack),
                "accuracy": float(accuracy),
                "seconds": seconds,
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
    smoothed = None
    if smoothing:
        smoothed = SmoothedAccuracy(smoothed_draws, float(vote_clean.mean()),
                                    float(vote_robust.mean()))  # fmt: skip
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
        eot_iter=_checks.max_eot(attacks),
        smoothed=smoothed,
        notes=notes,
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
