"""Pieces shared by the tfadv model builders: argument checks, the input block, layer factories."""

import keras
import numpy as np
from keras import ops

from tfadv.layers.dual_batch_normalization import DualBatchNormalization
from tfadv.layers.gaussian_noise_injection import GaussianNoiseInjection
from tfadv.layers.noisy_conv2d import NoisyConv2D
from tfadv.layers.noisy_dense import NoisyDense
from tfadv.layers.non_local_denoising import NonLocalDenoising
from tfadv.utils.registry import Registry
from tfadv.utils.validation import check_choice, check_number

#: Every model builder of the zoo, by name (`tfadv.models.get("wide_resnet")`).
MODELS = Registry("model", package="tfadv.models")

# PyTorch's BatchNorm2d defaults (its momentum=0.1 is Keras's momentum=0.9): every CIFAR reference
# architecture here comes from a PyTorch code base.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5

PNI_ALPHA_SHAPES = ("layerwise", "channelwise", "elementwise")


def torch_default_init():
    """`nn.Conv2d` / `nn.Linear` default kernel init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform")


def kaiming_normal(mode="fan_in"):
    """`nn.init.kaiming_normal_` (ReLU gain): an untruncated N(0, 2 / fan)."""
    return keras.initializers.VarianceScaling(2.0, mode, "untruncated_normal")


def check_bool(name, value):
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool. Received: {name}={value!r}")
    return value


def check_input_shape(input_shape, *, min_size=1, known_size=True):
    """Checks a channels-last image shape `(height, width, channels)` and returns it as a tuple."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if shape is None or len(shape) != 3:
        raise ValueError(
            "`input_shape` must be (height, width, channels). "
            f"Received: input_shape={input_shape!r}"
        )
    for i, dim in enumerate(shape):
        if dim is None and i < 2 and not known_size:
            continue
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(
                "`input_shape` must hold positive integers (height, width, channels). "
                f"Received: input_shape={input_shape!r}"
            )
        if i < 2 and dim < min_size:
            raise ValueError(
                f"`input_shape` must be at least {min_size}x{min_size} for this architecture. "
                f"Received: input_shape={input_shape!r}"
            )
    return tuple(None if dim is None else int(dim) for dim in shape)


def check_num_classes(num_classes):
    return check_number("num_classes", num_classes, minimum=1, integer=True)


def _per_channel(name, value, channels, positive):
    try:
        array = np.asarray(value, dtype="float64").reshape(-1)
    except (TypeError, ValueError):
        array = None
    if array is None or array.size not in (1, channels) or not np.all(np.isfinite(array)):
        raise ValueError(
            f"`{name}` must be a finite number or one per input channel ({channels}). "
            f"Received: {name}={value!r}"
        )
    if positive and not np.all(array > 0):
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value!r}")
    return np.broadcast_to(array, (channels,)).tolist()


def model_inputs(input_shape, *, mean, std, noise_stddev):
    """The input block: `Input` -> optional noise (pixel space) -> optional normalisation.

    Returns `(inputs, x)`. The model takes images in [0, 1]; the noise is added in that space
    (before normalisation), and the per-channel normalisation `(x - mean) / std` is a layer of the
    model, so attacks always work in [0, 1] pixel space.
    """
    inputs = keras.Input(input_shape, name="images")
    x = inputs
    if noise_stddev is not None:
        stddev = check_number("noise_stddev", noise_stddev, minimum=0.0)
        x = GaussianNoiseInjection(stddev, name="noise_injection")(x)
    if mean is not None or std is not None:
        channels = input_shape[-1]
        mean = _per_channel("mean", 0.0 if mean is None else mean, channels, positive=False)
        std = _per_channel("std", 1.0 if std is None else std, channels, positive=True)
        x = keras.layers.Normalization(
            mean=mean, variance=[s * s for s in std], name="normalization"
        )(x)
    return inputs, x


def logits_output(x):
    """Names the logits and returns them in float32 (also under a mixed precision policy)."""
    return keras.layers.Activation("linear", dtype="float32", name="logits")(x)


class LayerFactory:
    """Creates the layers of a builder, swapping in the tfadv variants the options ask for."""

    def __init__(self, *, dual_bn=False, pni=False, pni_alpha_shape="layerwise", denoise=None):
        self.dual_bn = check_bool("dual_bn", dual_bn)
        self.pni = check_bool("pni", pni)
        self.pni_alpha_shape = check_choice("pni_alpha_shape", pni_alpha_shape, PNI_ALPHA_SHAPES)
        self.denoise = denoise

    def conv(
        self,
        x,
        filters,
        kernel_size,
        *,
        strides=1,
        use_bias=False,
        kernel_initializer,
        bias_initializer="zeros",
        padding="same",
        activation=None,
        name,
    ):
        if strides > 1 and kernel_size > 1 and padding == "same":
            # PyTorch's symmetric `padding=k//2`; Keras's "same" pads strided convs asymmetrically,
            # which would shift the residual branch one pixel against the shortcut.
            x = keras.layers.ZeroPadding2D(kernel_size // 2, name=f"{name}_pad")(x)
            padding = "valid"
        kwargs = dict(
            strides=strides,
            padding=padding,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            activation=activation,
            name=name,
        )
        if self.pni:
            return NoisyConv2D(filters, kernel_size, alpha_shape=self.pni_alpha_shape, **kwargs)(x)
        return keras.layers.Conv2D(filters, kernel_size, **kwargs)(x)

    def dense(
        self, x, units, *, kernel_initializer, bias_initializer="zeros", activation=None, name
    ):
        kwargs = dict(
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            activation=activation,
            name=name,
        )
        if self.pni:
            return NoisyDense(units, alpha_shape=self.pni_alpha_shape, **kwargs)(x)
        return keras.layers.Dense(units, **kwargs)(x)

    def bn(self, x, *, name):
        bn_class = DualBatchNormalization if self.dual_bn else keras.layers.BatchNormalization
        return bn_class(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)(x)

    def bn_relu(self, x, *, name):
        x = self.bn(x, name=f"{name}_bn")
        return keras.layers.ReLU(name=f"{name}_relu")(x)

    def maybe_denoise(self, x, stage, block, blocks_per_stage, *, name):
        """Inserts a `NonLocalDenoising` block after `(stage, block)` if the options ask for one."""
        if self.denoise is None or not self.denoise.wants(stage, block, blocks_per_stage):
            return x
        return NonLocalDenoising(
            embed=self.denoise.embed,
            softmax=self.denoise.softmax,
            dual_bn=self.dual_bn,
            momentum=BN_MOMENTUM,
            epsilon=BN_EPSILON,
            name=name,
        )(x)


class DenoiseOptions:
    """Where to insert `NonLocalDenoising` blocks in a network made of stages of residual blocks."""

    def __init__(self, blocks, embed, softmax, num_stages):
        self.embed = check_bool("denoise_embed", embed)
        self.softmax = check_bool("denoise_softmax", softmax)
        if blocks is None:
            blocks = "stages"
        if isinstance(blocks, str):
            check_choice("denoise_blocks", blocks, ("stages", "all"))
            self.mode, self.stages = blocks, tuple(range(num_stages))
        else:
            try:
                stages = tuple(blocks)
            except TypeError:
                stages = ()
            valid = [
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 0 <= s < num_stages
                for s in stages
            ]
            if not stages or not all(valid):
                raise ValueError(
                    '`denoise_blocks` must be "stages", "all" or a sequence of stage indices in '
                    f"[0, {num_stages}). Received: denoise_blocks={blocks!r}"
                )
            self.mode, self.stages = "stages", tuple(sorted({int(s) for s in stages}))

    def wants(self, stage, block, blocks_per_stage):
        if stage not in self.stages:
            return False
        return self.mode == "all" or block == blocks_per_stage - 1


def denoise_options(denoise, denoise_blocks, denoise_embed, denoise_softmax, num_stages):
    """Validates the `denoise*` builder arguments; returns `DenoiseOptions` or `None`."""
    check_bool("denoise", denoise)
    if not denoise:
        if denoise_blocks is not None:
            raise ValueError(
                "`denoise_blocks` needs `denoise=True`. "
                f"Received: denoise=False, denoise_blocks={denoise_blocks!r}"
            )
        return None
    return DenoiseOptions(denoise_blocks, denoise_embed, denoise_softmax, num_stages)


@keras.saving.register_keras_serializable(package="tfadv")
class ZeroPadShortcut(keras.layers.Layer):
    """The parameter-free "option A" shortcut of He et al.'s CIFAR ResNets.

    Subsamples spatially by `strides` (keeps every `strides`-th pixel, like a 1x1 average pool with
    that stride) and appends zero channels up to `filters`, as `DownsampleA` in the PNI code.
    """

    def __init__(self, filters, strides=2, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_number("filters", filters, minimum=1, integer=True)
        self.strides = check_number("strides", strides, minimum=1, integer=True)
        self.built = True

    def call(self, inputs):
        x = inputs[:, :: self.strides, :: self.strides, :]
        extra = self.filters - inputs.shape[-1]
        if extra < 0:
            raise ValueError(
                f"`ZeroPadShortcut` cannot reduce channels from {inputs.shape[-1]} to "
                f"{self.filters}."
            )
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]])

    def compute_output_shape(self, input_shape):
        def down(dim):
            return None if dim is None else (dim + self.strides - 1) // self.strides

        return (input_shape[0], down(input_shape[1]), down(input_shape[2]), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "strides": self.strides})
        return config
