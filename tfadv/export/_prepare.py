"""What every export format shares: unwrap, make deterministic, float32 IO, clear errors.

`prepared(model, ...)` is a context manager yielding the deployable classifier (an `AdvModel`'s
`.classifier`, so no attack code is exported), its input shape, and a `tf.function` with a fixed
input signature `images: float32 [None, *input_shape]` returning `{"logits", "probabilities"}` in
float32. Noise layers are switched to the requested state (and dual batch norms to their main
branch) while the function is traced and saved, and switched back on exit, so exporting never
changes the caller's model.
"""

import contextlib
import errno
import os
import re
import tempfile
import warnings

import keras
import numpy as np
import tensorflow as tf

from tfadv import deployable
from tfadv.deployable import deployment_state, logits_fn, single_output
from tfadv.layers._utils import iter_layers
from tfadv.utils import validation

INPUT_NAME = "images"
OUTPUT_NAMES = ("logits", "probabilities")


def check_model(model):
    """Raises a `TypeError` unless `model` is a Keras model (or layer)."""
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(
            "`model` must be a `keras.Model` (or a `tfadv.AdvModel`). "
            f"Received: model={model!r} of type {type(model).__name__}"
        )
    return model


def unwrap(model):
    """Returns the classifier to deploy (`tfadv.deployable.unwrap`) of a Keras model."""
    return deployable.unwrap(check_model(model))


def resolve_input_shape(model, input_shape=None):
    """Returns the per-example input shape (a tuple of positive ints) or raises a `ValueError`."""
    name = getattr(model, "name", type(model).__name__)
    if input_shape is not None:
        return _check_input_shape(input_shape)
    shape = None
    inputs = _safe_getattr(model, "inputs")
    if inputs:
        if len(inputs) != 1:
            raise ValueError(
                f"Model '{name}' has {len(inputs)} inputs; export supports image classifiers "
                "with a single image input. Received: model.inputs="
                f"{[tuple(t.shape) for t in inputs]}"
            )
        shape = tuple(inputs[0].shape)
    else:
        build_shapes = _safe_getattr(model, "_build_shapes_dict")
        if isinstance(build_shapes, dict) and len(build_shapes) == 1:
            candidate = next(iter(build_shapes.values()))
            if isinstance(candidate, (tuple, list)) and all(
                d is None or isinstance(d, int) for d in candidate
            ):
                shape = tuple(candidate)
    if shape is None:
        raise ValueError(
            f"Cannot infer the input shape of model '{name}' ({type(model).__name__}): it has no "
            "`Input` and has not been built or called. Pass the per-example image shape, e.g. "
            "`input_shape=(28, 28, 1)` (command line: `--input-shape 28,28,1`)."
        )
    per_example = shape[1:]
    if not per_example or any(d is None for d in per_example):
        raise ValueError(
            f"Model '{name}' has unknown input dimensions {shape}; an exported signature needs a "
            "fixed image shape. Pass it as `input_shape=(height, width, channels)`, e.g. "
            "`input_shape=(32, 32, 3)` (command line: `--input-shape 32,32,3`). "
            f"Received: model input shape={shape}"
        )
    return tuple(int(d) for d in per_example)


def _check_input_shape(input_shape):
    message = (
        "`input_shape` must be the per-example image shape, a tuple of positive ints such as "
        f"(28, 28, 1). Received: input_shape={input_shape!r}"
    )
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise ValueError(message)
    shape = tuple(input_shape)
    if len(shape) > 1 and shape[0] is None:  # a leading batch dimension is tolerated
        shape = shape[1:]
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(message)
    return tuple(int(d) for d in shape)


def _safe_getattr(obj, attribute):
    try:
        return getattr(obj, attribute, None)
    except (AttributeError, ValueError):
        return None


def check_version(version):
    """A TF-Serving model version: an integer >= 1."""
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)):
        raise ValueError(
            "`version` must be a positive integer (TF Serving loads numbered version folders). "
            f"Received: version={version!r}"
        )
    if version < 1:
        raise ValueError(
            "`version` must be a positive integer (TF Serving loads numbered version folders). "
            f"Received: version={version!r}"
        )
    return int(version)


def check_writable(folder, argument="path", received=None):
    """Raises a `ValueError` unless `folder` is, or can be created as, a folder one can write to.

    Checked before any work: a temporary folder is created in (and removed from) the nearest
    existing parent, so nothing is left behind. Remote paths (`gs://...`) are left to TensorFlow.
    `argument` names the argument in the message (`--out` on the command line), and `received`
    its value when `folder` is derived from it (the folder of an `.onnx` file's path).
    """
    folder = os.fspath(folder)
    if "://" in folder:
        return
    parent = os.path.abspath(folder)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    try:
        if not os.path.isdir(parent):
            raise NotADirectoryError(errno.ENOTDIR, "an existing file")
        tempfile.TemporaryDirectory(dir=parent).cleanup()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValueError(
            f"`{argument}` must be a folder that can be created and written to, but {folder!r} "
            f"cannot ({reason}: {parent!r}). Received: {argument}={received or folder!r}"
        ) from None


def check_stochastic(stochastic):
    if not isinstance(stochastic, (bool, np.bool_)):
        raise ValueError(f"`stochastic` must be a bool. Received: stochastic={stochastic!r}")
    return bool(stochastic)


# ------------------------------------------------------------------------------------------------
# The serving function


def serving_function(model, input_shape):
    """A `tf.function`: `images` float32 `[None, *input_shape]` -> logits, probabilities."""
    call = logits_fn(model)

    def serve(images):
        logits = call(images)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}

    spec = tf.TensorSpec((None, *input_shape), tf.float32, name=INPUT_NAME)
    return tf.function(serve, input_signature=[spec])


RANDOM_OP_TYPES = (
    "RandomStandardNormal",
    "RandomUniform",
    "RandomUniformInt",
    "TruncatedNormal",
    "StatelessRandomNormal",
    "StatelessRandomNormalV2",
    "StatelessRandomUniform",
    "StatelessRandomUniformV2",
    "StatelessRandomUniformInt",
    "StatelessRandomUniformIntV2",
    "StatelessTruncatedNormal",
    "StatelessTruncatedNormalV2",
)


def random_ops(function):
    """Names of the random-sampling ops in the traced serving function."""
    graph = function.get_concrete_function().graph
    return [op.name for op in graph.get_operations() if op.type in RANDOM_OP_TYPES]


def warn_if_random(prepared):
    """Warns when a deterministic export still samples random numbers (an unswitchable layer)."""
    if prepared.stochastic:
        return
    sampling = random_ops(prepared.function)
    if sampling:
        where = sorted({describe_node(prepared.classifier, op) or f"op '{op}'" for op in sampling})
        warnings.warn(
            f"Model '{prepared.classifier.name}' still samples random numbers at inference with "
            f"its noise layers off ({', '.join(where)}): the export will not be deterministic. "
            "Make that layer the identity when `training=False`, or give it a `noise_active` "
            "switch.",
            stacklevel=4,
        )


def call_logits(model, x):
    """`model`'s logits on the images `x`, a float32 NumPy array `(n, classes)`, or a clear error."""
    try:
        outputs = model(x, training=False)
    except Exception as error:
        raise ValueError(
            f"Model '{model.name}' cannot be called on float32 images of shape "
            f"{(None, *x.shape[1:])}: {type(error).__name__}: {error}. Pass the `input_shape=` "
            "the model was built for (command line: `--input-shape H,W,C`)."
        ) from error
    logits = np.asarray(keras.ops.convert_to_numpy(single_output(outputs, model.name)))
    if logits.ndim != 2:
        raise ValueError(
            f"Model '{model.name}' must return logits of shape (batch, num_classes) for export. "
            f"Received: output shape {logits.shape}"
        )
    return logits.astype("float32")


def build_and_check(model, input_shape):
    """Calls `model` once on a small batch: builds it, checks it returns logits `(n, classes)`."""
    x = np.random.default_rng(0).uniform(size=(2, *input_shape)).astype("float32")
    logits = call_logits(model, x)
    if validation.logits_look_like_probabilities(logits):
        warnings.warn(
            f"Model '{model.name}' seems to output softmax probabilities rather than logits: the "
            "exported 'logits' will be probabilities and 'probabilities' a second softmax of them. "
            "Remove the final softmax activation before exporting.",
            stacklevel=3,
        )
    return logits.shape[-1]


class Prepared:
    """The deployable classifier, its per-example input shape and its serving `tf.function`."""

    def __init__(self, classifier, input_shape, function, num_classes, stochastic):
        self.classifier = classifier
        self.input_shape = input_shape
        self.function = function
        self.num_classes = num_classes
        self.stochastic = stochastic


@contextlib.contextmanager
def prepared(model, *, stochastic=False, input_shape=None):
    """Context manager: unwraps, fixes the noise state and builds the serving function."""
    stochastic = check_stochastic(stochastic)
    classifier = unwrap(model)
    shape = resolve_input_shape(classifier, input_shape)
    with deployment_state(classifier, stochastic):
        num_classes = build_and_check(classifier, shape)
        result = Prepared(
            classifier, shape, serving_function(classifier, shape), num_classes, stochastic
        )
        warn_if_random(result)
        yield result


def describe_node(model, node_name):
    """Names the Keras layer an exported graph node came from (its name scope), if any.

    Traced name scopes are uniquified with a `_<n>` suffix (layer `conv` runs under `conv_1/`), so
    the name without its last suffix is tried first.
    """
    layers = {layer.name: layer for layer in iter_layers(model) if layer is not model}
    for component in reversed(node_name.split("/")[:-1]):
        for candidate in (re.sub(r"_\d+$", "", component), component):
            if candidate in layers:
                layer = layers[candidate]
                return f"layer '{layer.name}' ({type(layer).__name__})"
    return None
