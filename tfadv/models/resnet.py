"""`resnet`: the CIFAR ResNets of He et al. (ResNet-20, 32, 44, 56, 110, 1202, ...)."""

import keras

from tfadv.models import _common
from tfadv.utils.validation import check_choice, check_number

_STAGE_FILTERS = (16, 32, 64)


@_common.MODELS.register
def resnet(
    depth=20,
    *,
    input_shape=(32, 32, 3),
    num_classes=10,
    mean=None,
    std=None,
    shortcut="zero_pad",
    dual_bn=False,
    noise_stddev=None,
    pni=False,
    pni_alpha_shape="layerwise",
    denoise=False,
    denoise_blocks=None,
    denoise_embed=True,
    denoise_softmax=True,
    name=None,
):
    """Builds a CIFAR-style ResNet of depth `6n + 2` (He et al. 2016, Section 4.2).

    A 3x3 convolution with 16 filters, then three stages of `n` basic blocks (two 3x3 convolutions
    with batch norm and ReLU, post-activation) with 16, 32 and 64 filters, the last two stages
    starting with stride 2, then global average pooling and a dense layer. This is the network of
    PNI (He, Rakin and Fan 2019), whose reference code it follows: "option A" parameter-free
    shortcuts (subsample, then zero-pad the new channels), convolutions initialised from
    `N(0, 2 / fan_out)`, the dense layer from `N(0, 2 / fan_in)`, batch norm with PyTorch's
    defaults (`momentum=0.9`, `epsilon=1e-5` in Keras terms).

    Parameter counts (CIFAR-10, 32x32x3 inputs, 10 classes), trainable / `count_params()` (which
    also counts the batch-norm moving statistics):

    | depth | trainable | count_params() |
    |---|---|---|
    | 8 | 75,290 | 75,770 |
    | 14 | 172,506 | 173,434 |
    | 20 | 269,722 (the paper's 0.27M) | 271,098 |
    | 32 | 464,154 (0.46M) | 466,426 |
    | 44 | 658,586 (0.66M) | 661,754 |
    | 56 | 853,018 (0.85M) | 857,082 |
    | 110 | 1,727,962 (the paper's 1.7M) | 1,736,058 |

    `shortcut="projection"` adds 1x1 convolutions with batch norm on the two downsampling shortcuts
    (+2,752 trainable, +2,944 in all, for every depth). `dual_bn=True` doubles the batch-norm
    weights, `pni=True` adds one `alpha` per convolution and dense layer (layerwise) and denoising
    blocks add their own.

    Args:
        depth: int, `6n + 2` with `n >= 1`. Defaults to `20`.
        input_shape: `(height, width, channels)` of the images. Defaults to `(32, 32, 3)`.
        num_classes: int, the number of logits. Defaults to `10`.
        mean: optional per-channel mean (a number or one per channel). With `mean` or `std` a
            `keras.layers.Normalization` computing `(x - mean) / std` is the model's first layer,
            so the model takes images in [0, 1]. Defaults to `None` (0 if only `std` is given).
        std: optional per-channel standard deviation, > 0. Defaults to `None` (1 if only `mean`
            is given).
        shortcut: `"zero_pad"` (option A, the paper's CIFAR choice) or `"projection"` (option B,
            1x1 convolution and batch norm) for the shortcuts that change shape. Defaults to
            `"zero_pad"`.
        dual_bn: bool, whether every batch norm is a `tfadv.layers.DualBatchNormalization`
            (AdvProp). Defaults to `False`.
        noise_stddev: optional float >= 0; if set, a `tfadv.layers.GaussianNoiseInjection` with
            this standard deviation (in [0, 1] pixel units, on at inference) is applied to the
            input. Defaults to `None`.
        pni: bool, whether every convolution and dense layer is a `tfadv.layers.NoisyConv2D` /
            `tfadv.layers.NoisyDense` (parametric noise injection, as in the PNI ResNet-20).
            Defaults to `False`.
        pni_alpha_shape: `"layerwise"`, `"channelwise"` or `"elementwise"`, see
            `tfadv.layers.NoisyConv2D`. Defaults to `"layerwise"`.
        denoise: bool, whether to insert `tfadv.layers.NonLocalDenoising` blocks. Defaults to
            `False`.
        denoise_blocks: where the denoising blocks go (with `denoise=True`): `"stages"` (after the
            last block of every stage, Xie et al.'s "Denoise" ResNet), `"all"` (after every residual
            block, their "DenoiseAll"), or a sequence of stage indices in [0, 3) (after the last
            block of those stages). Defaults to `None`, meaning `"stages"`.
        denoise_embed: bool, `embed` of the denoising blocks. Defaults to `True`.
        denoise_softmax: bool, `softmax` of the denoising blocks. Defaults to `True`.
        name: optional model name. Defaults to `"resnet{depth}"`.

    Returns:
        A `keras.Model` mapping images in [0, 1] to float32 logits (no softmax).

    Example:

    ```python
    model = tfadv.models.resnet(20, mean=(0.4914, 0.4822, 0.4465), std=(0.2471, 0.2435, 0.2616))
    model.count_params()  # 271098 (269722 trainable)
    ```

    Reference:
        He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385); He, Rakin, Fan, "Parametric Noise Injection", CVPR 2019.
    """
    depth = check_number("depth", depth, minimum=8, integer=True)
    if (depth - 2) % 6:
        raise ValueError(
            "`depth` must be 6n + 2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, 1202, ...). "
            f"Received: depth={depth}"
        )
    blocks = (depth - 2) // 6
    input_shape = _common.check_input_shape(input_shape, known_size=False)
    num_classes = _common.check_num_classes(num_classes)
    check_choice("shortcut", shortcut, ("zero_pad", "projection"))
    layers = _common.LayerFactory(
        dual_bn=dual_bn,
        pni=pni,
        pni_alpha_shape=pni_alpha_shape,
        denoise=_common.denoise_options(
            denoise, denoise_blocks, denoise_embed, denoise_softmax, len(_STAGE_FILTERS)
        ),
    )
    conv_init = _common.kaiming_normal("fan_out")

    inputs, x = _common.model_inputs(input_shape, mean=mean, std=std, noise_stddev=noise_stddev)
    x = layers.conv(x, 16, 3, kernel_initializer=conv_init, name="conv1")
    x = layers.bn_relu(x, name="conv1")
    for stage, filters in enumerate(_STAGE_FILTERS):
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            prefix = f"stage{stage + 1}_block{block + 1}"
            residual = layers.conv(
                x, filters, 3, strides=strides, kernel_initializer=conv_init, name=f"{prefix}_conv1"
            )
            residual = layers.bn_relu(residual, name=f"{prefix}_1")
            residual = layers.conv(
                residual, filters, 3, kernel_initializer=conv_init, name=f"{prefix}_conv2"
            )
            residual = layers.bn(residual, name=f"{prefix}_2_bn")
            if strides != 1 or x.shape[-1] != filters:
                if shortcut == "zero_pad":
                    x = _common.ZeroPadShortcut(filters, strides, name=f"{prefix}_shortcut")(x)
                else:
                    x = layers.conv(
                        x,
                        filters,
                        1,
                        strides=strides,
                        kernel_initializer=conv_init,
                        name=f"{prefix}_shortcut",
                    )
                    x = layers.bn(x, name=f"{prefix}_shortcut_bn")
            x = keras.layers.Add(name=f"{prefix}_add")([x, residual])
            x = keras.layers.ReLU(name=f"{prefix}_out")(x)
            x = layers.maybe_denoise(x, stage, block, blocks, name=f"{prefix}_denoise")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.dense(x, num_classes, kernel_initializer=_common.kaiming_normal(), name="classifier")
    return keras.Model(inputs, _common.logits_output(x), name=name or f"resnet{depth}")
