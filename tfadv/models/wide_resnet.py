"""`wide_resnet`: Wide ResNets (WRN-28-10, WRN-32-10, WRN-34-10, ...)."""

import keras

from tfadv.models import _common
from tfadv.utils.validation import check_number


def _blocks_per_stage(depth):
    if (depth - 4) % 6 == 0:  # Zagoruyko and Komodakis: 6n convolutions + conv1 + classifier + 2.
        return (depth - 4) // 6
    if (depth - 2) % 6 == 0:  # Madry et al.'s "w32-10" counting (FAT, GAIRAT): 6n + 2.
        return (depth - 2) // 6
    raise ValueError(
        "`depth` must be 6n + 4 (10, 16, 22, 28, 34, 40, ...; Zagoruyko and Komodakis) or 6n + 2 "
        f"(Madry et al.'s counting: 32 = 5 blocks per stage) with n >= 1. Received: depth={depth}"
    )


@_common.MODELS.register
def wide_resnet(
    depth=34,
    width=10,
    *,
    input_shape=(32, 32, 3),
    num_classes=10,
    mean=None,
    std=None,
    dropout_rate=0.0,
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
    """Builds a Wide ResNet WRN-`depth`-`width` (Zagoruyko and Komodakis 2016).

    A 3x3 convolution with 16 filters, three stages of `n` pre-activation basic blocks
    (batch norm, ReLU, 3x3 convolution, twice) with `16 * width`, `32 * width` and `64 * width`
    filters (the last two stages start with stride 2; a 1x1 convolution is the shortcut where the
    shape changes), a final batch norm and ReLU, global average pooling and a dense layer. It
    follows the code used by TRADES, MART, FAT and GAIRAT (`WideResNet`, from xternalz), including
    its quirk that a block changing the number of channels feeds the pre-activated input to its
    shortcut; convolutions start from `N(0, 2 / fan_out)`, the dense layer from PyTorch's default
    with a zero bias, batch norm uses PyTorch's defaults.

    Depth: `6n + 4` counts as Zagoruyko and Komodakis do (n = 4 for WRN-28, 5 for WRN-34). Madry et
    al.'s CIFAR model "w32-10", and FAT and GAIRAT after it (`Wide_ResNet_Madry`,
    `n = (depth - 2) / 6`), count `6n + 2`: their WRN-32-10 has 5 blocks per stage and is the same
    network as WRN-34-10. Both counts are accepted (they never overlap).

    Parameter counts (CIFAR-10, 32x32x3, 10 classes), trainable / `count_params()` (which also
    counts the batch-norm moving statistics):

    | model | trainable | count_params() |
    |---|---|---|
    | WRN-10-1 | 77,850 | 78,330 |
    | WRN-16-2 | 691,674 | 693,498 |
    | WRN-28-10 | 36,479,194 (36.5M) | 36,497,146 |
    | WRN-32-10 = WRN-34-10 | 46,160,474 (46.2M) | 46,182,906 |

    (TRADES's `wideresnet.py` also defines an unused `sub_block1`, which makes PyTorch report
    48,262,586 parameters for its WRN-34-10; it takes no part in the forward pass.)

    Args:
        depth: int, `6n + 4` or `6n + 2`, see above. Defaults to `34`.
        width: int >= 1, the widening factor. Defaults to `10`.
        input_shape: `(height, width, channels)` of the images. Defaults to `(32, 32, 3)`.
        num_classes: int, the number of logits. Defaults to `10`.
        mean: optional per-channel mean; with `mean` or `std`, `(x - mean) / std` is the model's
            first layer, so the model takes images in [0, 1]. Defaults to `None`.
        std: optional per-channel standard deviation, > 0. Defaults to `None`.
        dropout_rate: float in [0, 1), dropout between the two convolutions of a block (0.3 in
            Zagoruyko and Komodakis and in Pinot et al.'s noise injection). Defaults to `0.0`.
        dual_bn: bool, whether every batch norm is a `tfadv.layers.DualBatchNormalization`.
            Defaults to `False`.
        noise_stddev: optional float >= 0; if set, a `tfadv.layers.GaussianNoiseInjection` on the
            input (Pinot et al. use a WRN-28-10). Defaults to `None`.
        pni: bool, whether every convolution and dense layer is a `tfadv.layers.NoisyConv2D` /
            `tfadv.layers.NoisyDense`. Defaults to `False`.
        pni_alpha_shape: `"layerwise"`, `"channelwise"` or `"elementwise"`. Defaults to
            `"layerwise"`.
        denoise: bool, whether to insert `tfadv.layers.NonLocalDenoising` blocks. Defaults to
            `False`.
        denoise_blocks: `"stages"` (after each stage), `"all"` (after every block) or a sequence of
            stage indices in [0, 3). Defaults to `None`, meaning `"stages"`.
        denoise_embed: bool, `embed` of the denoising blocks. Defaults to `True`.
        denoise_softmax: bool, `softmax` of the denoising blocks. Defaults to `True`.
        name: optional model name. Defaults to `"wide_resnet{depth}_{width}"`.

    Returns:
        A `keras.Model` mapping images in [0, 1] to float32 logits (no softmax).

    Example:

    ```python
    model = tfadv.models.wide_resnet(34, 10)  # TRADES / MART
    tiny = tfadv.models.wide_resnet(10, 1)  # for tests
    ```

    Reference:
        Zagoruyko, Komodakis, "Wide Residual Networks", BMVC 2016 (arXiv:1605.07146).
    """
    depth = check_number("depth", depth, minimum=8, integer=True)
    blocks = _blocks_per_stage(depth)
    width = check_number("width", width, minimum=1, integer=True)
    dropout_rate = check_number("dropout_rate", dropout_rate, minimum=0.0)
    if dropout_rate >= 1.0:
        raise ValueError(f"`dropout_rate` must be < 1. Received: dropout_rate={dropout_rate}")
    input_shape = _common.check_input_shape(input_shape, known_size=False)
    num_classes = _common.check_num_classes(num_classes)
    stage_filters = (16 * width, 32 * width, 64 * width)
    layers = _common.LayerFactory(
        dual_bn=dual_bn,
        pni=pni,
        pni_alpha_shape=pni_alpha_shape,
        denoise=_common.denoise_options(
            denoise, denoise_blocks, denoise_embed, denoise_softmax, len(stage_filters)
        ),
    )
    conv_init = _common.kaiming_normal("fan_out")

    inputs, x = _common.model_inputs(input_shape, mean=mean, std=std, noise_stddev=noise_stddev)
    x = layers.conv(x, 16, 3, kernel_initializer=conv_init, name="conv1")
    for stage, filters in enumerate(stage_filters):
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            prefix = f"stage{stage + 1}_block{block + 1}"
            activated = layers.bn_relu(x, name=f"{prefix}_1")
            if x.shape[-1] == filters and strides == 1:
                shortcut = x
            else:
                shortcut = layers.conv(
                    activated,
                    filters,
                    1,
                    strides=strides,
                    kernel_initializer=conv_init,
                    name=f"{prefix}_shortcut",
                )
            residual = layers.conv(
                activated,
                filters,
                3,
                strides=strides,
                kernel_initializer=conv_init,
                name=f"{prefix}_conv1",
            )
            residual = layers.bn_relu(residual, name=f"{prefix}_2")
            if dropout_rate > 0:
                residual = keras.layers.Dropout(dropout_rate, name=f"{prefix}_dropout")(residual)
            residual = layers.conv(
                residual, filters, 3, kernel_initializer=conv_init, name=f"{prefix}_conv2"
            )
            x = keras.layers.Add(name=f"{prefix}_add")([shortcut, residual])
            x = layers.maybe_denoise(x, stage, block, blocks, name=f"{prefix}_denoise")
    x = layers.bn_relu(x, name="final")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.dense(
        x, num_classes, kernel_initializer=_common.torch_default_init(), name="classifier"
    )
    return keras.Model(inputs, _common.logits_output(x), name=name or f"wide_resnet{depth}_{width}")
