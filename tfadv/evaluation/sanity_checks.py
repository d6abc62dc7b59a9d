"""Sanity checks that tell when a robustness number is not to be trusted (Carlini; AutoAttack).

Each check is a named flag with a one-line explanation. `tfadv.evaluation.evaluate` runs them
automatically; a raised flag means the evaluation probably overestimates robustness (or, for
`randomized_model`, that the model is random and needs Expectation over Transformation). A flag
may carry an explanation worded for the model at hand (`RANDOMISED_EXPLANATIONS`).
"""

import keras
import numpy as np
import tensorflow as tf

from tfadv import backend
from tfadv.attacks.attack import model_logits
from tfadv.evaluation import _utils
from tfadv.utils import validation
from tfadv.utils.registry import Registry

_EXPLANATIONS = {
    "probabilities_not_logits": (
        "The model outputs probabilities: gradients through a final softmax saturate. Its "
        "log-probabilities were attacked instead; remove the softmax."
    ),
    "randomized_model": (
        "Two forward passes on the same input differ: the model is random. Accuracy counts one "
        'forward pass per example, as AutoAttack counts it; attack it with protocol "rand" '
        "(gradients averaged over `eot_iter` draws, EOT)."
    ),
    "zero_gradients": (
        "Many input gradients are exactly zero (masked or shattered gradients): gradient attacks "
        "cannot move; use BPDA, a margin loss (APGD-T) or a black-box attack."
    ),
    "black_box_beats_white_box": (
        "The gradient-free Square attack broke examples that the gradient attacks could not: the "
        "gradients are probably obfuscated and the white-box numbers overestimate robustness."
    ),
    "above_chance_at_large_eps": (
        "Accuracy stays well above chance at a radius that can turn every image grey: the attack "
        "is failing, not the model resisting."
    ),
    "non_monotone_in_eps": (
        "Accuracy rose when the radius grew: a working attack can only do better with a larger "
        "budget."
    ),
    "more_effort_raises_accuracy": (
        "More steps and restarts gave a higher accuracy: a converged attack on a deterministic "
        "model can only get stronger with more effort."
    ),
    "scaled_logits_beat_protocol": (
        "PGD on temperature-scaled logits, softmax(logits / T), broke examples the protocol did "
        "not: the logits saturate the softmax and hide the gradient (Hitaj et al. on GAIRAT), "
        "and the protocol overestimates robustness."
    ),
    "transfer_beats_protocol": (
        "Adversarial examples crafted on a surrogate model broke examples the protocol did not: "
        "the model's own gradients are obfuscated, and the protocol overestimates robustness."
    ),
}
#: Every sanity flag by name, with its one-line explanation (in the report's order).
SANITY_CHECKS = Registry("sanity check", ordered=True)
for _name, _explanation in _EXPLANATIONS.items():
    SANITY_CHECKS.register(_explanation, name=_name)

#: The explanations of the flags whose reading changes on a randomised model, where each verdict
#: is one noise draw: two attacks (or one attack at two radii) can differ by chance.
RANDOMISED_EXPLANATIONS = {
    "more_effort_raises_accuracy": (
        "On a randomised model more effort can raise accuracy by chance (each verdict is one "
        "noise draw); a rise beyond that spread still says the attacks are not converged: use "
        'protocol "rand" (EOT) and more draws (`eot_iter`) before trusting the number.'
    ),
    "non_monotone_in_eps": (
        "On a randomised model accuracy can rise with the radius by chance (each verdict is one "
        "noise draw); a rise beyond that spread still says the attack is failing: use protocol "
        '"rand" (EOT) and more draws (`eot_iter`).'
    ),
    "black_box_beats_white_box": (
        "On a randomised model the gradient-free Square attack can break examples by chance (its "
        "queries see many noise draws); a share beyond that spread says the gradients mislead "
        'the white-box attacks: use protocol "rand" (EOT) before trusting the number.'
    ),
    "scaled_logits_beat_protocol": (
        "On a randomised model any further attack breaks some examples by chance (its verdict is "
        "one more noise draw, wrong about as often as one draw is on clean inputs); a share "
        "well beyond that says the logits saturate the softmax and hide the gradient (Hitaj et "
        "al.)."
    ),
    "transfer_beats_protocol": (
        "On a randomised model any further attack breaks some examples by chance (its verdict is "
        "one more noise draw, wrong about as often as one draw is on clean inputs); a share "
        "well beyond that says the model's own gradients are obfuscated."
    ),
}

#: Share of examples with an all-zero input gradient above which `zero_gradients` is raised.
ZERO_GRADIENT_SHARE = 0.05
#: Accuracy above `1 / num_classes + this` at a large radius raises `above_chance_at_large_eps`.
ABOVE_CHANCE_MARGIN = 0.1
#: Smallest accuracy difference (as a share of the checked examples) that counts; at least two
#: examples.
TOLERANCE = 0.02
#: Share of examples broken only by the black-box attack above which its flag is raised (at least
#: two examples); AutoAttack warns at any such example.
BLACK_BOX_SHARE = 0.005


def tolerance(n):
    """The accuracy difference that counts on `n` examples: `TOLERANCE`, and at least 2 examples."""
    return max(TOLERANCE, 2.0 / max(n, 1))


class SanityFlag:
    """The outcome of one sanity check.

    Attributes:
        name: str, a key of `tfadv.evaluation.SANITY_CHECKS`.
        raised: `True` when the check fired, `False` when it passed, `None` when it was not run.
        detail: str, the numbers behind the outcome.
        explanation: str, the one-line explanation: the check's registered one, or one worded
            for the model at hand (given to the constructor).
    """

    def __init__(self, name, raised, detail="", explanation=None):
        validation.check_choice("name", name, tuple(SANITY_CHECKS))
        self.name = name
        self.raised = None if raised is None else bool(raised)
        self.detail = detail
        self._explanation = explanation

    @property
    def explanation(self):
        return self._explanation or SANITY_CHECKS[self.name]

    def worded(self, explanation=None, detail=None):
        """A copy with another explanation and/or detail."""
        return SanityFlag(
            self.name,
            self.raised,
            self.detail if detail is None else detail,
            self._explanation if explanation is None else explanation,
        )

    @property
    def status(self):
        return {True: "FLAG", False: "ok", None: "--"}[self.raised]

    def to_dict(self):
        return {"name": self.name, "raised": self.raised, "detail": self.detail,
                "explanation": self.explanation}  # fmt: skip

    @classmethod
    def from_dict(cls, config):
        explanation = config.get("explanation")
        if explanation == SANITY_CHECKS[config["name"]]:
            explanation = None
        return cls(config["name"], config["raised"], config.get("detail", ""), explanation)

    def __str__(self):
        line = f"[{self.status:>4}] {self.name}"
        if self.detail:
            line += f" ({self.detail})"
        if self.raised:
            line += f": {self.explanation}"
        return line

    def __repr__(self):
        return f"SanityFlag({self.name!r}, raised={self.raised!r}, detail={self.detail!r})"

    def __eq__(self, other):
        return isinstance(other, SanityFlag) and self.to_dict() == other.to_dict()


def for_randomised_model(flags):
    """`flags` with the explanations of `RANDOMISED_EXPLANATIONS` for a randomised model."""
    return [
        flag.worded(RANDOMISED_EXPLANATIONS[flag.name])
        if flag.name in RANDOMISED_EXPLANATIONS
        else flag
        for flag in flags
    ]


def detect_randomized(model, x, atol=_utils.RANDOMIZED_ATOL):
    """Whether two inference-mode forward passes on `x` differ by more than `atol` (AutoAttack)."""
    x = keras.ops.convert_to_tensor(np.asarray(x[:32], np.float32))
    with backend.no_grad():
        first = _utils.as_numpy(model_logits(model, x))
        second = _utils.as_numpy(model_logits(model, x))
    return bool(np.max(np.abs(first - second)) > atol)


def looks_like_probabilities(logits):
    """Whether the outputs are non-negative rows summing to 1 (a softmax output)."""
    return validation.logits_look_like_probabilities(logits)


def zero_gradient_share(model, x, y, batch_size=256):
    """The share of examples whose cross-entropy input gradient is exactly zero everywhere."""
    if backend.name() != "tensorflow":
        return _zero_gradient_share_ops(model, x, y, batch_size)

    @tf.function(reduce_retracing=True)
    def all_zero(xb, yb):
        with tf.GradientTape() as tape:
            tape.watch(xb)
            logits = model_logits(model, xb)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, logits))
        grad = tape.gradient(loss, xb)
        if grad is None:
            return tf.ones(tf.shape(xb)[:1], tf.bool)
        flat = tf.reshape(tf.cast(grad, tf.float32), [tf.shape(xb)[0], -1])
        return tf.reduce_all(tf.equal(flat, 0.0), axis=1)

    zero = [all_zero(tf.constant(x[i : i + batch_size]), tf.constant(y[i : i + batch_size])).numpy()
            for i in range(0, len(x), batch_size)]  # fmt: skip
    return float(np.mean(np.concatenate(zero)))


def _zero_gradient_share_ops(model, x, y, batch_size):
    """`zero_gradient_share` on JAX and PyTorch: `tfadv.backend.value_and_grad`, compiled by
    `tfadv.backend.compiled_call` with the model's variables."""

    def all_zero(xb, yb):
        def loss(images):
            logits = model_logits(model, images)
            losses = keras.ops.sparse_categorical_crossentropy(yb, logits, from_logits=True)
            return keras.ops.sum(losses), ()

        _, grad = backend.value_and_grad(loss, xb)
        flat = keras.ops.reshape(keras.ops.cast(grad, "float32"), (keras.ops.shape(xb)[0], -1))
        return keras.ops.all(keras.ops.equal(flat, 0.0), axis=1)

    fn = _utils.compiled_call(all_zero, model)
    zero = [
        _utils.as_numpy(
            fn(
                keras.ops.convert_to_tensor(np.asarray(x[i : i + batch_size], np.float32)),
                keras.ops.convert_to_tensor(np.asarray(y[i : i + batch_size], np.int32)),
            )
        )
        for i in range(0, len(x), batch_size)
    ]
    return float(np.mean(np.concatenate(zero)))


def large_eps(norm, example_shape):
    """A radius at which every image can be turned into the grey image 0.5 (Carlini et al.)."""
    if norm == "linf":
        return 0.5
    return 0.5 * float(np.sqrt(np.prod(example_shape)))


def check_zero_gradients(model, x, y, batch_size=256):
    share = zero_gradient_share(model, x, y, batch_size)
    return SanityFlag(
        "zero_gradients",
        share > ZERO_GRADIENT_SHARE,
        f"{share:.1%} of {len(x)} examples have an all-zero gradient",
    )


def check_above_chance(accuracy, num_classes, eps, n):
    chance = 1.0 / num_classes
    return SanityFlag(
        "above_chance_at_large_eps",
        accuracy > chance + ABOVE_CHANCE_MARGIN,
        f"accuracy {accuracy:.1%} at eps={eps:g} on {n} examples, chance {chance:.1%}",
    )


def check_monotone(eps_values, accuracies, n):
    """`non_monotone_in_eps` over a curve of accuracies at increasing radii."""
    order = np.argsort(eps_values)
    eps_values = np.asarray(eps_values, dtype=float)[order]
    accuracies = np.asarray(accuracies, dtype=float)[order]
    rises = [
        (eps_values[i], eps_values[i + 1], accuracies[i], accuracies[i + 1])
        for i in range(len(accuracies) - 1)
        if accuracies[i + 1] > accuracies[i] + tolerance(n)
    ]
    if not rises:
        return SanityFlag("non_monotone_in_eps", False, f"{len(accuracies)} radii")
    a, b, acc_a, acc_b = rises[0]
    return SanityFlag(
        "non_monotone_in_eps",
        True,
        f"accuracy {acc_a:.1%} at eps={a:g} but {acc_b:.1%} at eps={b:g}",
    )


def check_more_effort(less_accuracy, more_accuracy, less_name, more_name, n):
    return SanityFlag(
        "more_effort_raises_accuracy",
        more_accuracy > less_accuracy + tolerance(n),
        f"{less_name}: {less_accuracy:.1%}, {more_name}: {more_accuracy:.1%} on {n} examples",
    )


def check_extra_broken(name, extra_broken, n, attack_name, beaten="the protocol"):
    """Flag `name` when `attack_name` broke more than `BLACK_BOX_SHARE` of the `n` examples (and at
    least two) that `beaten` left robust."""
    share = extra_broken / max(n, 1)
    return SanityFlag(
        name,
        share > max(BLACK_BOX_SHARE, 1.5 / max(n, 1)),
        f"{attack_name} broke {extra_broken} of {n} examples {beaten} did not",
    )


def check_black_box(extra_broken, n, black_box_name):
    return check_extra_broken(
        "black_box_beats_white_box", extra_broken, n, black_box_name, "the gradient attacks"
    )
