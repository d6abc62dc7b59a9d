"""Adversarial attacks: `x_adv = attack(model, x, y)`.

Every attack shares one base class (`Attack`) that guarantees the epsilon-ball and [0, 1] invariants,
inference-mode forward passes, float32 input gradients and no gradient leakage, and reuses the threat models
`LinfBall` / `L2Ball`.
"""

from tfadv.attacks.apgd import APGD
from tfadv.attacks.apgd_targeted import APGDT
from tfadv.attacks.attack import Attack, AttackResult
from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.attacks.fabt import FABT
from tfadv.attacks.fgsm import FGSM
from tfadv.attacks.l2_ball import L2Ball
from tfadv.attacks.linf_ball import LinfBall
from tfadv.attacks.pgd import PGD
from tfadv.attacks.square import Square
from tfadv.attacks.threat_model import ThreatModel, get_threat_model

__all__ = [
    "APGD",
    "APGDT",
    "Attack",
    "AttackResult",
    "EarlyStoppedPGD",
    "FGSM",
    "L2Ball",
    "LinfBall",
    "PGD",
    "Square",
    "ThreatModel",
    "get_threat_model",
]

ATTACKS = ("FGSM", "PGD", "EarlyStoppedPGD")
ATTACKS += ("APGD", "APGDT", "Square")
