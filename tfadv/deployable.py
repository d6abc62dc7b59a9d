"""The deployable classifier: an `AdvModel`'s network, its logits, its inference-time switches.

Evaluation and export must score and ship the same thing: the classifier alone (an `AdvModel`'s
`.classifier`, with no attack code), called in inference mode, returning float32 logits, with its
runtime switches in their deployment state (noise layers on or off, dual batch norms on their
main branch). This module is the one place that defines those three things:

- `unwrap(model)`: the classifier inside (nested) `AdvModel`s;
- `logits_fn(model)` and `LogProbabilities(model)`: logits views of a classifier;
- `deployment_state(model, stochastic)`: a context manager setting the runtime switches, built on
  the layers' own switches (`tfadv.layers.set_noise_active`, `tfadv.layers.use_auxiliary_bn`).
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf

from tfadv.attacks.attack import model_logits
from tfadv.layers._utils import iter_layers, refresh_compiled_functions, set_noise_active
from tfadv.layers.dual_batch_normalization import use_auxiliary_bn

#: Attributes by which a layer tells it injects noise at inference (tfadv.layers' noise layers, or
#: any layer following their convention).
NOISE_ATTRIBUTES = ("active_at_inference", "noise_active")


# ------------------------------------------------------------------------------------ unwrapping
def is_adv_model(model):
    """Duck-typed `tfadv.AdvModel`: a model wrapping a `classifier` together with an `attack`."""
    classifier = getattr(model, "classifier", None)
    return (
        isinstance(classifier, keras.Model) and classifier is not model and hasattr(model, "attack")
    )


def unwrap(model):
    """Returns the classifier to deploy: the `.classifier` of (nested) `AdvModel`s, else `model`."""
    while is_adv_model(model):
        model = model.classifier
    return model


# ---------------------------------------------------------------------------------- logits views
def single_output(outputs, name="model"):
    """The one logits tensor of a classifier's outputs, or a `ValueError`."""
    if isinstance(outputs, dict) and len(outputs) == 1:
        outputs = next(iter(outputs.values()))
    if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
        outputs = outputs[0]
    if isinstance(outputs, (dict, list, tuple)):
        raise ValueError(
            f"Model '{name}' returns {len(outputs)} outputs; export expects a classifier "
            f"returning one logits tensor of shape (batch, num_classes). Received: outputs of type "
            f"{type(outputs).__name__}"
        )
    return outputs


def logits_fn(model):
    """`images -> float32 logits` in inference mode; a model with several outputs is refused."""
    name = model.name

    def fn(images):
        outputs = single_output(model(images, training=False), name)
        return tf.cast(outputs, tf.float32)

    return fn


class LogProbabilities:
    """Wraps a model that ends in a softmax so that it returns log-probabilities (valid logits)."""

    def __init__(self, model):
        self.model = model

    def __call__(self, x, training=False):
        probabilities = tf.cast(model_logits(self.model, x), tf.float32)
        return tf.math.log(tf.maximum(probabilities, 1e-30))


# ------------------------------------------------------------------------------ runtime switches
def noise_layers(model):
    """`(layer, attribute)` pairs for every layer exposing a noise switch."""
    return [
        (layer, attribute)
        for layer in iter_layers(model)
        for attribute in NOISE_ATTRIBUTES
        if hasattr(layer, attribute)
    ]


def _read_flag(layer, attribute):
    value = getattr(layer, attribute)
    if hasattr(value, "numpy"):
        value = value.numpy()
    return bool(np.asarray(value))


def _write_flag(layer, attribute, value):
    current = getattr(layer, attribute)
    if hasattr(current, "assign"):
        current.assign(value)
    else:
        setattr(layer, attribute, bool(value))


def set_noise(model, active):
    """Switches every noise layer of `model` on or off at inference.

    Off: `tfadv.layers.set_noise_active(model, False)`, and `noise_active = False` on any other
    layer with that switch. On: the runtime switch on and `active_at_inference = True`, so a layer
    built to be quiet at inference samples noise too (the caller asked for a stochastic model).
    """
    set_noise_active(model, bool(active))
    for layer in {id(layer): layer for layer, _ in noise_layers(model)}.values():
        has_switch = hasattr(layer, "noise_active")
        if has_switch:
            _write_flag(layer, "noise_active", active)
        if hasattr(layer, "active_at_inference") and (active or not has_switch):
            # On: a layer built quiet at inference samples too. Off, for a layer with no runtime
            # switch: its inference flag is the only way to silence it.
            _write_flag(layer, "active_at_inference", active)


@contextlib.contextmanager
def deployment_state(model, stochastic=False):
    """Temporarily puts `model`'s runtime switches in their deployment state.

    Noise layers on or off (`stochastic`), and dual batch normalisation on its main branch (a layer
    with a `use_auxiliary` switch, such as `tfadv.layers.DualBatchNormalization`, gets `False`). The
    previous switches are restored on exit, so exporting or verifying never changes the model.
    """
    noisy = noise_layers(model)
    dual = [
        layer
        for layer in iter_layers(model)
        if isinstance(getattr(layer, "use_auxiliary", None), bool)
    ]
    if not noisy and not dual:
        yield
        return
    saved = [(layer, attribute, _read_flag(layer, attribute)) for layer, attribute in noisy]
    routing = contextlib.ExitStack()
    if dual:
        routing.enter_context(use_auxiliary_bn(model, enabled=False))
    if noisy:
        set_noise(model, stochastic)
    try:
        with routing:
            yield
    finally:
        for layer, attribute, value in saved:
            _write_flag(layer, attribute, value)
        refresh_compiled_functions(model)
