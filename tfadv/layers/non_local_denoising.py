"""`NonLocalDenoising`: the feature-denoising block of Xie et al. (CVPR 2019)."""

import math

import keras
from keras import ops

from tfadv.layers.dual_batch_normalization import DualBatchNormalization
from tfadv.utils.validation import check_number


@keras.saving.register_keras_serializable(package="tfadv")
class NonLocalDenoising(keras.layers.Layer):
    """A non-local means denoising block with a residual connection.

    Feature denoising (Xie, Wu, van der Maaten, Yuille and He 2019) cleans the feature maps of an
    adversarially trained network. For a feature map `x` of shape `(batch, H, W, C)` the block
    computes

        y = non_local(x)                        # a weighted mean over all H*W positions
        out = x + BatchNorm(Conv1x1(y))         # BatchNorm gamma initialised to ZERO

    With `softmax=True` (the "embedded Gaussian" version) the weight of position `j` for position
    `i` is `softmax_j(theta_i . phi_j / sqrt(C'))`; with `softmax=False` (the dot-product version)
    it is `theta_i . phi_j / (H * W)`. With `embed=True`, `theta` and `phi` are 1x1 convolutions to
    `C' = C // 2` channels initialised from `N(0, 0.01^2)`; with `embed=False` they are `x` itself.
    The averaged values are always `x` itself. Because gamma starts at zero, a freshly built block
    is exactly the identity, so it can be inserted into a network without changing its function.

    The block costs `O((H * W)^2)` memory per image; the attention is computed in float32 under
    mixed precision. Inputs are channels-last 4D tensors.

    Args:
        embed: bool, whether to embed `theta` and `phi` with 1x1 convolutions. Defaults to `True`.
        softmax: bool, the Gaussian (softmax) version if `True`, the dot-product version if
            `False`. Defaults to `True` (the paper's ResNet-152 "Denoise" setting).
        dual_bn: bool, whether the block's batch norm is a `tfadv.layers.DualBatchNormalization`
            (for AdvProp). Defaults to `False`.
        momentum: float, momentum of the batch norm. Defaults to `0.9` (the reference code).
        epsilon: float, epsilon of the batch norm. Defaults to `1e-5` (the reference code).
        **kwargs: base layer arguments (`name`, `dtype`).

    Example:

    ```python
    inputs = keras.Input((8, 8, 64))
    outputs = tfadv.layers.NonLocalDenoising()(inputs)  # identity at initialisation
    ```

    Reference:
        Xie, Wu, van der Maaten, Yuille, He, "Feature Denoising for Improving Adversarial
        Robustness", CVPR 2019 (arXiv:1812.03411).
    """

    def __init__(
        self, embed=True, softmax=True, dual_bn=False, momentum=0.9, epsilon=1e-5, **kwargs
    ):
        super().__init__(**kwargs)
        for name, value in (("embed", embed), ("softmax", softmax), ("dual_bn", dual_bn)):
            if not isinstance(value, bool):
                raise TypeError(f"`{name}` must be a bool. Received: {name}={value!r}")
        self.embed = embed
        self.softmax = softmax
        self.dual_bn = dual_bn
        self.momentum = check_number("momentum", momentum, minimum=0.0, maximum=1.0)
        self.epsilon = check_number("epsilon", epsilon, minimum=0.0, strict=True)
        self.theta = None
        self.phi = None
        self.conv = None
        self.bn = None

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                "`NonLocalDenoising` needs channels-last 4D inputs with a known number of "
                f"channels. Received: input_shape={tuple(input_shape)}"
            )
        channels = int(input_shape[-1])
        # Created whether used or not, so that a seeded run draws the same default seeds.
        embed_init = keras.initializers.RandomNormal(stddev=0.01)
        if self.embed:
            embed_channels = max(channels // 2, 1)
            self.theta = self._conv1x1(embed_channels, embed_init, "embedding_theta", input_shape)
            self.phi = self._conv1x1(embed_channels, embed_init, "embedding_phi", input_shape)
        conv_init = keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal")
        self.conv = self._conv1x1(channels, conv_init, "conv", input_shape)
        bn_class = DualBatchNormalization if self.dual_bn else keras.layers.BatchNormalization
        self.bn = bn_class(
            momentum=self.momentum,
            epsilon=self.epsilon,
            gamma_initializer="zeros",
            dtype=self.dtype_policy,
            name="bn",
        )
        self.bn.build(input_shape)

    def _conv1x1(self, filters, initializer, name, input_shape):
        conv = keras.layers.Conv2D(
            filters,
            1,
            use_bias=False,
            kernel_initializer=initializer,
            dtype=self.dtype_policy,
            name=name,
        )
        conv.build(input_shape)
        return conv

    def _non_local(self, inputs):
        shape = ops.shape(inputs)
        height, width, channels = shape[1], shape[2], shape[3]
        positions = height * width
        if self.embed:
            theta, phi = self.theta(inputs), self.phi(inputs)
        else:
            theta = phi = inputs
        embed_channels = theta.shape[-1]
        # (batch, HW, C') and (batch, HW, C), in float32 for a stable softmax under mixed precision.
        theta = ops.reshape(ops.cast(theta, "float32"), (-1, positions, embed_channels))
        phi = ops.reshape(ops.cast(phi, "float32"), (-1, positions, embed_channels))
        values = ops.reshape(ops.cast(inputs, "float32"), (-1, positions, channels))
        if self.softmax:
            logits = ops.matmul(theta, ops.transpose(phi, (0, 2, 1)))
            weights = ops.softmax(logits / math.sqrt(embed_channels), axis=-1)
            outputs = ops.matmul(weights, values)
        else:
            # (theta phi^T) values / HW, computed as theta (phi^T values): linear in HW.
            outputs = ops.matmul(theta, ops.matmul(ops.transpose(phi, (0, 2, 1)), values))
            outputs = outputs / ops.cast(positions, "float32")
        return ops.cast(ops.reshape(outputs, shape), inputs.dtype)

    def call(self, inputs, training=None):
        outputs = self.conv(self._non_local(inputs))
        outputs = self.bn(outputs, training=training)
        return inputs + outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embed": self.embed,
                "softmax": self.softmax,
                "dual_bn": self.dual_bn,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
            }
        )
        return config
