"""The l2 threat model."""

import tensorflow as tf

from tfadv.attacks.threat_model import (
    ThreatModel,
    _per_example_shape,
    random_normal,
    random_uniform,
    register_threat_model,
)

_TINY = 1e-12


@register_threat_model
class L2Ball(ThreatModel):
    """The l2 ball: the whole perturbation has Euclidean norm at most `eps`.

    Random start is a Gaussian direction scaled to a radius `u * eps` with `u ~ U(0, 1)` (robust_overfitting's
    "inside the ball" start; MadryLab/robustness starts on the sphere instead); the ascent direction is the gradient normalised to unit
    l2 norm per example; projection rescales the perturbation to norm `eps` when it is longer, then clips the
    image to [0, 1].

    Example:

    ```python
    ball = tfadv.attacks.L2Ball()
    x_adv = ball.project(x + 0.5, x, eps=2.0)
    ```

    Reference:
        Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018;
        Rice, Wong, Kolter, "Overfitting in adversarially robust deep learning", ICML 2020.
    """

    name = "l2"

    def _flat_norm(self, t):
        flat = tf.reshape(t, [tf.shape(t)[0], -1])
        return tf.norm(flat, axis=1)

    def random_start(self, x, eps, seed=None):
        shape = tf.shape(x)
        if seed is None:
            direction = random_normal(shape)
            radius_u = random_uniform(shape[:1])
        else:
            direction = random_normal(shape, seed=seed)
            radius_u = random_uniform(shape[:1], seed=seed + tf.constant([0, 1]))
        radius = eps * radius_u
        scale = radius / (self._flat_norm(direction) + _TINY)
        delta = direction * tf.reshape(scale, _per_example_shape(x))
        return tf.clip_by_value(x + delta, 0.0, 1.0)

    def direction(self, grad):
        norm = self._flat_norm(grad)
        return grad / tf.reshape(norm + _TINY, _per_example_shape(grad))

    def project_delta(self, delta, eps):
        norm = self._flat_norm(delta)
        factor = tf.minimum(1.0, eps / (norm + _TINY))
        return delta * tf.reshape(factor, _per_example_shape(delta))

    def norm(self, delta):
        return self._flat_norm(delta)
