"""The threat-model base class: how an attack starts, steps and projects inside an epsilon ball."""

import keras
import tensorflow as tf


def _per_example_shape(x):
    """Shape `[batch, 1, 1, ...]` that broadcasts a per-example value over an image batch."""
    return tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], axis=0)


def random_uniform(shape, minval=0.0, maxval=1.0, seed=None):
    """Uniform noise; stateless (reproducible) when `seed` is a shape-[2] int tensor."""
    if seed is None:
        return tf.random.uniform(shape, minval, maxval)
    return tf.random.stateless_uniform(shape, seed=seed, minval=minval, maxval=maxval)


def random_normal(shape, stddev=1.0, seed=None):
    """Gaussian noise; stateless (reproducible) when `seed` is a shape-[2] int tensor."""
    if seed is None:
        return tf.random.normal(shape, stddev=stddev)
    return tf.random.stateless_normal(shape, seed=seed, stddev=stddev)


class ThreatModel:
    """An l_p ball of radius `eps` intersected with the [0, 1] image box.

    A threat model is a small stateless object that every attack reuses: it draws a random start inside the
    ball, turns a loss gradient into an ascent direction, and projects an iterate back onto the ball and the
    box. The radius is passed to each method (a scalar tensor), so the same object serves any epsilon,
    including a schedule that changes it during training.

    Subclasses override `random_start`, `direction`, `project_delta` and `norm`.
    """

    name = None

    def random_start(self, x, eps, seed=None):
        """Returns a uniformly random point of the ball around `x`, clipped to [0, 1]."""
        raise NotImplementedError

    def direction(self, grad):
        """Returns the steepest-ascent direction of unit norm (dual norm) for `grad`."""
        raise NotImplementedError

    def project_delta(self, delta, eps):
        """Projects a perturbation onto the ball of radius `eps`."""
        raise NotImplementedError

    def norm(self, delta):
        """Per-example norm of `delta`, shape `[batch]`."""
        raise NotImplementedError

    def step(self, x_adv, grad, step_size):
        """One ascent step of length `step_size` along `direction(grad)`."""
        return x_adv + step_size * self.direction(grad)

    def project(self, x_adv, x, eps):
        """Projects `x_adv` onto the ball around `x`, then onto the [0, 1] box.

        Clipping to the box after projecting onto a ball centred in the box never increases the
        perturbation's l_inf or l_2 norm, so the result lies in both sets.
        """
        delta = self.project_delta(x_adv - x, eps)
        return tf.clip_by_value(x + delta, 0.0, 1.0)

    def get_config(self):
        return {}

    def __repr__(self):
        return f"{type(self).__name__}()"


_REGISTRY = {}


def register_threat_model(cls):
    """Class decorator that makes a threat model available by its `name` (e.g. `norm="linf"`)."""
    _REGISTRY[cls.name] = cls
    return keras.saving.register_keras_serializable(package="tfadv")(cls)


def get_threat_model(norm):
    """Returns the threat model registered under `norm` (`"linf"` or `"l2"`), or `norm` itself."""
    if isinstance(norm, ThreatModel):
        return norm
    if norm not in _REGISTRY:
        raise ValueError(f"`norm` must be one of {sorted(_REGISTRY)}. Received: norm={norm!r}")
    return _REGISTRY[norm]()
