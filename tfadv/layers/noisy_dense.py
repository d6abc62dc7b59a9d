"""`NoisyDense`: a `Dense` layer with parametric noise injection on its kernel (PNI-W)."""

import keras
from keras import ops

from tfadv.layers._weight_noise import WeightNoiseMixin


@keras.saving.register_keras_serializable(package="tfadv")
class NoisyDense(WeightNoiseMixin, keras.layers.Dense):
    """A `keras.layers.Dense` whose kernel receives trainable-scale Gaussian noise at every call.

    Parametric Noise Injection on weights (PNI-W, He, Rakin and Fan 2019). Each forward pass draws
    fresh noise and multiplies by

        W_noisy = W + alpha * eta,    eta ~ N(0, std(W)^2),

    where `std(W)` is the (unbiased) standard deviation of the whole kernel, computed under
    `stop_gradient` as in the reference code, and `alpha` is a trainable weight initialised to
    `alpha_init`. `alpha` receives gradients through the noise term; exclude it from weight decay
    (`optimizer.exclude_from_weight_decay(var_names=["alpha"])`), as the paper does. The bias gets
    no noise. A zero-initialised kernel has `std(W) = 0` and therefore no noise until it trains.

    As in the reference code, the noise is on in training AND at inference (a randomised
    classifier: evaluate it with EOT attacks). Switch it off with `active_at_inference=False`
    (saved) or at runtime with `tfadv.layers.set_noise_active(model, False)`.

    Args:
        *args: the positional arguments of `keras.layers.Dense` (`units`, ...).
        alpha_init: float >= 0, initial noise scale. Defaults to `0.25` (the paper).
        alpha_shape: `"layerwise"` (one scalar alpha, the paper's default), `"channelwise"` (one
            alpha per output unit) or `"elementwise"` (one per kernel entry). Defaults to
            `"layerwise"`.
        active_at_inference: bool, whether noise is added when `training` is falsy. Defaults to
            `True`.
        seed: optional int, seed of the noise. Defaults to `None`.
        **kwargs: the keyword arguments of `keras.layers.Dense`.

    Attributes:
        alpha: the trainable noise scale.
        noise_active: bool, the runtime switch set by `tfadv.layers.set_noise_active` (not saved).

    Example:

    ```python
    layer = tfadv.layers.NoisyDense(10, alpha_init=0.25)
    ```

    Reference:
        He, Rakin, Fan, "Parametric Noise Injection: Trainable Randomness to Improve Deep Neural
        Network Robustness against Adversarial Attack", CVPR 2019 (arXiv:1811.09310).
    """

    _channels_attribute = "units"

    def call(self, inputs, training=None):
        outputs = ops.matmul(inputs, self._noisy_kernel(training))
        if self.bias is not None:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs
