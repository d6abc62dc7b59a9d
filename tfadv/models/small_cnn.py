"""`small_cnn`: TRADES's MNIST SmallCNN."""

import keras

from tfadv.models import _common
from tfadv.utils.validation import check_number


@_common.MODELS.register
def small_cnn(
    *,
    input_shape=(28, 28, 1),
    num_classes=10,
    mean=None,
    std=None,
    dropout_rate=0.5,
    noise_stddev=None,
    pni=False,
    pni_alpha_shape="layerwise",
    name="small_cnn",
):
    """Builds the SmallCNN of TRADES (Zhang et al. 2019) for MNIST.

    Two pairs of 3x3 "valid" convolutions (32, 32 then 64, 64 filters, ReLU) each followed by a
    2x2 max pooling, then dense layers of 200 and 200 units (ReLU, dropout after the first) and the
    output layer. As in TRADES's `models/small_cnn.py`: convolutions use Kaiming-normal
    initialisation with zero biases, the two hidden dense layers PyTorch's default (with zero
    biases here), and the output layer is initialised to ZERO (the model starts by predicting
    uniform logits). It has no batch norm, so no `dual_bn` option.

    Parameter counts: 312,202 for 28x28x1 inputs (64 * 4 * 4 = 1024 features into the first dense
    layer) and 10 classes; 427,978 for 32x32x3 inputs (1600 features). All are trainable.

    Args:
        input_shape: `(height, width, channels)`, at least 16x16. Defaults to `(28, 28, 1)`.
        num_classes: int, the number of logits. Defaults to `10`.
        mean: optional per-channel mean; with `mean` or `std`, `(x - mean) / std` is the model's
            first layer, so the model takes images in [0, 1]. Defaults to `None` (TRADES feeds
            MNIST in [0, 1] unnormalised).
        std: optional per-channel standard deviation, > 0. Defaults to `None`.
        dropout_rate: float in [0, 1), dropout after the first dense layer. Defaults to `0.5`.
        noise_stddev: optional float >= 0; if set, a `tfadv.layers.GaussianNoiseInjection` on the
            input. Defaults to `None`.
        pni: bool, whether every convolution and dense layer is a `tfadv.layers.NoisyConv2D` /
            `tfadv.layers.NoisyDense` (the zero-initialised output layer has no noise until its
            weights move away from zero). Defaults to `False`.
        pni_alpha_shape: `"layerwise"`, `"channelwise"` or `"elementwise"`. Defaults to
            `"layerwise"`.
        name: model name. Defaults to `"small_cnn"`.

    Returns:
        A `keras.Model` mapping images in [0, 1] to float32 logits (no softmax).

    Example:

    ```python
    model = tfadv.models.small_cnn()
    model.count_params()  # 312202
    ```

    Reference:
        Zhang, Yu, Jiao, Xing, El Ghaoui, Jordan, "Theoretically Principled Trade-off between
        Robustness and Accuracy", ICML 2019 (arXiv:1901.08573).
    """
    input_shape = _common.check_input_shape(input_shape, min_size=16)
    num_classes = _common.check_num_classes(num_classes)
    dropout_rate = check_number("dropout_rate", dropout_rate, minimum=0.0)
    if dropout_rate >= 1.0:
        raise ValueError(f"`dropout_rate` must be < 1. Received: dropout_rate={dropout_rate}")
    layers = _common.LayerFactory(pni=pni, pni_alpha_shape=pni_alpha_shape)
    conv_init = _common.kaiming_normal("fan_in")

    inputs, x = _common.model_inputs(input_shape, mean=mean, std=std, noise_stddev=noise_stddev)
    for i, filters in enumerate((32, 32, 64, 64)):
        x = layers.conv(
            x,
            filters,
            3,
            padding="valid",
            use_bias=True,
            kernel_initializer=conv_init,
            activation="relu",
            name=f"conv{i + 1}",
        )
        if i % 2:
            x = keras.layers.MaxPooling2D(2, name=f"pool{i // 2 + 1}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = layers.dense(
        x, 200, kernel_initializer=_common.torch_default_init(), activation="relu", name="fc1"
    )
    if dropout_rate > 0:
        x = keras.layers.Dropout(dropout_rate, name="dropout")(x)
    x = layers.dense(
        x, 200, kernel_initializer=_common.torch_default_init(), activation="relu", name="fc2"
    )
    x = layers.dense(x, num_classes, kernel_initializer="zeros", name="fc3")
    return keras.Model(inputs, _common.logits_output(x), name=name)
