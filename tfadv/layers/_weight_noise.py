"""Parametric noise injection on weights (PNI-W), shared by `NoisyConv2D` and `NoisyDense`."""

import math

import keras
from keras import ops

from tfadv.utils.validation import check_choice, check_number

ALPHA_SHAPES = ("layerwise", "channelwise", "elementwise")


class WeightNoiseMixin:
    """Adds a trainable `alpha` and the noisy kernel `W + alpha * N(0, std(W)^2)` to a layer.

    The host layer calls `_init_weight_noise` in `__init__`, `_build_alpha` at the end of `build`
    and uses `_noisy_kernel(training)` in place of `self.kernel` in `call`.
    """

    _tfadv_noise_layer = True

    def _init_weight_noise(self, alpha_init, alpha_shape, active_at_inference, seed):
        self.alpha_init = check_number("alpha_init", alpha_init, minimum=0.0)
        self.alpha_shape = check_choice("alpha_shape", alpha_shape, ALPHA_SHAPES)
        if not isinstance(active_at_inference, bool):
            raise TypeError(
                "`active_at_inference` must be a bool. "
                f"Received: active_at_inference={active_at_inference!r}"
            )
        self.active_at_inference = active_at_inference
        if seed is not None:
            seed = check_number("seed", seed, integer=True)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.noise_active = True

    def _build_alpha(self, kernel_shape, channels):
        if self.alpha_shape == "layerwise":
            shape = ()
        elif self.alpha_shape == "channelwise":
            shape = (channels,)
        else:
            shape = tuple(kernel_shape)
        self.alpha = self.add_weight(
            name="alpha",
            shape=shape,
            initializer=keras.initializers.Constant(self.alpha_init),
            trainable=True,
        )

    def _noisy_kernel(self, training):
        kernel = ops.cast(self.kernel, self.compute_dtype)
        if not self.noise_active or not (training or self.active_at_inference):
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

    def _weight_noise_config(self):
        return {
            "alpha_init": self.alpha_init,
            "alpha_shape": self.alpha_shape,
            "active_at_inference": self.active_at_inference,
            "seed": self.seed,
        }

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
