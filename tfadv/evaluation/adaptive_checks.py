"""Adaptive checks beyond AutoAttack's flags: PGD on temperature-scaled logits, and transfer.

A protocol's worst case is an upper bound on robust accuracy. These attacks target two known ways
for a model to sit above its true robustness under AutoAttack-style gradient attacks:

- logit scaling: logits so large that the softmax saturates, so cross-entropy gradients vanish in
  float32 (Hitaj et al. 2021 on GAIRAT). PGD on `softmax(logits / T)` for large `T` undoes it.
- gradient obfuscation in general: adversarial examples crafted on a different, differentiable
  surrogate model transfer to the target (Athalye et al. 2018).

Each check runs on the examples the protocol left robust and raises its flag when it breaks some of
them, i.e. when its accuracy is below the protocol's worst case.
"""

import keras
import numpy as np
import tensorflow as tf

from tfadv import backend
from tfadv.attacks.attack import model_logits
from tfadv.attacks.pgd import PGD
from tfadv.evaluation import _utils
from tfadv.evaluation.loading import load_model
from tfadv.evaluation.sanity_checks import SanityFlag, check_extra_broken
from tfadv.evaluation.transfer_attack import TransferAttack

#: Temperatures `T` of the scaled-logits check: PGD attacks `softmax(logits / T)`.
TEMPERATURES = (10.0, 100.0, 1000.0)
#: PGD iterations of the adaptive attacks.
ADAPTIVE_STEPS = 50


class _ScaledLogits:
    """`model(x) / temperature`: logits with the softmax's saturation undone.

    The temperature is a variable, so one compiled attack serves every temperature: a
    `tf.Variable` on TensorFlow, elsewhere a Keras variable that the compiled attacks take in with
    the model's variables (`trainable_variables`, `non_trainable_variables`).
    """

    def __init__(self, model):
        self.model = model
        if backend.name() == "tensorflow":
            self.temperature = tf.Variable(1.0, trainable=False, dtype=tf.float32)
        else:
            self.temperature = keras.Variable(1.0, trainable=False, dtype="float32",
                                              name="temperature")  # fmt: skip

    def __call__(self, x, training=False):
        return model_logits(self.model, x) / self.temperature

    @property
    def trainable_variables(self):
        return _utils.model_variables(self.model)[0]

    @property
    def non_trainable_variables(self):
        return _utils.model_variables(self.model)[1] + [self.temperature]


def broken_by_attack(attack, model, predictor, x, y, eps, batch_size):
    """Which examples `attack` (run on `model`) makes the target `predictor` misclassify."""
    broken = np.zeros(len(x), bool)
    for batch in _utils.batches(np.arange(len(x)), batch_size):
        x_adv = _utils.as_numpy(attack.run(model, x[batch], y[batch], eps=eps).x_adv)
        broken[batch] = ~predictor.correct(x_adv, y[batch])
    return broken


def scaled_logits_check(model, predictor, x, y, robust, *, eps, norm, batch_size=256, seed=0):
    """PGD-50 (cross-entropy) on `logits / T` for each `T` in `TEMPERATURES`, on the examples in
    `x` that the protocol left robust (`robust`); raises `scaled_logits_beat_protocol` when it
    breaks some of them.

    Returns:
        A `tfadv.evaluation.SanityFlag`.
    """
    candidates = np.flatnonzero(robust)
    broken = np.zeros(len(candidates), bool)
    attack = PGD(eps=eps, norm=norm, steps=ADAPTIVE_STEPS, loss="ce", seed=seed)
    scaled = _ScaledLogits(model)
    for temperature in TEMPERATURES:
        left = candidates[~broken]
        if not len(left):
            break
        scaled.temperature.assign(temperature)
        broken[~broken] = broken_by_attack(
            attack, scaled, predictor, x[left], y[left], eps, batch_size
        )
    temperatures = ", ".join(f"{t:g}" for t in TEMPERATURES)
    return check_extra_broken(
        "scaled_logits_beat_protocol",
        int(broken.sum()),
        len(x),
        f"PGD-{ADAPTIVE_STEPS} on logits / T (T = {temperatures})",
    )


def transfer_check(surrogate, predictor, x, y, robust, *, eps, norm, batch_size=256, seed=0):
    """PGD-50 on `surrogate`, replayed on the target, on the examples the protocol left robust;
    raises `transfer_beats_protocol` when it breaks some of them. With `surrogate=None` the flag
    is not run.

    Returns:
        A `tfadv.evaluation.SanityFlag`.
    """
    if surrogate is None:
        return SanityFlag("transfer_beats_protocol", None, "no surrogate model (pass `surrogate=`)")
    candidates = np.flatnonzero(robust)
    attack = TransferAttack(surrogate, eps=eps, norm=norm, steps=ADAPTIVE_STEPS, seed=seed)
    extra = 0
    if len(candidates):
        # The target model is only scored (by `predictor`), never differentiated.
        broken = broken_by_attack(attack, predictor.model, predictor, x[candidates], y[candidates], eps,
                         batch_size)  # fmt: skip
        extra = int(broken.sum())
    return check_extra_broken(
        "transfer_beats_protocol", extra, len(x), f"PGD-{ADAPTIVE_STEPS} on the surrogate"
    )


def train_surrogate(predictor, x, *, epochs=10, batch_size=64, seed=0):
    """Trains a small surrogate on `x` labelled with the target's own predictions.

    The surrogate imitates the target (Papernot et al.'s black-box substitute): a small CNN for
    image batches `[n, height, width, channels]`, a two-layer perceptron otherwise, trained with
    Adam for `epochs` epochs. It only needs the target's predictions, so it works for a
    gradient-free target too.

    Args:
        predictor: the target's batched predictor (`tfadv.evaluation._utils.Predictor`).
        x: float32 images in [0, 1].
        epochs: int, training epochs. Defaults to `10`.
        batch_size: int. Defaults to `64`.
        seed: int, the initialisation and shuffling seed. Defaults to `0`.

    Returns:
        A trained `keras.Model` returning logits.
    """
    labels = predictor.predictions(x)
    num_classes = int(predictor.logits(x[:1]).shape[-1])
    keras.utils.set_random_seed(seed)
    if x.ndim == 4:
        layers = [
            keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Flatten(),
        ]
    else:
        layers = [keras.layers.Flatten()]
    surrogate = keras.Sequential(
        [keras.Input(x.shape[1:]), *layers, keras.layers.Dense(128, activation="relu"),
         keras.layers.Dense(num_classes)],
        name="surrogate",
    )  # fmt: skip
    surrogate.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    surrogate.fit(x, labels, epochs=epochs, batch_size=batch_size, verbose=0)
    return surrogate


def resolve_surrogate(surrogate, predictor, x, seed=0):
    """`None`, a model, a path (loaded with `tfadv.evaluation.load_model`) or `"train"`."""
    if surrogate is None:
        return None
    if isinstance(surrogate, str) and surrogate == "train":
        return train_surrogate(predictor, x, seed=seed)
    if isinstance(surrogate, str) or hasattr(surrogate, "__fspath__"):
        surrogate = load_model(surrogate)
    if not callable(surrogate) or getattr(surrogate, "gradient_free", False):
        raise TypeError(
            "`surrogate` must be None, 'train', a differentiable model or its path. Received: "
            f"surrogate={surrogate!r}"
        )
    return surrogate
