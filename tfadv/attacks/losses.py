"""Per-example attack objectives by name (the quantity an attack ascends), shared by every attack.

Each function maps float32 logits `[batch, classes]` and labels `[batch]` to a per-example objective
`[batch]`. For targeted attacks `y` holds the target classes and the objective is arranged so that
ascending it moves towards the target. The margin and DLR formulas live in `tfadv.attacks._ops`.
"""

from keras import ops

from tfadv.attacks import _ops
from tfadv.utils import validation

LOSSES = ("ce", "cw", "kl", "dlr")

CW_CONFIDENCE = 50.0  # Madry's challenge code and FAT/GAIRAT's `cwloss` use a hinge at 50.


def cross_entropy(logits, y, targeted=False):
    ce = ops.sparse_categorical_crossentropy(y, logits, from_logits=True)
    return -ce if targeted else ce


def cw_margin(logits, y, targeted=False, confidence=CW_CONFIDENCE):
    """Carlini-Wagner margin: `-relu(z_y - max_{j != y} z_j + confidence)` (untargeted)."""
    margin = _ops.margin(logits, y)
    if targeted:
        return -ops.relu(-margin + confidence)
    return -ops.relu(margin + confidence)


def kl_divergence(logits, clean_logits):
    """TRADES' `KL(softmax(clean) || softmax(adv))` per example; the clean side is a constant."""
    p_clean = ops.stop_gradient(ops.softmax(clean_logits))
    log_p_clean = ops.stop_gradient(ops.log_softmax(clean_logits))
    return ops.sum(p_clean * (log_p_clean - ops.log_softmax(logits)), axis=-1)


def attack_objective(name, logits, y, clean_logits, targeted=False):
    """The objective `name` (`"ce"`, `"cw"`, `"kl"`, `"dlr"`); every gradient attack calls this.

    `"dlr"` is Croce and Hein's untargeted loss (`_ops.dlr`); a targeted DLR needs the true labels
    besides the targets and is `_ops.targeted_dlr`.
    """
    if name == "ce":
        return cross_entropy(logits, y, targeted)
    if name == "cw":
        return cw_margin(logits, y, targeted)
    if name == "kl":
        return kl_divergence(logits, clean_logits)
    if name == "dlr" and not targeted:
        return _ops.dlr(logits, y)
    raise ValueError(
        f"`loss` must be one of {list(LOSSES)} (`dlr` untargeted). Received: loss={name!r}"
    )


def check_gradient_loss(loss, targeted):
    """Validates the objective of FGSM / PGD: `"ce"`, `"cw"` or `"kl"` (`"kl"` has no target)."""
    validation.check_choice("loss", loss, ("ce", "cw", "kl"))
    if targeted and loss == "kl":
        raise ValueError(
            "The `kl` loss measures distance from the clean prediction and has no target; use "
            "`targeted=False` or `loss='ce'`. Received: loss='kl', targeted=True"
        )
    return loss
