"""`GaussianNoiseInjection`: additive Gaussian noise that stays on at inference."""

import keras

from tfadv.layers._utils import init_noise_switch, noise_on
from tfadv.utils.validation import check_number


@keras.saving.register_keras_serializable(package="tfadv")
class GaussianNoiseInjection(keras.layers.Layer):
    """Adds `N(0, stddev^2)` noise to its inputs, in training AND at inference.

    Unlike `keras.layers.GaussianNoise`, which is the identity at inference, this layer keeps
    adding fresh noise to every forward pass (`predict`, `evaluate`, `training=False` calls), as
    the noise-injection defence of Pinot et al. (2019) requires: the classifier is random, and its
    robustness must be evaluated with Expectation over Transformation (EOT) attacks. Placed on the
    input of a model built for images in [0, 1], `stddev` is in pixel units of [0, 1] (a sigma of
    `s` on the [-1, 1] scale of the paper is `s / 2` here).

    The output is NOT clipped: noisy pixels may leave [0, 1]. This is deliberate (clipping would
    bias the noise and break its Gaussian analysis, as in randomized smoothing); add a clipping
    layer after it if your model needs inputs in range.

    Deterministic serving: build the layer with `active_at_inference=False` (saved in the config;
    the noise is then only added while training), or switch every noise layer of a model off at
    runtime with `tfadv.layers.set_noise_active(model, False)` (not saved).

    Args:
        stddev: float >= 0, standard deviation of the noise. Defaults to `0.25` (Cohen et al.'s
            sigma = 0.25 on [0, 1]; Pinot et al.'s sigma = 0.5 on [-1, 1]).
        active_at_inference: bool, whether noise is added when `training` is falsy. Defaults to
            `True`.
        seed: optional int, seed of the noise. Defaults to `None`.
        **kwargs: base layer arguments (`name`, `dtype`).

    Attributes:
        noise_active: bool, the runtime switch set by `tfadv.layers.set_noise_active` (not saved).

    Example:

    ```python
    inputs = keras.Input((32, 32, 3))
    x = tfadv.layers.GaussianNoiseInjection(0.1)(inputs)
    ```

    Reference:
        Pinot, Meunier, Araujo, Kashima, Yger, Gouy-Pailler, Atif, "Theoretical evidence for
        adversarial robustness through randomization", NeurIPS 2019 (arXiv:1902.01148).
    """

    _tfadv_noise_layer = True

    def __init__(self, stddev=0.25, active_at_inference=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = check_number("stddev", stddev, minimum=0.0)
        init_noise_switch(self, active_at_inference, seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=None):
        if self.stddev == 0.0 or not noise_on(self, training):
            return inputs
        noise = keras.random.normal(
            keras.ops.shape(inputs),
            stddev=self.stddev,
            dtype=inputs.dtype,
            seed=self.seed_generator,
        )
        return inputs + noise

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "stddev": self.stddev,
                "active_at_inference": self.active_at_inference,
                "seed": self.seed,
            }
        )
        return config
