"""Model zoo: the reference architectures of the adversarial-training literature.

Every builder returns a `keras.Model` that maps images in [0, 1] to logits (no softmax), takes
`input_shape`, `num_classes` and an optional in-model per-channel normalisation (`mean`, `std`),
and can be built with the tfadv robustness layers (`noise_stddev`, `pni`, and where the network has
batch norm `dual_bn`; `denoise` for the residual networks). Builders enrol in `MODELS`
(`tfadv.models.get(name)`), which the CLI, recipes and Keras Tuner read.
"""

import inspect

from tfadv.models._common import MODELS
from tfadv.models.compact_cnn import compact_cnn
from tfadv.models.madry_cnn import madry_cnn
from tfadv.models.preact_resnet import preact_resnet18
from tfadv.models.resnet import resnet
from tfadv.models.small_cnn import small_cnn
from tfadv.models.vgg import vgg11
from tfadv.models.wide_resnet import wide_resnet


def get(name):
    """The model builder registered as `name` (`ValueError` naming the choices otherwise)."""
    return MODELS.get(name)


def builder_arguments(name):
    """The keyword arguments the builder `name` accepts (e.g. to check `width` / `dual_bn`)."""
    return set(inspect.signature(get(name)).parameters)


__all__ = [
    "compact_cnn",
    "madry_cnn",
    "preact_resnet18",
    "resnet",
    "small_cnn",
    "vgg11",
    "wide_resnet",
]
