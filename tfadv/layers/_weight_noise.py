"""Parametric noise injection on weights (PNI-W), shared by `NoisyConv2D` and `NoisyDense`."""

import math

import keras
from keras import ops

from tfadv.layers._utils import init_noise_switch, noise_on
from tfadv.utils.validation import check_choice, check_number

ALPHA_SHAPES = ("layerwise", "channelwise", "elementwise")


class WeightNoiseMixin:
    """Adds a trainable `alpha` and the noisy kernel `W + alpha * N(0, std(W)^2)` to a layer.

    Mixed in front of a Keras layer with a `kernel` (`Conv2D`, `Dense`): it takes the noise
    arguments (`alpha_init`, `alpha_shape`, `active_at_inference`, `seed`) and passes the others
    to the layer, builds `alpha` after the kernel, and saves the noise arguments in the config. The
    host's `call` uses `_noisy_kernel(training)` in place of `self.kernel`; `_channels_attribute`
    names the host's number of output channels (the length of a channelwise `alpha`).
    """

    _tfadv_noise_layer = True
    _channels_attribute = None

    def __init__(
        self,
        *args,
        alpha_init=0.25,
        alpha_shape="layerwise",
        active_at_inference=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.alpha_init = check_number("alpha_init", alpha_init, minimum=0.0)
        self.alpha_shape = check_choice("alpha_shape", alpha_shape, ALPHA_SHAPES)
        init_noise_switch(self, active_at_inference, seed)

    def build(self, input_shape):
        super().build(input_shape)
        if self.alpha_shape == "layerwise":
            shape = ()
        elif self.alpha_shape == "channelwise":
            shape = (getattr(self, self._channels_attribute),)
        else:
            shape = tuple(self.kernel.shape)
        self.alpha = self.add_weight(
            name="alpha",
            shape=shape,
            initializer=keras.initializers.Constant(self.alpha_init),
            trainable=True,
        )

    def _noisy_kernel(self, training):
        kernel = ops.cast(self.kernel, self.compute_dtype)
        if not noise_on(self, training):
            return kernel
        weights = ops.cast(kernel, "float32")
        size = max(math.prod(self.kernel.shape), 2)
        # std(W) of the whole layer, unbiased like torch.Tensor.std, treated as a constant.
        std = ops.stop_gradient(ops.sqrt(ops.var(weights) * (size / (size - 1))))
        eta = keras.random.normal(
            ops.shape(weights), stddev=1.0, dtype="float32", seed=self.seed_generator
        )
        noise = ops.cast(self.alpha, "float32") * std * eta
        return kernel + ops.cast(noise, kernel.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha_init": self.alpha_init,
                "alpha_shape": self.alpha_shape,
                "active_at_inference": self.active_at_inference,
                "seed": self.seed,
            }
        )
        return config

    # Keras's Conv and Dense layers save exactly [kernel, bias]; `alpha` goes after them.
    def _alpha_key(self):
        return str(2 if self.bias is not None else 1)

    def save_own_variables(self, store):
        super().save_own_variables(store)
        if self.built:
            store[self._alpha_key()] = self.alpha

    def load_own_variables(self, store):
        super().load_own_variables(store)
        if self.built:
            self.alpha.assign(store[self._alpha_key()])

    def quantize(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} cannot be quantized: its weights change at every forward pass."
        )
