"""Robustness layers: dual batch norm, noise injection, parametric noise injection, denoising."""

from tfadv.layers._utils import set_noise_active
from tfadv.layers.dual_batch_normalization import DualBatchNormalization, use_auxiliary_bn
from tfadv.layers.dual_bn_conversion import convert_to_dual_bn
from tfadv.layers.gaussian_noise_injection import GaussianNoiseInjection
from tfadv.layers.noisy_conv2d import NoisyConv2D
from tfadv.layers.noisy_dense import NoisyDense
from tfadv.layers.non_local_denoising import NonLocalDenoising

__all__ = [
    "DualBatchNormalization",
    "GaussianNoiseInjection",
    "NoisyConv2D",
    "NoisyDense",
    "NonLocalDenoising",
    "convert_to_dual_bn",
    "set_noise_active",
    "use_auxiliary_bn",
]
