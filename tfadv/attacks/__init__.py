"""Adversarial attacks: `x_adv = attack(model, x, y)`.

Every attack shares one base class (`Attack`) that guarantees the epsilon-ball and [0, 1] invariants,
inference-mode forward passes, float32 input gradients and no gradient leakage, and reuses the threat models
`LinfBall` / `L2Ball`. Each attack enrols itself in `ATTACKS` by declaring `registry_name`; every module of
this package is imported here, so adding an attack is adding one file: it is exported under its class name
and picked up by the registry-parametrised tests.
"""

from tfadv.attacks.apgd import APGD
from tfadv.attacks.apgd_targeted import APGDT
from tfadv.attacks.attack import ATTACKS, Attack, AttackResult
from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.attacks.fgsm import FGSM
from tfadv.attacks.l2_ball import L2Ball
from tfadv.attacks.linf_ball import LinfBall
from tfadv.attacks.pgd import PGD
from tfadv.attacks.square import Square
from tfadv.attacks.threat_model import ThreatModel, get_threat_model

ATTACKS.discover()
globals().update({cls.__name__: cls for _, cls in ATTACKS.items()})


def get(name):
    """The attack class registered as `name` (`"pgd"`, `"PGD"`, `"early_stopped_pgd"`, ...)."""
    return ATTACKS.get(name)


__all__ = [
    "APGD",
    "APGDT",
    "ATTACKS",
    "Attack",
    "AttackResult",
    "EarlyStoppedPGD",
    "FGSM",
    "L2Ball",
    "LinfBall",
    "PGD",
    "Square",
    "ThreatModel",
    "get",
    "get_threat_model",
]
# Attacks added as new files (enrolled through the registry) are exported too.
__all__ += sorted({cls.__name__ for _, cls in ATTACKS.items()} - set(__all__))
