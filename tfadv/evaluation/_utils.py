"""Private helpers of `tfadv.evaluation`: model unwrapping, data loading, batched predictions.

The deployable classifier (unwrapping an `AdvModel`, logits views) is `tfadv.deployable`'s; its
`LogProbabilities` is re-exported here.
"""

import contextlib
import threading
import zlib

import keras
import numpy as np
import tensorflow as tf

from tfadv import backend, deployable
from tfadv.attacks.attack import model_logits
from tfadv.deployable import LogProbabilities
from tfadv.utils import validation

#: Guards the lazy tracing of a `Predictor`'s logits function against concurrent replicas.
_TRACE_LOCK = threading.Lock()

__all__ = [
    "RANDOMIZED_ATOL",
    "LogProbabilities",
    "Predictor",
    "as_numpy",
    "batches",
    "keyed_noise",
    "log_probabilities",
    "model_logits",
    "noise_states",
    "to_numpy",
    "unwrap_model",
]

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


def as_numpy(tensor):
    """A tensor of any backend (or an array) as a NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(tensor))


def log_probabilities(model):
    """`model`'s log-probabilities (a model ending in a softmax), as valid logits.

    On TensorFlow `tfadv.deployable.LogProbabilities`; on the other backends the same view in
    `keras.ops`, which also lends the compiled attacks the model's variables.
    """
    if backend.name() == "tensorflow":
        return LogProbabilities(model)
    return _OpsLogProbabilities(model)


class _WrappedVariables:
    """The variables of the model a wrapper holds as `.model` (`model_variables`)."""

    @property
    def trainable_variables(self):
        return model_variables(self.model)[0]

    @property
    def non_trainable_variables(self):
        return model_variables(self.model)[1]


class _OpsLogProbabilities(_WrappedVariables, LogProbabilities):
    """`LogProbabilities` in `keras.ops`, with the wrapped model's variables (JAX, PyTorch)."""

    def __call__(self, x, training=False):
        probabilities = model_logits(self.model, x)
        return keras.ops.log(keras.ops.maximum(probabilities, 1e-30))


def model_variables(model):
    """`(trainable, non_trainable)` variables of `model`, or of the model a wrapper holds as
    `.model` (empty lists for a callable without Keras variables)."""
    item, seen = model, set()
    while item is not None and id(item) not in seen:
        seen.add(id(item))
        if hasattr(item, "trainable_variables") and hasattr(item, "non_trainable_variables"):
            return list(item.trainable_variables), list(item.non_trainable_variables)
        item = getattr(item, "model", None)
    return [], []


class _Variables(_WrappedVariables):
    """What `tfadv.backend.compiled_call` reads of a model: its variables, now."""

    def __init__(self, model):
        self.model = model


def compiled_call(fn, model):
    """`tfadv.backend.compiled_call(fn, model)` for any callable `model` (JAX, PyTorch): the
    variables passed in are those of `model_variables`, so a wrapper without its own variables
    still sees the current weights and keeps its noise layers' seed states."""
    return backend.compiled_call(fn, _Variables(model))


def check_randomized_backend(model, randomized):
    """Raises `ValueError` when a randomised `model` draws noise that cannot be keyed here.

    Keyed draws set the states of the Keras seed generators that draw the noise (`noise_states`);
    on JAX and PyTorch a model that draws otherwise (stateful TensorFlow ops, a SavedModel) would
    run unkeyed, so it is refused, naming the backend.
    """
    if not randomized or backend.name() == "tensorflow" or noise_states(model):
        return
    current = backend.name()
    raise ValueError(
        "A randomised model is evaluated with its draws keyed by the seed, which needs noise drawn "
        "by Keras seed generators (`keras.random` with a `keras.random.SeedGenerator`, as "
        f"tfadv.layers' noise layers draw it); this model draws none on Keras' {current!r} "
        "backend, so its draws could not be keyed. Use noise layers drawing from a "
        "SeedGenerator, or the TensorFlow backend. Received: backend="
        f"{current!r}, model={getattr(model, 'name', type(model).__name__)!r}"
    )


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


#: Held while a model's noise is keyed: the seed states are the model's, shared by every thread.
_NOISE_LOCK = threading.RLock()
#: The name of the variable holding a Keras `SeedGenerator`'s state.
_SEED_STATE = "seed_generator_state"


def noise_states(model):
    """The state variables of the Keras seed generators that draw `model`'s noise.

    Found in the model's `variables` (Keras lists its layers' seed-generator states there), through
    wrappers that hold the model as `.model` (log-probabilities, scaled logits) and a loaded
    SavedModel's `.module`. A model drawing its noise otherwise (stateful `tf.random` ops) has
    none, and its draws cannot be keyed (on JAX and PyTorch such a randomised model is refused:
    `check_randomized_backend`).
    """
    seen, states = set(), []
    stack = [model]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        try:
            variables = list(getattr(item, "variables", None) or ())
        except (TypeError, ValueError, AttributeError):  # a wrapper whose `variables` is not a list
            variables = []
        for variable in variables:
            if _SEED_STATE in str(getattr(variable, "name", "")) and id(variable) not in seen:
                seen.add(id(variable))
                states.append(variable)
        stack += [getattr(item, "model", None), getattr(item, "module", None)]
    return states


def _key(seed, salt, index):
    """A seed-generator state `[k, 0]` from the evaluation's seed, a salt and the generator's
    position (distinct generators get distinct streams), the same in every process."""
    return zlib.crc32(repr((int(seed), tuple(salt), index)).encode()) % (2**31 - 1) + 1


@contextlib.contextmanager
def keyed_noise(states, seed, *salt):
    """Within the block, the seed generators `states` draw from streams keyed by `seed` and
    `salt`; their states are restored afterwards, so that a keyed block changes no other draw.

    On every backend: the compiled functions of JAX (`tfadv.backend.compiled_call`) take the
    states' values in at each call and write the advanced states back. Threads (replicas of
    `tfadv.evaluation.distributed`) take turns: the states are shared. With no states (a
    deterministic model, or noise not drawn by Keras seed generators) it does nothing.
    """
    if not states:
        yield
        return
    with _NOISE_LOCK:
        saved = [np.asarray(state.numpy()) for state in states]
        for index, (state, value) in enumerate(zip(states, saved, strict=True)):
            state.assign(np.array([_key(seed, salt, index), 0], dtype=value.dtype))
        try:
            yield
        finally:
            for state, value in zip(states, saved, strict=True):
                state.assign(value)


class Predictor:
    """Batched, compiled logits and correctness of a model, one forward pass per example.

    A randomised model's correctness is that of one forward pass, as AutoAttack counts it (its
    `clean_accuracy` and its per-attack checks): a deployed randomised model answers with one
    draw. With `seed`, each call's draw is keyed (`keyed_noise`) by the seed and the call's `key`
    (or the call's number), so that an evaluation reproduces (on JAX and PyTorch a randomised
    model whose noise no Keras seed generator draws is refused: `check_randomized_backend`).
    `smoothed_predictions` is the majority vote of several draws, for the report's separate
    smoothed line.

    Args:
        model: the model (a callable returning logits).
        batch_size: int, examples per forward pass.
        randomized: bool, whether the model is randomised (its draws are keyed). Defaults to
            `False`.
        seed: optional int, the key of the draws. Defaults to `None` (not keyed).
    """

    def __init__(self, model, batch_size, randomized=False, seed=None):
        self.model = model
        self.batch_size = batch_size
        self.randomized = randomized
        self.seed = seed
        self._states = noise_states(model) if randomized and seed is not None else []
        if seed is not None:
            check_randomized_backend(model, randomized)
        self._calls = 0
        self._fn = None

    def keyed(self, *salt):
        """A block in which the model's noise is keyed by the seed and `salt` (for the attacks'
        draws); nothing for a deterministic model."""
        return keyed_noise(self._states, self.seed, *salt)

    def _compiled(self, x):
        """The logits function. On TensorFlow traced once for any batch size of `x`'s image shape
        (as the attacks are), so that batches of other sizes (the last one, the examples left
        after an attack) do not retrace it; elsewhere `tfadv.backend.compiled_call` (`jax.jit`
        over the model's variables, once per batch shape; eager on PyTorch)."""
        with _TRACE_LOCK:  # replicas' threads (evaluation under a strategy) trace it once
            if self._fn is None:
                model = self.model
                if backend.name() == "tensorflow":
                    function = tf.function(lambda images: model_logits(model, images))
                    spec = tf.TensorSpec([None, *np.shape(x)[1:]], tf.float32)
                    self._fn = function.get_concrete_function(spec)
                else:
                    self._fn = compiled_call(lambda images: model_logits(model, images), model)
        return self._fn

    def logits(self, x):
        fn = self._compiled(x)
        if backend.name() == "tensorflow":
            out = [fn(tf.constant(x[i : i + self.batch_size], tf.float32)).numpy() for i in
                   range(0, len(x), self.batch_size)]  # fmt: skip
        else:
            out = []
            with backend.no_grad():
                for i in range(0, len(x), self.batch_size):
                    images = keras.ops.convert_to_tensor(
                        np.asarray(x[i : i + self.batch_size], np.float32)
                    )
                    out.append(np.asarray(keras.ops.convert_to_numpy(fn(images))))
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def _salt(self, kind, key):
        if key is None:
            self._calls += 1
            key = ("call", self._calls)
        return (kind, *key)

    def predictions(self, x, key=None):
        """Class predictions of one forward pass (one draw of a randomised model), keyed by `key`
        (a tuple; `None`: the call's number)."""
        with keyed_noise(self._states, self.seed, *self._salt("draw", key)):
            return np.argmax(self.logits(x), axis=-1)

    def correct(self, x, y, key=None):
        """Whether one forward pass classifies each example correctly (see `predictions`)."""
        return self.predictions(x, key) == y

    def smoothed_predictions(self, x, draws, key=None):
        """The majority vote of `draws` forward passes per example (ties: the lowest class)."""
        counts = None
        with keyed_noise(self._states, self.seed, *self._salt("smoothed", key)):
            for _ in range(draws):
                logits = self.logits(x)
                one_hot = np.eye(logits.shape[-1], dtype=np.int64)[np.argmax(logits, axis=-1)]
                counts = one_hot if counts is None else counts + one_hot
        return np.argmax(counts, axis=-1)


def batches(indices, batch_size):
    for start in range(0, len(indices), batch_size):
        yield indices[start : start + batch_size]
