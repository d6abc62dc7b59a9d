"""The sanity checks of `tfadv.evaluation.evaluate` that need extra attacks, and the
`randomized_model` flag worded for the model and the protocol (internal)."""

import numpy as np

from tfadv.attacks.apgd import APGD
from tfadv.attacks.square import Square
from tfadv.evaluation import adaptive_checks, sanity_checks
from tfadv.evaluation.sanity_checks import SANITY_CHECKS, SanityFlag

#: Checks `evaluate` runs itself, before the attacks, whatever the model.
_CHEAP_CHECKS = ("probabilities_not_logits", "randomized_model")


def attack_accuracy(attack, model, predictor, x, y, eps, batch_size):
    return ~adaptive_checks.broken_by_attack(attack, model, predictor, x, y, eps, batch_size)


def run_checks(
    model, predictor, x, y, robust, fooled_by, attacks, *, eps, norm, n_check,
    num_classes, randomized, eot_iter, batch_size, seed, surrogate=None,
):  # fmt: skip
    """The sanity checks that need extra work, on the first `n_check` examples.

    A gradient-free model (an ONNX file) gets none of them: they need input gradients. On a
    randomised model the APGD checks average `eot_iter` gradient samples and run every example
    for its whole budget, their verdicts are one draw (`predictor`), the attacks' draws are keyed
    by `seed`, and the flags whose reading changes are worded for it.
    """
    if getattr(model, "gradient_free", False):
        names = [name for name in SANITY_CHECKS if name not in _CHEAP_CHECKS]
        return [SanityFlag(name, None, "gradient-free model") for name in names]
    with predictor.keyed("checks"):
        flags = _run(
            model, predictor, x, y, robust, fooled_by, attacks, eps=eps, norm=norm,
            n_check=n_check, num_classes=num_classes, randomized=randomized, eot_iter=eot_iter,
            batch_size=batch_size, seed=seed, surrogate=surrogate,
        )  # fmt: skip
    return sanity_checks.for_randomised_model(flags) if randomized else flags


def _run(
    model, predictor, x, y, robust, fooled_by, attacks, *, eps, norm, n_check,
    num_classes, randomized, eot_iter, batch_size, seed, surrogate,
):  # fmt: skip
    flags = []
    xs, ys = x[:n_check], y[:n_check]
    robust_s = robust[:n_check]
    eot = eot_iter if randomized else 1
    # On a randomised model a misclassified iterate fooled one draw: every example runs its budget.
    stop = False if randomized else None

    flags.append(sanity_checks.check_zero_gradients(model, xs, ys, batch_size))

    # Accuracy at a radius that reaches the grey image, and monotonicity in the radius.
    # One APGD-CE-10 serves the large radius and the effort check (the radius is a call argument,
    # so it compiles once).
    less = APGD(eps=eps, norm=norm, steps=10, loss="ce", eot_iter=eot, stop_when_fooled=stop,
                seed=seed)  # fmt: skip
    big = max(sanity_checks.large_eps(norm, x.shape[1:]), eps)
    big_correct = attack_accuracy(less, model, predictor, xs, ys, big, batch_size)
    flags.append(sanity_checks.check_above_chance(big_correct.mean(), num_classes, big, n_check))
    if big > eps:
        flags.append(
            sanity_checks.check_monotone([eps, big], [robust_s.mean(), big_correct.mean()], n_check)
        )
    else:
        flags.append(SanityFlag("non_monotone_in_eps", None, "eps is already large"))

    # More steps and restarts must not raise accuracy.
    more = APGD(eps=eps, norm=norm, steps=20, restarts=2, loss="ce", eot_iter=eot,
                stop_when_fooled=stop, seed=seed + 1)  # fmt: skip
    less_acc = attack_accuracy(less, model, predictor, xs, ys, eps, batch_size).mean()
    more_acc = attack_accuracy(more, model, predictor, xs, ys, eps, batch_size).mean()
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
        square = Square(eps=eps, norm=norm, n_queries=300, seed=seed)
        candidates = np.flatnonzero(robust_s)
        extra = 0
        if len(candidates):
            still = attack_accuracy(
                square, model, predictor, xs[candidates], ys[candidates], eps, batch_size
            )
            extra = int(np.sum(~still))
        flags.append(sanity_checks.check_black_box(extra, n_check, "Square (300 queries)"))

    # Adaptive attacks (Hitaj et al.; transfer): they must not beat the protocol's worst case.
    common = dict(eps=eps, norm=norm, batch_size=batch_size, seed=seed)
    flags.append(adaptive_checks.scaled_logits_check(model, predictor, xs, ys, robust_s, **common))
    flags.append(adaptive_checks.transfer_check(surrogate, predictor, xs, ys, robust_s, **common))
    return flags


def max_eot(attacks):
    """The most gradient samples per step any attack takes (1: no EOT)."""
    return max([int(getattr(attack, "eot_iter", 1)) for _, attack in attacks] + [1])


def randomness_flag(proto, attacks, randomized, detail, eot_iter, gradient_free, **budget):
    """The `randomized_model` flag, worded for the model and the protocol, and the report's notes:
    EOT idle on a deterministic model; on a randomised one, the advice to run `"rand"` when no
    attack averaged gradients."""
    if gradient_free:
        return SanityFlag("randomized_model", randomized, detail), []
    if not randomized:
        asked = max_eot(proto.attacks(budget["eps"], budget["norm"], seed=budget["seed"],
                                       eot_iter=eot_iter))  # fmt: skip
        if asked <= max_eot(attacks):
            return SanityFlag("randomized_model", False, detail), []
        note = (
            f"Deterministic model: EOT is idle, so protocol '{proto.name}' took one gradient "
            f"sample per step (eot_iter 1, not {asked}: {asked} samples would be identical)."
        )
        return SanityFlag("randomized_model", False, f"{detail}; EOT idle: eot_iter 1"), [note]
    eot = max_eot(attacks)
    if eot > 1:
        explanation = (
            "Two forward passes on the same input differ: the model is random. Accuracy counts one "
            "forward pass per example, as AutoAttack counts it, and the gradient attacks averaged "
            f"{eot} gradient samples per step (EOT)."
        )
        return SanityFlag("randomized_model", True, detail, explanation), []
    explanation = (
        "Two forward passes on the same input differ: the model is random, and protocol "
        f"'{proto.name}' attacked it with one gradient sample per step, as asked. Run protocol "
        f'"rand" (gradients averaged over {eot_iter} draws, EOT), AutoAttack\'s version for '
        "randomised defences. Accuracy counts one forward pass per example, as AutoAttack "
        "counts it."
    )
    note = (
        f"Randomised model under protocol '{proto.name}' (its own attacks, no EOT): run "
        f"protocol 'rand' for AutoAttack's evaluation of randomised defences."
    )
    return SanityFlag("randomized_model", True, detail, explanation), [note]
