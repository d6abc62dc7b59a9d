"""`compact_cnn`: a two-convolution CNN for fast adversarial training on CPUs."""

import keras

from tfadv.models import _common
from tfadv.utils.validation import check_number


@_common.MODELS.register
def compact_cnn(
    *,
    input_shape=(28, 28, 1),
    num_classes=10,
    width=1,
    mean=None,
    std=None,
    noise_stddev=None,
    pni=False,
    pni_alpha_shape="layerwise",
    name="compact_cnn",
):
    """Builds a compact CNN: conv3-32, pool, conv3-64, pool, dense 128 (channels times `width`).

    The classic Keras MNIST convnet ("same" 3x3 convolutions with ReLU, 2x2 max pooling, one hidden
    dense layer), the architecture of the PGD-AT timing comparison in the project's PEERS notes. A
    forward pass costs about a fifth of TRADES' SmallCNN, which makes it the default of `tfadv train` on a
    CPU. `width` multiplies every layer's units, for capacity searches.

    Parameter counts (10 classes): 421,642 for 28x28x1 at `width=1` (3,136 features into the dense
    layer); 1,682,954 at `width=2`; 545,098 for 32x32x3 at `width=1`.

    Args:
        input_shape: `(height, width, channels)`, at least 4x4. Defaults to `(28, 28, 1)`.
        num_classes: int, the number of logits. Defaults to `10`.
        width: int >= 1, multiplier of the channel and unit counts. Defaults to `1`.
        mean: optional per-channel mean for in-model normalisation. Defaults to `None`.
        std: optional per-channel standard deviation, > 0. Defaults to `None`.
        noise_stddev: optional float >= 0, a `tfadv.layers.GaussianNoiseInjection` on the input.
            Defaults to `None`.
        pni: bool, use `tfadv.layers.NoisyConv2D` / `NoisyDense` (parametric noise injection).
            Defaults to `False`.
        pni_alpha_shape: `"layerwise"`, `"channelwise"` or `"elementwise"`. Defaults to
            `"layerwise"`.
        name: model name. Defaults to `"compact_cnn"`.

    Returns:
        A `keras.Model` mapping images in [0, 1] to float32 logits (no softmax).

    Example:

    ```python
    model = tfadv.models.compact_cnn(width=2)
    ```

    Reference:
        Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018 (a
        smaller version of their conv5-32 / conv5-64 / FC-1024 MNIST network).
    """
    input_shape = _common.check_input_shape(input_shape, min_size=4)
    num_classes = _common.check_num_classes(num_classes)
    width = check_number("width", width, minimum=1, integer=True)
    layers = _common.LayerFactory(pni=pni, pni_alpha_shape=pni_alpha_shape)
    inputs, x = _common.model_inputs(input_shape, mean=mean, std=std, noise_stddev=noise_stddev)
    for i, filters in enumerate((32, 64)):
        x = layers.conv(
            x,
            filters * width,
            3,
            use_bias=True,
            kernel_initializer="glorot_uniform",
            activation="relu",
            name=f"conv{i + 1}",
        )
        x = keras.layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = layers.dense(
        x, 128 * width, kernel_initializer="glorot_uniform", activation="relu", name="fc1"
    )
    x = layers.dense(x, num_classes, kernel_initializer="glorot_uniform", name="fc2")
    return keras.Model(inputs, _common.logits_output(x), name=name)
