"""Argument and input validation shared by attacks, methods and evaluation.

Every check raises `ValueError` (or `TypeError`) naming the argument and quoting the received value, in the
Keras style: `Received: eps=-0.1`. Data checks run eagerly on NumPy arrays and eager tensors; inside a
`tf.function` they become graph assertions whose message carries the `tfadv-invalid-input` marker, which
`AdvModel.fit`/`evaluate` turn back into a `ValueError`.
"""

import contextlib
import math
import numbers
import re

import numpy as np
import tensorflow as tf

GRAPH_ERROR_MARKER = "tfadv-invalid-input"


def check_number(name, value, *, minimum=None, strict=False, integer=False, maximum=None):
    """Validates a scalar hyperparameter and returns it (as `int` or `float`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"`{name}` must be finite. Received: {name}={value!r}")
    if integer:
        if int(value) != value:
            raise ValueError(f"`{name}` must be an integer. Received: {name}={value!r}")
        value = int(value)
    else:
        value = float(value)
    if minimum is not None:
        if strict and not value > minimum:
            raise ValueError(f"`{name}` must be > {minimum}. Received: {name}={value!r}")
        if not strict and not value >= minimum:
            raise ValueError(f"`{name}` must be >= {minimum}. Received: {name}={value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}. Received: {name}={value!r}")
    return value


def check_eps(eps, name="eps"):
    """An attack radius: a finite number >= 0."""
    return check_number(name, eps, minimum=0.0)


def check_steps(steps, name="steps"):
    """An iteration count: an integer >= 1."""
    return check_number(name, steps, minimum=1, integer=True)


def check_choice(name, value, choices):
    """A string option among `choices`."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}. Received: {name}={value!r}")
    return value


def _describe(array):
    return f"array of shape {tuple(array.shape)} with min={np.nanmin(array):.4g}, max={np.nanmax(array):.4g}"


def check_images(x, name="x"):
    """Checks that images are finite and lie in [0, 1].

    Runs eagerly on NumPy arrays and eager tensors; returns silently for symbolic tensors (use
    `graph_assert_images` inside a `tf.function`).
    """
    if isinstance(x, tf.Tensor) and not tf.executing_eagerly():
        return
    if not hasattr(x, "shape"):
        return
    try:
        array = np.asarray(x)
    except Exception:  # symbolic or unconvertible: checked in-graph instead
        return
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"`{name}` must be a numeric array. Received: {name}.dtype={array.dtype}")
    if array.size == 0:
        raise ValueError(
            f"`{name}` is empty: pass at least one image. Received: {name} of shape "
            f"{tuple(array.shape)}"
        )
    if np.isnan(array).any():
        raise ValueError(
            f"`{name}` contains NaN values; images must be finite and in [0, 1]. "
            f"Received: {name}={_describe(array)}"
        )
    if array.min() < 0.0 or array.max() > 1.0:
        raise ValueError(
            f"`{name}` must hold images scaled to [0, 1] (divide uint8 pixels by 255). "
            f"Received: {name}={_describe(array)}"
        )


def check_labels(y, num_classes=None, name="y"):
    """Checks integer class labels in [0, num_classes)."""
    if isinstance(y, tf.Tensor) and not tf.executing_eagerly():
        return
    if not hasattr(y, "shape"):
        return
    try:
        array = np.asarray(y)
    except Exception:
        return
    if array.size == 0:
        return
    if array.ndim > 1 and array.shape[-1] > 1:
        raise ValueError(
            f"`{name}` must hold integer class indices, not one-hot vectors. "
            f"Received: {name} of shape {tuple(array.shape)}"
        )
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError(
                f"`{name}` must hold integer class indices. Received: {name} with dtype "
                f"{array.dtype} and non-integer values"
            )
    elif not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"`{name}` must hold integer class indices. Received: {name}.dtype={array.dtype}"
        )
    low, high = array.min(), array.max()
    if low < 0 or (num_classes is not None and high >= num_classes):
        bound = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        raise ValueError(
            f"`{name}` holds labels outside the model's classes {bound}. "
            f"Received: {name} with min={low}, max={high}"
        )


def logits_look_like_probabilities(logits, atol=1e-3):
    """True when every row is non-negative and sums to 1 (softmax output)."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[-1] < 2 or logits.size == 0:
        return False
    return bool(np.all(logits >= 0.0) and np.allclose(logits.sum(axis=-1), 1.0, atol=atol))


def check_logits(logits, name="model"):
    """Raises when a model returns probabilities where logits are expected."""
    if isinstance(logits, tf.Tensor) and not tf.executing_eagerly():
        return
    if logits_look_like_probabilities(logits):
        raise ValueError(
            f"`{name}` must output logits, but its outputs are non-negative and every row sums to 1: "
            "these look like softmax probabilities. Remove the final softmax activation (gradients "
            "through a softmax saturate and hide adversarial examples). Received: outputs with row "
            f"sums {np.round(np.asarray(logits).sum(axis=-1)[:3], 4).tolist()}..."
        )


def graph_assert_images(x, name="x"):
    """In-graph version of `check_images`; returns the assertion ops (a list)."""
    x = tf.convert_to_tensor(x)
    ok = tf.logical_and(
        tf.reduce_all(tf.math.is_finite(x)),
        tf.logical_and(tf.reduce_min(x) >= 0.0, tf.reduce_max(x) <= 1.0),
    )
    return [
        tf.debugging.Assert(
            ok,
            [
                f"{GRAPH_ERROR_MARKER}: `{name}` must hold finite images in (0, 1). "
                f"Received: {name} with min=",
                tf.reduce_min(x),
                ", max=",
                tf.reduce_max(x),
            ],
        )
    ]


def graph_assert_labels(y, num_classes, name="y"):
    """In-graph version of `check_labels`; `num_classes` may be a tensor."""
    y = tf.convert_to_tensor(y)
    num_classes = tf.cast(num_classes, y.dtype)
    ok = tf.logical_and(tf.reduce_min(y) >= 0, tf.reduce_max(y) < num_classes)
    return [
        tf.debugging.Assert(
            ok,
            [
                f"{GRAPH_ERROR_MARKER}: `{name}` holds labels outside the model's classes "
                "(0 to num_classes - 1, num_classes=",
                num_classes,
                f"). Received: {name} with min=",
                tf.reduce_min(y),
                ", max=",
                tf.reduce_max(y),
            ],
        )
    ]


def graph_assert_integer_values(y, name="y"):
    """In-graph check that float labels hold whole numbers (class indices, not 3.5)."""
    y = tf.convert_to_tensor(y)
    bad = tf.boolean_mask(y, tf.not_equal(y, tf.round(y)))
    return [
        tf.debugging.Assert(
            tf.equal(tf.size(bad), 0),
            [
                f"{GRAPH_ERROR_MARKER}: `{name}` must hold integer class indices. Received: "
                f"{name} with non-integer values such as",
                bad[:3],
            ],
        )
    ]


def graph_assert_logits(logits, name="model"):
    """In-graph check that a model outputs logits rather than probabilities."""
    logits = tf.cast(logits, tf.float32)
    # An empty batch (e.g. the share of a batch that MAT gives one attack) proves nothing.
    looks_like_probs = tf.logical_and(
        tf.logical_and(tf.size(logits) > 0, tf.reduce_all(logits >= 0.0)),
        tf.reduce_all(tf.abs(tf.reduce_sum(logits, axis=-1) - 1.0) < 1e-3),
    )
    return [
        tf.debugging.Assert(
            tf.logical_not(looks_like_probs),
            [
                f"{GRAPH_ERROR_MARKER}: `{name}` must output logits, but its outputs are non-negative "
                "and every row sums to 1 (softmax probabilities). Remove the final softmax. "
                "Received: row sums",
                tf.reduce_sum(logits, axis=-1)[:3],
            ],
        )
    ]


@contextlib.contextmanager
def graph_errors_as_value_errors():
    """Re-raises tfadv's in-graph assertions (from compiled code) as the `ValueError` they mean."""
    try:
        yield
    except tf.errors.InvalidArgumentError as error:
        converted = reraise_graph_error(error)
        if converted is None:
            raise
        raise converted from None


def reraise_graph_error(error):
    """Turns a tfadv graph assertion into a `ValueError`; returns None for other errors."""
    message = getattr(error, "message", str(error))
    if GRAPH_ERROR_MARKER not in message:
        return None
    text = message.split(GRAPH_ERROR_MARKER + ": ", 1)[1]
    text = text.split("\n\t [[", 1)[0].split(" [[{{", 1)[0]
    # Assert prints its data as "[a] [b] ..."; join the pieces back into one sentence.
    text = text.replace("] [", " ").replace("[", "").replace("]", "")
    text = text.replace("\\'", "'").replace('\\"', '"')
    text = re.sub(r"=\s+", "=", " ".join(text.split()))
    return ValueError(re.sub(r"\s+([).,])", r"\1", text))
