"""The l2 threat model."""

from keras import ops

from tfadv.attacks import _ops
from tfadv.attacks._fab_projections import project_l2
from tfadv.attacks.threat_model import ThreatModel, register_threat_model


@register_threat_model
class L2Ball(ThreatModel):
    """The l2 ball: the whole perturbation has Euclidean norm at most `eps`.

    Random start is a Gaussian direction scaled to a radius `u * eps` with `u ~ U(0, 1)`
    (robust_overfitting's "inside the ball" start; MadryLab/robustness starts on the sphere instead); the
    ascent direction is the gradient normalised to unit l2 norm per example; projection rescales the
    perturbation to norm `eps` when it is longer, then clips the image to [0, 1].

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

    def random_start(self, x, eps, seed=None):
        if seed is None:
            seed = _ops.seed_key(None, x)
        shape = ops.shape(x)
        direction = self.random_direction(shape, seed)
        radius = eps * _ops.uniform(shape[:1], seed + ops.convert_to_tensor([0, 1], "int32"))
        scale = radius / (self.norm(direction) + _ops.TINY)
        return ops.clip(x + direction * _ops.per_example(scale, x), 0.0, 1.0)

    def random_direction(self, shape, seed):
        return _ops.normal(shape, seed)

    def direction(self, grad):
        return grad / _ops.per_example(self.norm(grad) + _ops.TINY, grad)

    def project_delta(self, delta, eps):
        factor = ops.minimum(1.0, eps / (self.norm(delta) + _ops.TINY))
        return delta * _ops.per_example(factor, delta)

    def norm(self, delta):
        return _ops.l2_norm(delta)

    def dual_norm(self, grad):
        return ops.sqrt(ops.sum(ops.square(grad), axis=-1))

    def project_onto_hyperplane(self, t, w, b):
        return project_l2(t, w, b)
