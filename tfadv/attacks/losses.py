"""Per-example attack objectives (the quantity an attack ascends), shared by every attack.

Each function maps float32 logits `[batch, classes]` and labels `[batch]` to a per-example objective
`[batch]`. For targeted attacks `y` holds the target classes and the objective is arranged so that
ascending it moves towards the target.
"""

import tensorflow as tf

LOSSES = ("ce", "cw", "kl", "dlr")

CW_CONFIDENCE = 50.0  # Madry's challenge code and FAT/GAIRAT's `cwloss` use a hinge at 50.


def _true_and_best_other(logits, y):
    num_classes = tf.shape(logits)[-1]
    one_hot = tf.one_hot(y, num_classes, dtype=logits.dtype)
    true = tf.reduce_sum(one_hot * logits, axis=-1)
    other = tf.reduce_max(logits - 1e4 * one_hot, axis=-1)
    return true, other


def cross_entropy(logits, y, targeted=False):
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    return -ce if targeted else ce


def cw_margin(logits, y, targeted=False, confidence=CW_CONFIDENCE):
    """Carlini-Wagner margin: `-relu(z_y - max_{j != y} z_j + confidence)` (untargeted)."""
    true, other = _true_and_best_other(logits, y)
    if targeted:
        return -tf.nn.relu(other - true + confidence)
    return -tf.nn.relu(true - other + confidence)


def kl_divergence(logits, clean_logits):
    """TRADES' `KL(softmax(clean) || softmax(adv))` per example; the clean side is a constant."""
    p_clean = tf.stop_gradient(tf.nn.softmax(clean_logits))
    log_p_clean = tf.stop_gradient(tf.nn.log_softmax(clean_logits))
    return tf.reduce_sum(p_clean * (log_p_clean - tf.nn.log_softmax(logits)), axis=-1)


def dlr(logits, y, targeted=False, target_of_sort=None):
    """Croce and Hein's difference-of-logits-ratio loss (untargeted, or targeted at `y`).

    Untargeted: `-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12)`. Targeted (with `target_of_sort` the
    true labels): `-(z_true - z_target) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12)`.
    """
    sorted_logits = tf.sort(logits, axis=-1, direction="DESCENDING")
    if not targeted:
        true, other = _true_and_best_other(logits, y)
        denom = sorted_logits[:, 0] - sorted_logits[:, 2] + 1e-12
        return -(true - other) / denom
    num_classes = tf.shape(logits)[-1]
    true = tf.reduce_sum(tf.one_hot(target_of_sort, num_classes) * logits, axis=-1)
    target = tf.reduce_sum(tf.one_hot(y, num_classes) * logits, axis=-1)
    denom = sorted_logits[:, 0] - 0.5 * (sorted_logits[:, 2] + sorted_logits[:, 3]) + 1e-12
    return -(true - target) / denom


def attack_objective(name, logits, y, clean_logits, targeted=False):
    """Dispatches on the loss name; every attack calls this one function."""
    if name == "ce":
        return cross_entropy(logits, y, targeted)
    if name == "cw":
        return cw_margin(logits, y, targeted)
    if name == "kl":
        return kl_divergence(logits, clean_logits)
    if name == "dlr":
        return dlr(logits, y, targeted)
    raise ValueError(f"`loss` must be one of {list(LOSSES)}. Received: loss={name!r}")
