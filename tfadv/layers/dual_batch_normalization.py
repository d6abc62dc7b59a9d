"""`DualBatchNormalization` and its routing context manager."""

import contextlib
import threading

import keras
import tensorflow as tf

from tfadv.layers._utils import iter_layers, refresh_compiled_functions

_BN_ARGS = (
    "axis",
    "momentum",
    "epsilon",
    "center",
    "scale",
    "beta_initializer",
    "gamma_initializer",
    "moving_mean_initializer",
    "moving_variance_initializer",
    "beta_regularizer",
    "gamma_regularizer",
    "beta_constraint",
    "gamma_constraint",
    "synchronized",
)


_UNSET = object()


class _Routing:
    """The auxiliary-branch switch of one layer: a default plus per-thread overrides.

    `MirroredStrategy` traces each replica in its own thread and switches threads at
    synchronisation points (a synchronised batch norm's all-reduce), so a switch flipped by one
    replica inside `use_auxiliary_bn` must not be seen by another. Entered from a replica thread,
    the context sets only that thread's override; entered elsewhere, it also sets the default that
    replica threads started inside it read.
    """

    def __init__(self):
        self.default = False
        self.per_thread = {}

    def get(self):
        return self.per_thread.get(threading.get_ident(), self.default)

    def enter(self, value, set_default):
        thread = threading.get_ident()
        token = (
            thread,
            self.per_thread.get(thread, _UNSET),
            self.default if set_default else _UNSET,
        )
        self.per_thread[thread] = value
        if set_default:
            self.default = value
        return token

    def exit(self, token):
        thread, previous, default = token
        if previous is _UNSET:
            self.per_thread.pop(thread, None)
        else:
            self.per_thread[thread] = previous
        if default is not _UNSET:
            self.default = default


@keras.saving.register_keras_serializable(package="tfadv")
class DualBatchNormalization(keras.layers.Layer):
    """Two batch normalizations, a main and an auxiliary one, selected per forward pass.

    AdvProp (Xie et al. 2020) normalises clean examples with the main batch norm and adversarial
    examples with an auxiliary one, because the two come from different distributions (the
    "two-domain hypothesis" of Xie and Yuille 2020). Each branch is a full
    `keras.layers.BatchNormalization` with its own `gamma`, `beta`, moving mean and moving variance;
    every other weight of the model is shared.

    Which branch a call uses is a Python switch read at call time (so at trace time inside a
    `tf.function`): the main branch by default, the auxiliary branch while the model is inside
    `tfadv.layers.use_auxiliary_bn(model)`. Inference and export use the main branch. Both branches
    are saved with the layer; the auxiliary one can be discarded after training.

    The arguments are those of `keras.layers.BatchNormalization` and apply to both branches. The
    layer has twice the weights of one batch norm.

    Args:
        axis: int, the axis to normalise (the channels). Defaults to `-1`.
        momentum: float, momentum of the moving averages. Defaults to `0.99` (Keras). PyTorch's
            `momentum=0.1` is Keras's `momentum=0.9`.
        epsilon: float, added to the variance. Defaults to `1e-3` (Keras; PyTorch uses `1e-5`).
        center: bool, whether to learn an offset `beta`. Defaults to `True`.
        scale: bool, whether to learn a scale `gamma`. Defaults to `True`.
        beta_initializer: initializer for `beta`. Defaults to `"zeros"`.
        gamma_initializer: initializer for `gamma`. Defaults to `"ones"`.
        moving_mean_initializer: initializer for the moving mean. Defaults to `"zeros"`.
        moving_variance_initializer: initializer for the moving variance. Defaults to `"ones"`.
        beta_regularizer: optional regularizer for `beta`. Defaults to `None`.
        gamma_regularizer: optional regularizer for `gamma`. Defaults to `None`.
        beta_constraint: optional constraint for `beta`. Defaults to `None`.
        gamma_constraint: optional constraint for `gamma`. Defaults to `None`.
        synchronized: bool, whether to synchronise the batch statistics across replicas under a
            distribution strategy. Defaults to `False`.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`).

    Attributes:
        main_bn: the main `BatchNormalization`.
        aux_bn: the auxiliary `BatchNormalization`.
        use_auxiliary: bool, whether calls from the current thread use the auxiliary branch (not
            saved). Setting it changes the default for every thread; prefer
            `use_auxiliary_bn(model)`.

    Example:

    ```python
    model = tfadv.models.resnet(20, dual_bn=True)
    logits_clean = model(x, training=True)  # main batch norms
    with tfadv.layers.use_auxiliary_bn(model):
        logits_adv = model(x_adv, training=True)  # auxiliary batch norms
    ```

    Reference:
        Xie, Tan, Gong, Wang, Yuille, Le, "Adversarial Examples Improve Image Recognition",
        CVPR 2020 (arXiv:1911.09665).
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.supports_masking = True
        bn_kwargs = dict(
            axis=axis,
            momentum=momentum,
            epsilon=epsilon,
            center=center,
            scale=scale,
            beta_initializer=beta_initializer,
            gamma_initializer=gamma_initializer,
            moving_mean_initializer=moving_mean_initializer,
            moving_variance_initializer=moving_variance_initializer,
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
            synchronized=synchronized,
        )
        self.main_bn = keras.layers.BatchNormalization(
            **bn_kwargs, dtype=self.dtype_policy, name="main_bn"
        )
        self.aux_bn = keras.layers.BatchNormalization(
            **bn_kwargs, dtype=self.dtype_policy, name="aux_bn"
        )
        # Keep every argument under its own name (the Keras convention).
        self.axis = self.main_bn.axis
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.synchronized = synchronized
        self._routing = _Routing()

    @property
    def use_auxiliary(self):
        return self._routing.get()

    @use_auxiliary.setter
    def use_auxiliary(self, value):
        self._routing.default = bool(value)

    def build(self, input_shape):
        self.main_bn.build(input_shape)
        self.aux_bn.build(input_shape)

    def call(self, inputs, training=None, mask=None):
        branch = self.aux_bn if self.use_auxiliary else self.main_bn
        return branch(inputs, training=training, mask=mask)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        bn_config = self.main_bn.get_config()
        config.update({name: bn_config[name] for name in _BN_ARGS})
        return config

    @classmethod
    def from_batch_normalization(cls, layer):
        """Returns an unbuilt `DualBatchNormalization` with the settings of a `BatchNormalization`.

        Both branches take the arguments of `layer` (and its name and dtype policy); copy the
        weights with `set_weights_from_batch_normalization` once it is built.
        """
        bn_config = layer.get_config()
        config = {name: bn_config[name] for name in _BN_ARGS if name in bn_config}
        return cls(**config, name=layer.name, dtype=layer.dtype_policy, trainable=layer.trainable)

    def set_weights_from_batch_normalization(self, layer):
        """Copies the weights of a built `BatchNormalization` into both branches."""
        weights = layer.get_weights()
        self.main_bn.set_weights(weights)
        self.aux_bn.set_weights(weights)


def dual_bn_layers(model):
    """Every `DualBatchNormalization` inside `model` (nested models and layers included)."""
    return [layer for layer in iter_layers(model) if isinstance(layer, DualBatchNormalization)]


@contextlib.contextmanager
def use_auxiliary_bn(model, enabled=True):
    """Routes every `DualBatchNormalization` in `model` to its auxiliary branch, while active.

    With `enabled=False` it routes them to the main branch instead, whatever an enclosing context
    said (export uses this to serve the main statistics).

    The layers are found recursively through nested models and layers. The switch is a Python
    attribute read when a layer is called, so inside one traced `train_step` a forward pass within
    the context uses the auxiliary batch norms and one outside uses the main ones. Contexts nest:
    leaving one restores the previous routing. Under a distribution strategy, a context entered
    inside a replica function (such as `train_step` under `MirroredStrategy`) affects only that
    replica; one entered outside `strategy.run` affects every replica it runs. Called eagerly, it
    also makes Keras re-trace the model's cached `predict`/`evaluate`/`fit` functions on entry and
    exit, so `with use_auxiliary_bn(model): model.predict(x)` uses the auxiliary statistics.

    Args:
        model: a Keras model or layer containing `DualBatchNormalization` layers.
        enabled: bool, route to the auxiliary (`True`) or the main (`False`) branch. Defaults to
            `True`.

    Raises:
        ValueError: if `model` contains no `DualBatchNormalization` layer (it would silently share
            one batch norm between clean and adversarial examples).

    Example:

    ```python
    model = tfadv.models.wide_resnet(28, 10, dual_bn=True)
    with tfadv.layers.use_auxiliary_bn(model):
        logits_adv = model(x_adv, training=True)
    ```

    Reference:
        Xie et al., "Adversarial Examples Improve Image Recognition", CVPR 2020.
    """
    layers = dual_bn_layers(model)
    if not layers:
        raise ValueError(
            "`use_auxiliary_bn` needs a model with `tfadv.layers.DualBatchNormalization` layers; "
            "build it with `dual_bn=True` or convert it with `tfadv.layers.convert_to_dual_bn`. "
            f"Received: model={getattr(model, 'name', model)!r} without any"
        )
    # Inside a replica of a distribution strategy the switch is private to the replica's thread.
    in_replica = tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context()
    tokens = [layer._routing.enter(bool(enabled), set_default=not in_replica) for layer in layers]
    refresh_compiled_functions(model)
    try:
        yield model
    finally:
        for layer, token in zip(layers, tokens, strict=True):
            layer._routing.exit(token)
        refresh_compiled_functions(model)
