"""`convert_to_dual_bn`: a copy of a model with `DualBatchNormalization` for its batch norms."""

import warnings

import keras

from tfadv.layers._utils import iter_layers
from tfadv.layers.dual_batch_normalization import DualBatchNormalization, dual_bn_layers
from tfadv.layers.non_local_denoising import NonLocalDenoising


def convert_to_dual_bn(model):
    """Returns a copy of `model` whose `BatchNormalization` layers are `DualBatchNormalization`.

    The model is cloned with `keras.models.clone_model` (recursively through nested Sequential and
    Functional models). Each `BatchNormalization` becomes a `DualBatchNormalization` with the same
    name and arguments, whose main AND auxiliary branches start from the original's weights (gamma,
    beta, moving statistics); every other layer is cloned with its weights copied. The copy computes
    exactly what the original computes; the original is left untouched. The copy is not compiled.
    `tfadv.layers.NonLocalDenoising` blocks are converted too (their batch norm becomes dual).

    Batch norms held inside a custom (subclassed) layer are not reached by cloning; they are left
    as they are, with a warning.

    Args:
        model: a built Functional or Sequential `keras.Model`.

    Returns:
        A new `keras.Model`.

    Example:

    ```python
    model = tfadv.models.resnet(20)
    dual = tfadv.layers.convert_to_dual_bn(model)
    with tfadv.layers.use_auxiliary_bn(dual):
        logits_adv = dual(x_adv, training=True)
    ```

    Reference:
        Xie et al., "Adversarial Examples Improve Image Recognition", CVPR 2020.
    """
    if not _is_cloneable(model):
        raise ValueError(
            "`convert_to_dual_bn` needs a Functional or Sequential `keras.Model`; for a subclassed "
            "model, build its batch norms as `tfadv.layers.DualBatchNormalization`. Received: "
            f"model of type {type(model).__name__}"
        )
    pairs = []

    def clone_function(layer):
        if isinstance(layer, NonLocalDenoising) and not layer.dual_bn:
            clone = NonLocalDenoising.from_config({**layer.get_config(), "dual_bn": True})
        elif isinstance(layer, keras.layers.BatchNormalization):
            if getattr(layer, "renorm", False):
                raise ValueError(
                    "`convert_to_dual_bn` does not support batch renormalization. Received: "
                    f"layer {layer.name!r} with renorm=True"
                )
            clone = DualBatchNormalization.from_batch_normalization(layer)
        else:
            clone = layer.__class__.from_config(layer.get_config())
        pairs.append((layer, clone))
        return clone

    new_model = keras.models.clone_model(model, clone_function=clone_function, recursive=True)
    for original, clone in pairs:
        if not original.built or not original.weights:
            continue
        if isinstance(clone, DualBatchNormalization):
            clone.set_weights_from_batch_normalization(original)
        elif isinstance(clone, NonLocalDenoising) and not original.dual_bn:
            for name in ("theta", "phi", "conv"):
                if getattr(original, name) is not None:
                    getattr(clone, name).set_weights(getattr(original, name).get_weights())
            clone.bn.set_weights_from_batch_normalization(original.bn)
        else:
            clone.set_weights(original.get_weights())
    branches = set()
    for dual in dual_bn_layers(new_model):
        branches.update((id(dual.main_bn), id(dual.aux_bn)))
    left = [
        layer.name
        for layer in iter_layers(new_model)
        if isinstance(layer, keras.layers.BatchNormalization) and id(layer) not in branches
    ]
    if left:
        warnings.warn(
            "`convert_to_dual_bn` left these BatchNormalization layers unchanged because they are "
            f"nested in custom layers that cloning cannot enter: {left}",
            stacklevel=2,
        )
    return new_model


def _is_cloneable(model):
    # Keras exports no public name for Functional models: a Functional model is an instance of a
    # class named "Functional" (`keras.Model(inputs, outputs)` returns one; Sequential is another).
    if isinstance(model, keras.Sequential):
        return True
    return any(cls.__name__ == "Functional" for cls in type(model).__mro__)
