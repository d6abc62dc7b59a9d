"""Helpers shared by the tfadv layers: layer traversal, runtime switches, the noise switch."""

import keras
import tensorflow as tf

from tfadv.utils.validation import check_number


def iter_layers(model):
    """Returns `model` and every layer nested in it (sub-models and sub-layers), once each."""
    if hasattr(model, "_flatten_layers"):
        return list(model._flatten_layers(include_self=True, recursive=True))
    return [model]


def refresh_compiled_functions(model):
    """Makes Keras re-trace the cached `predict`/`evaluate`/`fit` functions of `model`.

    The tfadv runtime switches (`set_noise_active`, `use_auxiliary_bn`) are Python attributes read
    when a function is traced, and Keras caches its traced `predict_function` etc. Rebuilding the
    cached ones (never creating new ones) lets the next `predict` see the new value. Nothing is done
    while tracing (inside a `tf.function`), where the switch is read by the trace being built.
    """
    if not tf.executing_eagerly():
        return
    for layer in iter_layers(model):
        if not isinstance(layer, keras.Model):
            continue
        for kind in ("train", "test", "predict"):
            if getattr(layer, f"{kind}_function", None) is not None:
                getattr(layer, f"make_{kind}_function")(force=True)


def set_noise_active(model, active):
    """Turns every tfadv noise layer inside `model` on or off.

    Acts on `tfadv.layers.GaussianNoiseInjection`, `tfadv.layers.NoisyConv2D` and
    `tfadv.layers.NoisyDense`, found recursively through nested models and layers. With
    `active=False` they are the identity (noise layers) or plain convolutions / dense layers (PNI),
    in training and at inference: use it for deterministic serving, or to attack the model with its
    randomness fixed (Carlini et al. 2019's sanity check for randomised defences).

    The switch is a Python attribute, read when a function is traced: the model's cached
    `predict`/`evaluate`/`fit` functions are rebuilt so the next call sees it, but a `tf.function`
    of your own that already traced the model keeps the value it traced with. The switch is not
    saved with the model; for a saved model that never adds noise at inference, build the layers
    with `active_at_inference=False`.

    Args:
        model: a Keras model or layer.
        active: bool, whether the noise is on.

    Returns:
        The number of noise layers switched.

    Example:

    ```python
    model = tfadv.models.resnet(20, noise_stddev=0.1, pni=True)
    tfadv.layers.set_noise_active(model, False)  # deterministic predictions
    ```
    """
    if not isinstance(active, bool):
        raise TypeError(f"`active` must be a bool. Received: active={active!r}")
    count = 0
    for layer in iter_layers(model):
        if getattr(layer, "_tfadv_noise_layer", False):
            layer.noise_active = active
            count += 1
    refresh_compiled_functions(model)
    return count


def init_noise_switch(layer, active_at_inference, seed):
    """Gives a tfadv noise layer its switches and its seed; called from the layer's `__init__`.

    Sets `active_at_inference` (saved: noise at inference too), `noise_active` (the runtime switch
    of `set_noise_active`, not saved), `seed` and the layer's `seed_generator`.
    """
    if not isinstance(active_at_inference, bool):
        raise TypeError(
            "`active_at_inference` must be a bool. "
            f"Received: active_at_inference={active_at_inference!r}"
        )
    layer.active_at_inference = active_at_inference
    if seed is not None:
        seed = check_number("seed", seed, integer=True)
    layer.seed = seed
    layer.seed_generator = keras.random.SeedGenerator(seed)
    layer.noise_active = True


def noise_on(layer, training):
    """Whether a noise layer samples noise in this call: switched on, and training or built to
    stay on at inference."""
    return layer.noise_active and (training or layer.active_at_inference)
