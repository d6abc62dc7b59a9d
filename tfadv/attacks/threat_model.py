"""The threat-model base class: how an attack starts, steps and projects inside an epsilon ball."""

import abc

import keras
from keras import ops

from tfadv.attacks import _ops
from tfadv.utils.registry import Registry


class ThreatModel(abc.ABC):
    """An l_p ball of radius `eps` intersected with the [0, 1] image box.

    A threat model is a small stateless object that every attack reuses: it draws a random start inside
    the ball (or on its boundary), turns a loss gradient into an ascent direction, and projects an iterate
    back onto the ball and the box. The radius is passed to each method (a scalar tensor), so the same
    object serves any epsilon, including a schedule that changes it during training. Attacks hold no
    `if norm == ...` branch: every l-inf / l2 difference is a method here.

    Subclasses override `random_start`, `random_direction`, `direction`, `project_delta`, `norm`,
    and for minimum-norm attacks (FAB-T) `dual_norm` and `project_onto_hyperplane`.
    Random draws take a stateless key (`tfadv.attacks._ops.seed_key`); `None` draws a fresh one.
    """

    name = None

    @abc.abstractmethod
    def random_start(self, x, eps, seed=None):
        """Returns a uniformly random point of the ball around `x`, clipped to [0, 1]."""

    @abc.abstractmethod
    def random_direction(self, shape, seed):
        """Noise whose direction, scaled to norm `eps`, is a random point of the ball's boundary."""

    def random_boundary_start(self, x, eps, seed=None):
        """Returns `x + eps * t / ||t||` for random `t` (APGD's start), clipped to [0, 1]."""
        if seed is None:
            seed = _ops.seed_key(None, x)
        t = self.random_direction(ops.shape(x), seed)
        norm = _ops.per_example(self.norm(t), x)
        return ops.clip(x + eps * t / (norm + _ops.TINY), 0.0, 1.0)

    @abc.abstractmethod
    def direction(self, grad):
        """Returns the steepest-ascent direction of unit norm (dual norm) for `grad`."""

    @abc.abstractmethod
    def project_delta(self, delta, eps):
        """Projects a perturbation onto the ball of radius `eps`."""

    @abc.abstractmethod
    def norm(self, delta):
        """Per-example norm of `delta`, shape `[batch]`."""

    @abc.abstractmethod
    def dual_norm(self, grad):
        """The dual norm of `grad` over its last axis: the distance-to-hyperplane denominator."""

    @abc.abstractmethod
    def project_onto_hyperplane(self, t, w, b):
        """Smallest step `d` (this norm) with `<w, t + d> = b` and `t + d` in [0, 1], row-wise.

        `t` and `w` are `[n, dim]`, `b` is `[n]`; where the box makes the hyperplane unreachable,
        `d` moves `<w, .>` as far towards `b` as the box allows (FAB's projection).
        """

    def step(self, x_adv, grad, step_size):
        """One ascent step of length `step_size` along `direction(grad)`."""
        return x_adv + step_size * self.direction(grad)

    def project(self, x_adv, x, eps):
        """Projects `x_adv` onto the ball around `x`, then onto the [0, 1] box.

        Clipping to the box after projecting onto a ball centred in the box never increases the
        perturbation's l_inf or l_2 norm, so the result lies in both sets.
        """
        delta = self.project_delta(x_adv - x, eps)
        return ops.clip(x + delta, 0.0, 1.0)

    def get_config(self):
        return {}

    def __repr__(self):
        return f"{type(self).__name__}()"


#: The threat models by norm name (`"linf"`, `"l2"`).
THREAT_MODELS = Registry("norm", ordered=True)


def register_threat_model(cls):
    """Class decorator that makes a threat model available by its `name` (e.g. `norm="linf"`)."""
    THREAT_MODELS.register(cls, name=cls.name)
    return keras.saving.register_keras_serializable(package="tfadv")(cls)


def get_threat_model(norm):
    """Returns the threat model registered under `norm` (`"linf"` or `"l2"`), or `norm` itself."""
    if isinstance(norm, ThreatModel):
        return norm
    if not isinstance(norm, str) or norm not in THREAT_MODELS.names():
        raise ValueError(
            f"`norm` must be one of {sorted(THREAT_MODELS.names())}. Received: norm={norm!r}"
        )
    return THREAT_MODELS[norm]()
