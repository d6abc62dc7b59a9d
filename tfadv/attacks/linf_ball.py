"""The l-infinity threat model."""

from keras import ops

from tfadv.attacks import _ops
from tfadv.attacks._fab_projections import project_linf
from tfadv.attacks.threat_model import ThreatModel, register_threat_model


@register_threat_model
class LinfBall(ThreatModel):
    """The l-infinity ball: every pixel moves by at most `eps`.

    Random start is uniform per pixel in [-eps, eps] (Madry et al.); the ascent direction is the sign of
    the gradient; projection clips the perturbation to [-eps, eps] and the image to [0, 1].

    Example:

    ```python
    ball = tfadv.attacks.LinfBall()
    x_adv = ball.project(x + 0.5, x, eps=0.3)
    ```

    Reference:
        Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018.
    """

    name = "linf"

    def random_start(self, x, eps, seed=None):
        if seed is None:
            seed = _ops.seed_key(None, x)
        noise = self.random_direction(ops.shape(x), seed)
        return ops.clip(x + eps * noise, 0.0, 1.0)

    def random_direction(self, shape, seed):
        return _ops.uniform(shape, seed, -1.0, 1.0)

    def direction(self, grad):
        return ops.sign(grad)

    def project_delta(self, delta, eps):
        return ops.clip(delta, -eps, eps)

    def norm(self, delta):
        return _ops.linf_norm(delta)

    def dual_norm(self, grad):
        return ops.sum(ops.abs(grad), axis=-1)

    def project_onto_hyperplane(self, t, w, b):
        return project_linf(t, w, b)
