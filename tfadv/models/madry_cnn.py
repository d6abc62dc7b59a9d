"""`madry_cnn`: the MNIST CNN of Madry et al.'s MNIST challenge."""

import keras

from tfadv.models import _common


@_common.MODELS.register
def madry_cnn(
    *,
    input_shape=(28, 28, 1),
    num_classes=10,
    mean=None,
    std=None,
    noise_stddev=None,
    pni=False,
    pni_alpha_shape="layerwise",
    name="madry_cnn",
):
    """Builds the MNIST CNN of Madry et al. (2018), the TensorFlow-tutorial network.

    A 5x5 convolution with 32 filters and a 5x5 convolution with 64 filters ("same" padding, ReLU),
    each followed by a 2x2 max pooling ("same"), a dense layer of 1024 units (ReLU) and the output
    layer. As in `mnist_challenge/model.py`, every weight starts from a truncated normal with
    standard deviation 0.1 and every bias at 0.1. It has no batch norm, so no `dual_bn` option.

    Parameter counts: 3,274,634 for 28x28x1 inputs (7 * 7 * 64 = 3136 features into the dense
    layer) and 10 classes, all trainable; 4,259,274 for 32x32x3 inputs.

    Args:
        input_shape: `(height, width, channels)`. Defaults to `(28, 28, 1)`.
        num_classes: int, the number of logits. Defaults to `10`.
        mean: optional per-channel mean; with `mean` or `std`, `(x - mean) / std` is the model's
            first layer, so the model takes images in [0, 1]. Defaults to `None` (Madry et al. feed
            MNIST in [0, 1] unnormalised).
        std: optional per-channel standard deviation, > 0. Defaults to `None`.
        noise_stddev: optional float >= 0; if set, a `tfadv.layers.GaussianNoiseInjection` on the
            input. Defaults to `None`.
        pni: bool, whether every convolution and dense layer is a `tfadv.layers.NoisyConv2D` /
            `tfadv.layers.NoisyDense`. Defaults to `False`.
        pni_alpha_shape: `"layerwise"`, `"channelwise"` or `"elementwise"`. Defaults to
            `"layerwise"`.
        name: model name. Defaults to `"madry_cnn"`.

    Returns:
        A `keras.Model` mapping images in [0, 1] to float32 logits (no softmax).

    Example:

    ```python
    model = tfadv.models.madry_cnn()
    model.count_params()  # 3274634
    ```

    Reference:
        Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to
        Adversarial Attacks", ICLR 2018 (arXiv:1706.06083).
    """
    input_shape = _common.check_input_shape(input_shape)
    num_classes = _common.check_num_classes(num_classes)
    layers = _common.LayerFactory(pni=pni, pni_alpha_shape=pni_alpha_shape)
    init = dict(
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.1),
        bias_initializer=keras.initializers.Constant(0.1),
    )

    inputs, x = _common.model_inputs(input_shape, mean=mean, std=std, noise_stddev=noise_stddev)
    for i, filters in enumerate((32, 64)):
        x = layers.conv(
            x, filters, 5, use_bias=True, activation="relu", name=f"conv{i + 1}", **init
        )
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"pool{i + 1}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = layers.dense(x, 1024, activation="relu", name="fc1", **init)
    x = layers.dense(x, num_classes, name="fc2", **init)
    return keras.Model(inputs, _common.logits_output(x), name=name)
