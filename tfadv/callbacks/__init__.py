"""Training callbacks: `tfadv.callbacks.WeightAveraging` (evaluate, select and export the EMA of
the weights kept by a Keras optimizer built with `use_ema=True`)."""

from tfadv.callbacks.weight_averaging import WeightAveraging

__all__ = ["WeightAveraging"]
