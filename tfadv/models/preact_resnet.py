"""`preact_resnet18`: the pre-activation ResNet-18 of Fast-AT and robust overfitting."""

import keras

from tfadv.models import _common
from tfadv.utils.validation import check_number

_STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))


@_common.MODELS.register
def preact_resnet18(
    *,
    input_shape=(32, 32, 3),
    num_classes=10,
    mean=None,
    std=None,
    dual_bn=False,
    noise_stddev=None,
    pni=False,
    pni_alpha_shape="layerwise",
    denoise=False,
    denoise_blocks=None,
    denoise_embed=True,
    denoise_softmax=True,
    width=64,
    name="preact_resnet18",
):
    """Builds the pre-activation ResNet-18 for CIFAR (He et al. 2016, "Identity Mappings").

    A 3x3 convolution with 64 filters, four stages of two pre-activation basic blocks (batch norm,
    ReLU, 3x3 convolution, twice; 64, 128, 256, 512 filters; the last three stages start with
    stride 2 and a 1x1 convolution on the pre-activated input as shortcut), a final batch norm and
    ReLU, global average pooling and a dense layer. It follows `PreActResNet18` of Wong et al.'s
    Fast-AT and Rice et al.'s robust-overfitting code (kuangliu's CIFAR model plus the final batch
    norm), with PyTorch's default initialisation and batch-norm settings.

    Parameter counts (CIFAR-10, 32x32x3, 10 classes): 11,172,170 trainable (the usual 11.17M),
    11,179,978 with `count_params()`, which also counts the batch-norm moving statistics.
    kuangliu's original, without the final batch norm, has 11,171,146. With `width=8` (for
    tests): 176,178 trainable, 177,154 `count_params()`.

    Args:
        input_shape: `(height, width, channels)` of the images. Defaults to `(32, 32, 3)`.
        num_classes: int, the number of logits. Defaults to `10`.
        mean: optional per-channel mean; with `mean` or `std`, `(x - mean) / std` is the model's
            first layer, so the model takes images in [0, 1]. Defaults to `None`.
        std: optional per-channel standard deviation, > 0. Defaults to `None`.
        dual_bn: bool, whether every batch norm is a `tfadv.layers.DualBatchNormalization`.
            Defaults to `False`.
        noise_stddev: optional float >= 0; if set, a `tfadv.layers.GaussianNoiseInjection` on the
            input. Defaults to `None`.
        pni: bool, whether every convolution and dense layer is a `tfadv.layers.NoisyConv2D` /
            `tfadv.layers.NoisyDense`. Defaults to `False`.
        pni_alpha_shape: `"layerwise"`, `"channelwise"` or `"elementwise"`. Defaults to
            `"layerwise"`.
        denoise: bool, whether to insert `tfadv.layers.NonLocalDenoising` blocks. Defaults to
            `False`.
        denoise_blocks: `"stages"` (after each stage), `"all"` (after every block) or a sequence of
            stage indices in [0, 4). Defaults to `None`, meaning `"stages"`.
        denoise_embed: bool, `embed` of the denoising blocks. Defaults to `True`.
        denoise_softmax: bool, `softmax` of the denoising blocks. Defaults to `True`.
        width: int, filters of the first stage (the others are 2x, 4x, 8x). Defaults to `64` (the
            reference); smaller values give tiny models for tests.
        name: model name. Defaults to `"preact_resnet18"`.

    Returns:
        A `keras.Model` mapping images in [0, 1] to float32 logits (no softmax).

    Example:

    ```python
    model = tfadv.models.preact_resnet18(
        mean=(0.4914, 0.4822, 0.4465), std=(0.2471, 0.2435, 0.2616)
    )
    ```

    Reference:
        He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016
        (arXiv:1603.05027); Rice, Wong, Kolter, "Overfitting in adversarially robust deep
        learning", ICML 2020.
    """
    width = check_number("width", width, minimum=1, integer=True)
    input_shape = _common.check_input_shape(input_shape, known_size=False)
    num_classes = _common.check_num_classes(num_classes)
    layers = _common.LayerFactory(
        dual_bn=dual_bn,
        pni=pni,
        pni_alpha_shape=pni_alpha_shape,
        denoise=_common.denoise_options(
            denoise, denoise_blocks, denoise_embed, denoise_softmax, len(_STAGES)
        ),
    )
    conv_init = _common.torch_default_init()

    inputs, x = _common.model_inputs(input_shape, mean=mean, std=std, noise_stddev=noise_stddev)
    x = layers.conv(x, width, 3, kernel_initializer=conv_init, name="conv1")
    for stage, (multiplier, stage_strides) in enumerate(_STAGES):
        filters = width * multiplier // 64
        for block in range(2):
            strides = stage_strides if block == 0 else 1
            prefix = f"stage{stage + 1}_block{block + 1}"
            activated = layers.bn_relu(x, name=f"{prefix}_1")
            if strides != 1 or x.shape[-1] != filters:
                shortcut = layers.conv(
                    activated,
                    filters,
                    1,
                    strides=strides,
                    kernel_initializer=conv_init,
                    name=f"{prefix}_shortcut",
                )
            else:
                shortcut = x
            residual = layers.conv(
                activated,
                filters,
                3,
                strides=strides,
                kernel_initializer=conv_init,
                name=f"{prefix}_conv1",
            )
            residual = layers.bn_relu(residual, name=f"{prefix}_2")
            residual = layers.conv(
                residual, filters, 3, kernel_initializer=conv_init, name=f"{prefix}_conv2"
            )
            x = keras.layers.Add(name=f"{prefix}_add")([residual, shortcut])
            x = layers.maybe_denoise(x, stage, block, 2, name=f"{prefix}_denoise")
    x = layers.bn_relu(x, name="final")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.dense(x, num_classes, kernel_initializer=conv_init, name="classifier")
    return keras.Model(inputs, _common.logits_output(x), name=name)
