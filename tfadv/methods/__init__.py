"""Adversarial-training methods: one `tfadv.AdvModel` subclass per method."""

from tfadv.methods.advprop import AdvProp
from tfadv.methods.alp import ALP
from tfadv.methods.clean_adv_mix import CleanAdvMix
from tfadv.methods.fast_at import FastAT
from tfadv.methods.fat import FAT
from tfadv.methods.fat_trades import FATTRADES
from tfadv.methods.gair_fat import GAIRFAT
from tfadv.methods.gairat import GAIRAT
from tfadv.methods.mat import MAT
from tfadv.methods.pgd_at import PGDAT
from tfadv.methods.trades import TRADES

__all__ = ["ALP", "CleanAdvMix", "FastAT", "MAT", "PGDAT"]
__all__ += ["AdvProp", "FAT", "FATTRADES", "GAIRAT", "GAIRFAT", "TRADES"]
