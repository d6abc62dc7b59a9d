"""Adversarial-training methods: one `tfadv.AdvModel` subclass per method."""

from tfadv.methods.alp import ALP
from tfadv.methods.clean_adv_mix import CleanAdvMix
from tfadv.methods.fast_at import FastAT
from tfadv.methods.mat import MAT
from tfadv.methods.pgd_at import PGDAT

__all__ = ["ALP", "CleanAdvMix", "FastAT", "MAT", "PGDAT"]
