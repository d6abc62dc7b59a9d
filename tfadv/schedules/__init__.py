"""Epoch-driven, serialisable hyperparameter schedules (epsilon warm-up, FAT's tau, GAIRAT's lambda)."""

from tfadv.schedules.constant import Constant
from tfadv.schedules.linear_ramp import LinearRamp
from tfadv.schedules.piecewise_constant import PiecewiseConstant
from tfadv.schedules.schedule import Schedule

__all__ = ["Constant", "LinearRamp", "PiecewiseConstant", "Schedule"]
