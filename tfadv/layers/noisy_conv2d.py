"""`NoisyConv2D`: a `Conv2D` with parametric noise injection on its kernel (PNI-W)."""

import keras
from keras import ops

from tfadv.layers._weight_noise import WeightNoiseMixin


@keras.saving.register_keras_serializable(package="tfadv")
class NoisyConv2D(WeightNoiseMixin, keras.layers.Conv2D):
    """A `keras.layers.Conv2D` whose kernel receives trainable-scale Gaussian noise at every call.

    Parametric Noise Injection on weights (PNI-W, He, Rakin and Fan 2019). Each forward pass draws
    fresh noise and convolves with

        W_noisy = W + alpha * eta,    eta ~ N(0, std(W)^2),

    where `std(W)` is the (unbiased) standard deviation of the whole kernel, computed under
    `stop_gradient` as in the reference code, and `alpha` is a trainable weight initialised to
    `alpha_init`. `alpha` receives gradients through the noise term; train it jointly with
    adversarial training (without adversarial training it tends to 0), and exclude it from weight
    decay (`optimizer.exclude_from_weight_decay(var_names=["alpha"])`), as the paper does. The bias
    gets no noise.

    As in the reference code, the noise is on in training AND at inference. A model with these
    layers is a randomised classifier: evaluate it with EOT attacks and report accuracy averaged
    over several forward passes. Switch the noise off with `active_at_inference=False` (saved; noise
    only while training) or at runtime with `tfadv.layers.set_noise_active(model, False)`.

    Args:
        *args: the positional arguments of `keras.layers.Conv2D` (`filters`, `kernel_size`, ...).
        alpha_init: float >= 0, initial noise scale. Defaults to `0.25` (the paper).
        alpha_shape: `"layerwise"` (one scalar alpha, the paper's default), `"channelwise"` (one
            alpha per output channel, the best variant in the README) or `"elementwise"` (one per
            kernel entry). Defaults to `"layerwise"`.
        active_at_inference: bool, whether noise is added when `training` is falsy. Defaults to
            `True`.
        seed: optional int, seed of the noise. Defaults to `None`.
        **kwargs: the keyword arguments of `keras.layers.Conv2D`.

    Attributes:
        alpha: the trainable noise scale.
        noise_active: bool, the runtime switch set by `tfadv.layers.set_noise_active` (not saved).

    Example:

    ```python
    layer = tfadv.layers.NoisyConv2D(16, 3, padding="same", alpha_shape="channelwise")
    ```

    Reference:
        He, Rakin, Fan, "Parametric Noise Injection: Trainable Randomness to Improve Deep Neural
        Network Robustness against Adversarial Attack", CVPR 2019 (arXiv:1811.09310).
    """

    _channels_attribute = "filters"

    def call(self, inputs, training=None):
        outputs = self.convolution_op(inputs, self._noisy_kernel(training))
        if self.use_bias:
            if self.data_format == "channels_last":
                bias_shape = (1,) * (self.rank + 1) + (self.filters,)
            else:
                bias_shape = (1, self.filters) + (1,) * self.rank
            outputs = ops.add(outputs, ops.reshape(self.bias, bias_shape))
        if self.activation is not None:
            return self.activation(outputs)
        return outputs
