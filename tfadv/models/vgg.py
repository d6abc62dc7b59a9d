"""`vgg11`: the CIFAR VGG-11 with batch norm."""

import keras

from tfadv.models import _common
from tfadv.utils.validation import check_number

# Filters relative to the first layer's 64; "M" is a 2x2 max pooling.
_VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


@_common.MODELS.register
def vgg11(
    *,
    input_shape=(32, 32, 3),
    num_classes=10,
    mean=None,
    std=None,
    dual_bn=False,
    noise_stddev=None,
    pni=False,
    pni_alpha_shape="layerwise",
    width=64,
    name="vgg11",
):
    """Builds VGG-11 with batch norm for 32x32 images (Simonyan and Zisserman 2015, config A).

    Eight 3x3 convolutions (64, 128, 256, 256, 512, 512, 512, 512 filters, each with a bias, batch
    norm and ReLU) with five 2x2 max poolings, then a single dense layer on the flattened features.
    It follows kuangliu's CIFAR `VGG('VGG11')`, used as a baseline in adversarial-training papers,
    with PyTorch's default initialisation and batch-norm settings.

    Parameter counts (CIFAR-10, 32x32x3, 10 classes): 9,231,114 trainable, 9,236,618 with
    `count_params()`, which also counts the batch-norm moving statistics. With `width=8` (for
    tests): 145,898 trainable, 146,586 `count_params()`. Larger inputs keep a spatial map after the
    last pooling and so a larger dense layer; inputs must be at least 32x32.

    Args:
        input_shape: `(height, width, channels)`, at least 32x32. Defaults to `(32, 32, 3)`.
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
        width: int, filters of the first convolution (the others scale with it). Defaults to `64`
            (the reference); smaller values give tiny models for tests.
        name: model name. Defaults to `"vgg11"`.

    Returns:
        A `keras.Model` mapping images in [0, 1] to float32 logits (no softmax).

    Example:

    ```python
    model = tfadv.models.vgg11(num_classes=100)
    ```

    Reference:
        Simonyan, Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
        Recognition", ICLR 2015 (arXiv:1409.1556).
    """
    width = check_number("width", width, minimum=1, integer=True)
    input_shape = _common.check_input_shape(input_shape, min_size=32)
    num_classes = _common.check_num_classes(num_classes)
    layers = _common.LayerFactory(dual_bn=dual_bn, pni=pni, pni_alpha_shape=pni_alpha_shape)
    init = _common.torch_default_init()

    inputs, x = _common.model_inputs(input_shape, mean=mean, std=std, noise_stddev=noise_stddev)
    conv_index = pool_index = 0
    for item in _VGG11:
        if item == "M":
            pool_index += 1
            x = keras.layers.MaxPooling2D(2, name=f"pool{pool_index}")(x)
            continue
        conv_index += 1
        x = layers.conv(
            x,
            width * item // 64,
            3,
            use_bias=True,
            kernel_initializer=init,
            name=f"conv{conv_index}",
        )
        x = layers.bn_relu(x, name=f"conv{conv_index}")
    x = keras.layers.Flatten(name="flatten")(x)
    x = layers.dense(x, num_classes, kernel_initializer=init, name="classifier")
    return keras.Model(inputs, _common.logits_output(x), name=name)
