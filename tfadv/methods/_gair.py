"""Shared pieces of the FAT / GAIRAT family: schedule arguments and the GAIR weights."""

import math
import numbers

import keras
import tensorflow as tf
from keras import ops

from tfadv import backend
from tfadv.adv_model import per_example_ce
from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.loss_result import LossResult
from tfadv.schedules.schedule import Schedule
from tfadv.utils import validation

WEIGHT_FUNCTIONS = ("tanh", "sigmoid", "discrete")


# ------------------------------------------------------------------------------ schedule arguments
def check_schedule_or_number(name, value, *, integer=False, minimum=None, allow_inf=False):
    """A hyperparameter given as a `tfadv.schedules.Schedule` or a plain number (a constant)."""
    if isinstance(value, Schedule):
        if minimum is not None and value.bounds()[0] < minimum:
            raise ValueError(f"`{name}` must stay >= {minimum}. Received: {name}={value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"`{name}` must be a number or a tfadv.schedules.Schedule. Received: {name}={value!r}"
        )
    if allow_inf and value == math.inf:
        return math.inf
    return validation.check_number(name, value, minimum=minimum, integer=integer)


def schedule_value(value, progress):
    """Evaluates a schedule-or-number argument at `progress` as a float32 scalar tensor."""
    if isinstance(value, Schedule):
        return ops.cast(value(progress), "float32")
    return ops.convert_to_tensor(value, "float32")


def serialize_schedule_or_number(value):
    if isinstance(value, Schedule):
        return keras.saving.serialize_keras_object(value)
    return value


def deserialize_schedule_or_number(value, custom_objects=None):
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value, custom_objects=custom_objects)
    return value


def check_early_stopped_attack(method, attack):
    if not isinstance(attack, EarlyStoppedPGD):
        raise ValueError(
            f"{method} needs a `tfadv.attacks.EarlyStoppedPGD` attack (it reads the per-example "
            f"`kappa` and early-stopping budget). Received: attack={attack!r}"
        )
    return attack


# ------------------------------------------------------------------------------------- GAIR weights
def gair_log_weights(kappa, num_steps, lam, weight_function="tanh"):
    """Log of the unnormalised GAIR weight of each example, from its geometry value kappa.

    - `"tanh"`: `w = (1 + tanh(lam + 5 (1 - 2 kappa / K))) / 2`, computed as the equal
      `sigmoid(2 (lam + 5 (1 - 2 kappa / K)))` so that very negative `lam` does not round to 0;
    - `"sigmoid"`: `w = sigmoid(lam + 5 (1 - 2 kappa / K))`;
    - `"discrete"`: `w = (K + 1 - kappa) / (K + 1)` (no `lam`).

    `K` is the attack's maximum number of steps. `lam = +inf` gives `w = 1` (no reweighting).
    """
    kappa = ops.cast(kappa, "float32")
    k = float(num_steps)
    if weight_function == "discrete":
        return ops.log((k + 1.0 - kappa) / (k + 1.0))
    lam = ops.cast(lam, "float32")
    z = lam + 5.0 * (1.0 - 2.0 * kappa / k)
    if weight_function == "tanh":
        z = 2.0 * z
    return ops.log_sigmoid(z)  # 0 (w = 1) for lam = +inf


def gair_weights(kappa, num_steps, lam, weight_function="tanh"):
    """GAIR weights normalised to mean 1 over the global batch, and the unnormalised ones.

    Returns `(normalised, raw)`: `normalised_i = w_i * B / sum_j w_j` (GAIR.py), computed as
    `B * exp(log w_i - max log w) / sum_j exp(log w_j - max log w)`, so that it stays finite when
    every `w_i` underflows. Inside a replica of a `tf.distribute` strategy the max, the sum and `B`
    are reduced over the replicas (in the graph), so the weights are those of one device on the global batch.
    On JAX and PyTorch the batch is the one the step sees.
    """
    log_w = gair_log_weights(kappa, num_steps, lam, weight_function)
    batch = ops.cast(ops.shape(log_w)[0], "float32")
    context = _replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return batch * ops.softmax(log_w, axis=-1), ops.exp(log_w)
    top = tf.reduce_max(context.all_gather(tf.reduce_max(log_w, keepdims=True), axis=0))
    shifted = tf.exp(log_w - top)
    total, batch = context.all_reduce(tf.distribute.ReduceOp.SUM, [tf.reduce_sum(shifted), batch])
    return batch * shifted / total, tf.exp(log_w)


def _replica_context():
    """The `tf.distribute` replica context on TensorFlow; `None` on the other backends."""
    if backend.name() != "tensorflow":
        return None
    return tf.distribute.get_replica_context()


class GAIRWeighting:
    """Mixin of `GAIRAT` / `GAIRFAT`: lambda schedule, begin epoch and the weighted loss."""

    def _init_gair(self, lambda_, begin_epoch, weight_function):
        self.lambda_ = check_schedule_or_number("lambda_", lambda_, allow_inf=True)
        self.begin_epoch = validation.check_number(
            "begin_epoch", begin_epoch, minimum=0, integer=True
        )
        self.weight_function = validation.check_choice(
            "weight_function", weight_function, WEIGHT_FUNCTIONS
        )

    def current_lambda(self):
        """GAIR's lambda now (a float32 scalar tensor)."""
        return schedule_value(self.lambda_, self.epoch_progress)

    def reweighting_active(self):
        """A bool scalar tensor: whether the current epoch is at or after `begin_epoch`."""
        return ops.floor(self.epoch_progress) >= float(self.begin_epoch)

    def compute_weights(self, kappa):
        """Per-example loss weights for the current epoch: `(normalised, raw)`.

        Before `begin_epoch` both are 1. After it, `normalised` are the GAIR weights of `kappa`
        with mean 1 over the batch and `raw` the unnormalised ones.
        """
        normalised, raw = gair_weights(
            kappa, self.attack.steps, self.current_lambda(), self.weight_function
        )
        active = self.reweighting_active()
        ones = ops.ones_like(normalised)
        return ops.where(active, normalised, ones), ops.where(active, raw, ones)

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        """GAIR's loss: cross-entropy on the adversarial examples, weighted by their geometry value."""
        adv_logits = self.classifier(adv.x_adv, training=True)
        kappa = adv.info["kappa"]
        weights, raw = self.compute_weights(kappa)
        loss = self.reduce_loss(weights * per_example_ce(adv_logits, y), sample_weight)
        return LossResult(
            adv_logits=adv_logits, loss=loss, extras={"mean_kappa": kappa, "mean_weight": raw}
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            lambda_=serialize_schedule_or_number(self.lambda_),
            begin_epoch=self.begin_epoch,
            weight_function=self.weight_function,
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if "lambda_" in config:
            config["lambda_"] = deserialize_schedule_or_number(config["lambda_"], custom_objects)
        return super().from_config(config, custom_objects)
