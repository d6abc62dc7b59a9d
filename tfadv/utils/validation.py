"""Argument and input validation shared by attacks, methods, evaluation, certification and export.

Every check raises `ValueError` (or `TypeError`) naming the argument and quoting the received value,
in the Keras style: `Received: eps=-0.1`. `check_inputs` holds the input contract of every public
entry point that takes data. It checks NumPy arrays and eager tensors by value, and symbolic inputs
(tensors inside a `tf.function`, a dataset's `TensorSpec`s) by dtype and shape; their values are
checked by graph assertions whose message carries the `tfadv-invalid-input` marker, which
`AdvModel.fit`/`evaluate` and the attacks turn back into a `ValueError`.
"""

import contextlib
import math
import numbers
import re

import keras
import numpy as np
import tensorflow as tf

from tfadv import backend

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


# ------------------------------------------------------------------------------- the input contract
#
# One contract for every public entry point that takes data: the attacks' `__call__`/`run`,
# `AdvModel.fit`/`evaluate`, `tfadv.evaluation.evaluate`/`sweep`/`RobustEvaluation`,
# `tfadv.certification.SmoothedClassifier` and `tfadv.export.verify`, all through `check_inputs`.
#
# - Images: a real numeric array (float; integers are cast to float32) of shape `(N, *input_shape)`
#   with the model's rank and its known dimensions, finite, in [0, 1]. A missing channel axis is
#   refused, never added silently.
# - Labels: integer class ids of shape `(N,)` or `(N, 1)`. Float labels are accepted when every value
#   is a whole number (`np.zeros(8)`), and cast; other floats are refused. One-hot or probability rows
#   are refused (use `np.argmax(y, axis=-1)`), as are ids outside `[0, num_classes)` when the class
#   count is known.
# - As many labels as images, at least one example. A wrong dtype (strings, objects, booleans,
#   complex numbers) is a `TypeError`; every other breach a `ValueError`.
#
# Concrete values (NumPy arrays, eager tensors) are checked in full. Symbolic inputs (tensors inside a
# `tf.function`, a `tf.data.Dataset`'s `TensorSpec`s) are checked from their static dtype and shape;
# their values are checked in-graph by the `graph_assert_*` functions below.


def describe(name, value):
    """How messages quote a received array or spec: `"y with shape (64, 10) and dtype float32"`."""
    shape = value.shape
    if isinstance(shape, tf.TensorShape):
        shape = tuple(shape.as_list()) if shape.rank is not None else "<unknown rank>"
    else:
        shape = tuple(shape)
    dtype = value.dtype.name if isinstance(value.dtype, tf.DType) else str(value.dtype)
    return f"{name} with shape {shape} and dtype {dtype}"


def _describe(array):
    finite = array[np.isfinite(array)] if np.issubdtype(array.dtype, np.floating) else array
    if finite.size == 0:
        return f"array of shape {tuple(array.shape)} with no finite values"
    return (
        f"array of shape {tuple(array.shape)} with min={finite.min():.4g}, max={finite.max():.4g}"
    )


def _symbolic(value):
    """A value known only by its dtype and shape: a graph tensor, a `TensorSpec`, a `KerasTensor`."""
    if isinstance(value, (tf.TensorSpec, keras.KerasTensor)):
        return True
    if backend.name() == "jax" and backend.inside_compiled(value):  # traced by `jax.jit`
        return True
    return tf.is_tensor(value) and not hasattr(value, "numpy")


def _inner_models(model):
    """`model`, then what it wraps: an `AdvModel`'s `classifier`, `LogProbabilities`' `model`."""
    yield model
    for attribute in ("classifier", "model"):
        try:
            inner = getattr(model, attribute, None)
        except Exception:  # a property that needs a built model
            inner = None
        if inner is not None and inner is not model:
            yield inner


def model_input_shape(model):
    """The input shape a model declares, batch axis first (`(None, 28, 28, 1)`), or `None`.

    Read from a Functional or Sequential Keras model's single input (or that of the model an
    `AdvModel` or a wrapper holds); `None` for subclassed models, plain functions and models with
    several inputs, whose inputs are then checked by value only.
    """
    if model is None:
        return None
    for candidate in _inner_models(model):
        try:
            inputs = candidate.inputs
        except (AttributeError, ValueError):
            continue
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
            shape = getattr(inputs[0], "shape", None)
            if shape is not None:
                return tuple(None if d is None else int(d) for d in shape)
    return None


def model_num_classes(model):
    """The number of classes a model's logits have, when it is known without running it."""
    if model is None:
        return None
    for candidate in _inner_models(model):
        try:
            value = getattr(candidate, "num_classes", None)  # AdvModel, OnnxClassifier
        except Exception:
            value = None
        if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0:
            return int(value)
        try:
            shape = candidate.output_shape
        except (AttributeError, ValueError):
            continue
        if isinstance(shape, tuple) and len(shape) >= 2 and isinstance(shape[-1], int):
            return shape[-1]
    return None


def _as_array(value, name, what):
    if isinstance(value, (str, bytes)):
        raise TypeError(f"`{name}` must be an array of {what}. Received: {name}={value!r}")
    try:
        if backend.name() == "torch" and keras.ops.is_tensor(value):
            value = keras.ops.convert_to_numpy(value)  # detached, on the host
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nested lists, unconvertible objects
        raise TypeError(
            f"`{name}` must be an array of {what}. Received: {name} of type "
            f"{type(value).__name__} ({error})"
        ) from None
    if array.dtype == object and array.ndim == 0:
        raise TypeError(f"`{name}` must be an array of {what}. Received: {name}={value!r}")
    return array


def _example_shape(expected):
    return "(N, " + ", ".join("?" if d is None else str(d) for d in expected[1:]) + ")"


def _fits(shape, expected):
    return len(shape) == len(expected) and all(
        a is None or b is None or a == b for a, b in zip(shape, expected, strict=True)
    )


def _shape_problem(shape, expected, name, received):
    """The message when images of `shape` (batch first) cannot feed a model taking `expected`."""
    shape = tuple(shape)
    if _fits(shape[1:], expected[1:]):
        return None
    want = _example_shape(expected)
    if len(shape) == len(expected) - 1 and len(expected) >= 3:
        # The one axis missing is the channel axis, last or first (channels-first models).
        for fix, rest, channels in (
            (f"{name}[..., None]", expected[1:-1], expected[-1]),
            (f"{name}[:, None]", expected[2:], expected[1]),
        ):
            if channels in (1, 3, 4) and _fits(shape[1:], rest):
                hint = f"Add it with `{fix}`; " if channels == 1 else ""
                return (
                    f"`{name}` has no channel axis: the model takes images of shape {want}. "
                    f"{hint}tfadv never reshapes images silently. Received: {received}"
                )
    return f"`{name}` must hold images of the model's input shape {want}. Received: {received}"


def _real_kind(dtype):
    """`"float"` or `"int"`; `None` for strings, objects, booleans and complex numbers."""
    if isinstance(dtype, str):  # a KerasTensor's dtype
        dtype = tf.as_dtype(dtype)
    if isinstance(dtype, tf.DType):
        return "float" if dtype.is_floating else "int" if dtype.is_integer else None
    if np.issubdtype(dtype, np.floating):
        return "float"
    return "int" if np.issubdtype(dtype, np.integer) else None


def _check_image_spec(x, name, input_shape):
    if _real_kind(x.dtype) is None:
        raise TypeError(
            f"`{name}` must hold real-valued images in [0, 1] (float32). Received: {describe(name, x)}"
        )
    shape = tf.TensorShape(x.shape)
    if shape.rank is None:
        return
    if shape.rank < 2:
        raise ValueError(
            f"`{name}` must be a batch of images, shape (N, ...). Received: {describe(name, x)}"
        )
    if input_shape is not None:
        problem = _shape_problem(shape.as_list(), input_shape, name, describe(name, x))
        if problem:
            raise ValueError(problem)


def _one_hot_message(name, received):
    return (
        f"`{name}` must hold integer class ids of shape (N,), not one-hot or probability vectors; "
        f"use np.argmax({name}, axis=-1). Received: {received}"
    )


def _check_label_spec(y, name):
    if _real_kind(y.dtype) is None:
        raise TypeError(
            f"`{name}` must hold integer class ids of shape (N,). Received: {describe(name, y)}"
        )
    shape = tf.TensorShape(y.shape)
    if shape.rank is None:
        return
    if shape.rank >= 2 and shape[-1] is not None and shape[-1] > 1:
        raise ValueError(_one_hot_message(name, describe(name, y)))
    if shape.rank > 2:
        raise ValueError(
            f"`{name}` must hold integer class ids of shape (N,) or (N, 1). "
            f"Received: {describe(name, y)}"
        )


def check_images(x, name="x", *, input_shape=None):
    """Checks images against the input contract and returns them as a float32 NumPy array.

    Symbolic inputs (graph tensors, `TensorSpec`s) are checked from their dtype and shape and
    returned unchanged; use `graph_assert_images` for their values.

    Args:
        x: the images, `(N, *input_shape)`, in [0, 1].
        name: the argument's public name, used in messages. Defaults to `"x"`.
        input_shape: optional shape the model takes, batch axis first (`model_input_shape`).
            Defaults to `None` (rank and dimensions unchecked).
    """
    if _symbolic(x):
        _check_image_spec(x, name, input_shape)
        return x
    array = _as_array(x, name, "images in [0, 1]")
    _check_image_spec(array, name, None)  # dtype and rank first; the model's shape below
    if array.size == 0:
        raise ValueError(
            f"`{name}` is empty: pass at least one image. Received: {name} of shape "
            f"{tuple(array.shape)}"
        )
    if input_shape is not None:
        problem = _shape_problem(array.shape, input_shape, name, describe(name, array))
        if problem:
            raise ValueError(problem)
    finite = np.isfinite(array)
    if not finite.all():
        nan = int(np.isnan(array).sum())
        raise ValueError(
            f"`{name}` contains NaN or infinite values; images must be finite and in [0, 1]. "
            f"Received: {name}=array of shape {tuple(array.shape)} with {nan} NaN and "
            f"{array.size - int(finite.sum()) - nan} infinite values"
        )
    if array.min() < 0.0 or array.max() > 1.0:
        raise ValueError(
            f"`{name}` must hold images scaled to [0, 1] (divide uint8 pixels by 255). "
            f"Received: {name}={_describe(array)}"
        )
    return array.astype(np.float32, copy=False)


def check_labels(y, num_classes=None, name="y"):
    """Checks class ids against the input contract and returns them as an int32 array `(N,)`.

    Float labels holding whole numbers are accepted and cast; `(N, 1)` labels are flattened.
    Symbolic inputs are checked from their dtype and shape and returned unchanged (use
    `graph_assert_labels` and `graph_assert_integer_values` for their values).

    Args:
        y: the labels.
        num_classes: optional int, the model's number of classes. Defaults to `None` (ids are
            only checked to be >= 0).
        name: the argument's public name, used in messages. Defaults to `"y"`.
    """
    if _symbolic(y):
        _check_label_spec(y, name)
        return y
    array = _as_array(y, name, "integer class ids")
    if array.ndim == 0:
        raise ValueError(
            f"`{name}` must hold one integer class id per image, shape (N,), not a scalar. "
            f"Received: {name}={array.item()!r}"
        )
    _check_label_spec(array, name)
    if array.size == 0:
        raise ValueError(
            f"`{name}` is empty: pass one label per image. Received: {describe(name, array)}"
        )
    received = describe(name, array)
    array = array.reshape(-1)
    if _real_kind(array.dtype) == "float":
        finite = np.isfinite(array)
        if not finite.all():
            raise ValueError(
                f"`{name}` must hold finite integer class ids. Received: {received}, holding "
                f"{int((~finite).sum())} NaN or infinite values"
            )
        fractional = array[array != np.round(array)]
        if fractional.size:
            raise ValueError(
                f"`{name}` must hold integer class ids (float labels are accepted only when every "
                f"value is a whole number). Received: {received}, holding non-integer values such as "
                f"{fractional[:3].tolist()}"
            )
    low, high = int(array.min()), int(array.max())
    too_high = num_classes is not None and high >= num_classes
    if low < 0 or too_high or high > np.iinfo(np.int32).max:
        bound = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        raise ValueError(
            f"`{name}` holds labels outside the model's classes {bound}. "
            f"Received: {name} with min={low}, max={high}"
        )
    return array.astype(np.int32)


def check_inputs(x, y=None, *, model=None, num_classes=None, x_name="x", y_name="y"):
    """Checks images and labels against tfadv's input contract; returns them as checked arrays.

    The one place where data is validated, for every public entry point. Concrete inputs (NumPy
    arrays, eager tensors, nested lists) are checked in full; symbolic ones (tensors inside a
    `tf.function`, a dataset's `TensorSpec`s) by their dtype and shape only, and returned unchanged.

    - Images: real-valued, `(N, *input_shape)` with the model's rank and known dimensions (a
      missing channel axis is refused, never added), finite, in [0, 1].
    - Labels: integer class ids of shape `(N,)` or `(N, 1)`; float labels holding whole numbers
      are accepted; one-hot and probability rows, fractional values and ids outside
      `[0, num_classes)` are refused.
    - As many labels as images; at least one example.

    Wrong dtypes (strings, objects, booleans, complex numbers) raise `TypeError`; every other
    breach raises `ValueError`. Messages name the argument and quote what was received.

    Args:
        x: the images.
        y: optional labels. Defaults to `None` (images only).
        model: optional model the data is for: its declared input shape and number of classes
            are checked when known (an `AdvModel`'s classifier is read). Defaults to `None`.
        num_classes: optional int, overrides the model's number of classes. Defaults to `None`.
        x_name: the images' public argument name. Defaults to `"x"`.
        y_name: the labels' public argument name. Defaults to `"y"`.

    Returns:
        `(x, y)`: float32 images and int32 labels of shape `(N,)` (`y` is `None` when not given);
        symbolic inputs are returned as they came.

    Example:

    ```python
    x, y = check_inputs(x, y, model=classifier)
    ```
    """
    if num_classes is None:
        num_classes = model_num_classes(model)
    x = check_images(x, x_name, input_shape=model_input_shape(model))
    if y is None:
        return x, None
    y = check_labels(y, num_classes, y_name)
    if not _symbolic(x) and not _symbolic(y) and len(x) != len(y):
        raise ValueError(
            f"`{x_name}` and `{y_name}` must hold the same number of examples (one integer label "
            f"per image). Received: {describe(x_name, x)}, {describe(y_name, y)}"
        )
    return x, y


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
                f"{GRAPH_ERROR_MARKER}: `{name}` must hold finite images in [0, 1]. "
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
                f"{GRAPH_ERROR_MARKER}: `{name}` must hold integer class ids. Received: "
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
