"""Private helpers of `tfadv.evaluation`: model unwrapping, data loading, batched predictions.

The deployable classifier (unwrapping an `AdvModel`, logits views) is `tfadv.deployable`'s; its
`LogProbabilities` is re-exported here.
"""

import numpy as np
import tensorflow as tf

from tfadv import deployable
from tfadv.attacks.attack import model_logits
from tfadv.deployable import LogProbabilities
from tfadv.utils import validation

__all__ = [
    "RANDOMIZED_ATOL",
    "VOTES",
    "LogProbabilities",
    "Predictor",
    "batches",
    "model_logits",
    "to_numpy",
    "unwrap_model",
]

#: Forward passes whose majority vote scores a randomised model.
VOTES = 10
#: Two forward passes on the same input that differ by more than this mark the model as randomised
#: (AutoAttack's `check_randomized`).
RANDOMIZED_ATOL = 1e-4


def unwrap_model(model):
    """Returns the classifier of a `tfadv.AdvModel` (or of an object with `.classifier` and
    `.attack`), else `model` itself, which must be callable."""
    model = deployable.unwrap(model)
    if not callable(model):
        raise TypeError(
            "`model` must be a keras.Model (or a tfadv.AdvModel) mapping images to logits. "
            f"Received: model={model!r}"
        )
    return model


def to_numpy(data, limit=None, *, model=None, x_name="x", y_name="y"):
    """Materialises `(x, y)` arrays, or a `tf.data.Dataset` of `(x, y[, w])`, as NumPy arrays.

    The data are checked with `tfadv.utils.validation.check_inputs` (a dataset's `element_spec`
    first, before any element is read): float32 images in [0, 1] of `model`'s input shape when it
    declares one, int32 class ids of shape `(N,)`, as many labels as images, at least one example.
    """
    if isinstance(data, tf.data.Dataset):
        x, y = _dataset_arrays(data, limit, model, x_name, y_name)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise TypeError(
            "`data` must be a tuple `(x, y)` of arrays or a tf.data.Dataset of `(x, y)` batches. "
            f"Received: data of type {type(data).__name__}"
        )
    x, y = validation.check_inputs(x, y, model=model, x_name=x_name, y_name=y_name)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x, y


def _dataset_arrays(data, limit, model, x_name, y_name):
    spec = data.element_spec
    if (
        not isinstance(spec, (tuple, list))
        or len(spec) < 2
        or not all(isinstance(s, tf.TensorSpec) for s in spec[:2])
    ):
        raise ValueError(
            "`data` must yield `(x, y)` pairs of tensors with integer labels. "
            f"Received: element_spec={spec}"
        )
    x_spec, y_spec = spec[0], spec[1]
    unbatched = y_spec.shape.rank == 0
    if unbatched and x_spec.shape.rank is not None:  # one example per element: add the batch axis
        x_spec = tf.TensorSpec([None, *x_spec.shape], x_spec.dtype)
        y_spec = tf.TensorSpec([None], y_spec.dtype)
    validation.check_inputs(x_spec, y_spec, model=model, x_name=x_name, y_name=y_name)
    xs, ys, count = [], [], 0
    for element in data:
        x, y = np.asarray(element[0]), np.asarray(element[1])
        if unbatched or y.ndim == 0:  # (a spec of unknown rank shows it only here)
            x, y = x[None], y[None]
        xs.append(x)
        ys.append(y)
        count += len(y)
        if limit is not None and count >= limit:
            break
    if not xs:
        raise ValueError("`data` is an empty dataset. Received: data with 0 elements")
    return np.concatenate(xs), np.concatenate(ys)


class Predictor:
    """Batched, compiled logits and (majority-vote) correctness of a model."""

    def __init__(self, model, batch_size, randomized=False, votes=VOTES):
        self.model = model
        self.batch_size = batch_size
        self.randomized = randomized
        self.votes = votes
        self._fn = None

    def _compiled(self, x):
        """The logits function, traced once for any batch size of `x`'s image shape (as the attacks
        are), so that batches of other sizes (the last one, the examples left after an attack) do
        not retrace it."""
        if self._fn is None:
            model = self.model
            function = tf.function(lambda images: model_logits(model, images))
            spec = tf.TensorSpec([None, *np.shape(x)[1:]], tf.float32)
            self._fn = function.get_concrete_function(spec)
        return self._fn

    def logits(self, x):
        fn = self._compiled(x)
        out = [fn(tf.constant(x[i : i + self.batch_size], tf.float32)).numpy() for i in
               range(0, len(x), self.batch_size)]  # fmt: skip
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def predictions(self, x):
        """Class predictions; for a randomised model, the majority vote of `votes` forward
        passes."""
        if not self.randomized:
            return np.argmax(self.logits(x), axis=-1)
        counts = None
        for _ in range(self.votes):
            pred = np.argmax(self.logits(x), axis=-1)
            one_hot = np.eye(self._num_classes(x))[pred]
            counts = one_hot if counts is None else counts + one_hot
        return np.argmax(counts, axis=-1)

    def _num_classes(self, x):
        if not hasattr(self, "_classes"):
            self._classes = int(self.logits(x[:1]).shape[-1])
        return self._classes

    def correct(self, x, y):
        return self.predictions(x) == y


def batches(indices, batch_size):
    for start in range(0, len(indices), batch_size):
        yield indices[start : start + batch_size]
