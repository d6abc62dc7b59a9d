"""
Title: Writing your own adversarial-training method
Author: tfadv
Description: One class, one hook: subclass `tfadv.AdvModel`, override `compute_adv_loss`, declare a registry name and knobs.
"""

"""
## Setup

A training method in tfadv is a subclass of `tfadv.AdvModel`. The base class owns everything
that is not the method: `train_step` (the gradient tape, the optimizer, loss scaling under mixed
precision, `tf.distribute`), the epsilon schedule, the validation attack and the metrics. A
method overrides one hook, `compute_adv_loss`, which receives the clean batch, the labels and
the attack's result and returns a `tfadv.LossResult`.

With `TFADV_EXAMPLE_SMOKE=1` this guide runs at smoke size (256 training digits, one epoch, 32
test digits, what the test suite runs); otherwise at its real size (9,000 training digits, 5
epochs, 1,000 test digits; a few minutes on a laptop CPU).
"""

import os
import tempfile

import keras
import tensorflow as tf

import tfadv
from tfadv.utils.registry import Knob

SMOKE = os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"
TRAIN_LIMIT, EPOCHS, TEST_LIMIT = (256, 1, 32) if SMOKE else (None, 5, 1000)

keras.utils.set_random_seed(0)

"""
## The method: adversarial training with label smoothing

As an example, PGD adversarial training whose cross-entropy on the adversarial example uses
smoothed labels: the target puts `1 - smoothing` on the true class and spreads `smoothing` over
all classes. The clean cross-entropy is logged as an extra metric, to watch the trade-off.

What the class declares:

- `@keras.saving.register_keras_serializable`: the model saves and reloads as a `.keras` file;
- `registry_name`: the method enrols in `tfadv.methods.METHODS` under that name, where the
  tuner and `from_knobs` find it (in a file of `tfadv/methods/`, the CLI and the recipes find it
  too);
- `knobs`: its hyperparameters, each a keyword argument of the constructor with a type, a domain
  and one line of help; the default is read from the constructor, so the two cannot disagree;
- `extra_metrics`: names of the per-batch values the hook reports besides the loss.

The hook computes the loss in training mode (`training=True`), reduces it with
`self.reduce_loss` (which honours `sample_weight`) and returns the logits on which
`adv_accuracy` is measured.
"""


@keras.saving.register_keras_serializable(package="guide")
class LabelSmoothedAT(tfadv.AdvModel):
    """PGD adversarial training with label smoothing on the adversarial cross-entropy.

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: the training attack. Defaults to `tfadv.attacks.PGD(eps=0.3, step_size=0.01,
            steps=40)`.
        smoothing: float in [0, 1], the label-smoothing mass. Defaults to `0.1`.
        **kwargs: `eps_schedule`, `eval_attack` and the `keras.Model` arguments.
    """

    registry_name = "label_smoothed_at"
    extra_metrics = ("clean_loss",)
    knobs = {"smoothing": Knob(float, help="label-smoothing mass", minimum=0.0, maximum=1.0)}

    def __init__(self, classifier, attack=None, *, smoothing=0.1, **kwargs):
        if not 0.0 <= smoothing <= 1.0:
            raise ValueError(f"`smoothing` must be in [0, 1]. Received: smoothing={smoothing}")
        self.smoothing = float(smoothing)
        super().__init__(classifier, attack, **kwargs)

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        adv_logits = tf.cast(self.classifier(adv.x_adv, training=True), tf.float32)
        clean_logits = tf.cast(self.classifier(x, training=True), tf.float32)
        num_classes = tf.shape(adv_logits)[-1]
        targets = tf.one_hot(y, num_classes) * (1.0 - self.smoothing) + self.smoothing / tf.cast(
            num_classes, tf.float32
        )
        robust = tf.nn.softmax_cross_entropy_with_logits(targets, adv_logits)
        clean = tf.nn.sparse_softmax_cross_entropy_with_logits(y, clean_logits)
        loss = self.reduce_loss(robust, sample_weight)
        return tfadv.LossResult(loss, adv_logits, extras={"clean_loss": clean})

    def get_config(self):
        config = super().get_config()
        config["smoothing"] = self.smoothing
        return config


"""
## Train it with `fit`

The method is now an ordinary Keras model. Everything the base class offers works with it:
the epsilon warm-up, the validation attack, callbacks.
"""

x_train, y_train = tfadv.data.load_numpy("embedded_mnist", "train", limit=TRAIN_LIMIT)
x_test, y_test = tfadv.data.load_numpy("embedded_mnist", "test", limit=TEST_LIMIT)

model = LabelSmoothedAT(
    tfadv.models.compact_cnn(),
    attack=tfadv.attacks.PGD(eps=0.3, step_size=0.03, steps=10),
    smoothing=0.1,
    eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.3, ramp_epochs=max(1, EPOCHS - 2)),
    eval_attack=tfadv.attacks.PGD(eps=0.3, steps=10),
)
model.compile(optimizer=keras.optimizers.Adam(1e-3))
history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=64, validation_split=0.1, verbose=2)
print(sorted(history.history))  # the base metrics, the extra `clean_loss`, the validation ones

"""
## The registry

Declaring `registry_name` enrolled the class: `tfadv.methods.get` finds it, and `from_knobs`
builds it from an `AttackBudget` (the training attack's radius, steps and step size) and knob
values, which is how recipes and Keras Tuner searches build every method. Knob values are
checked against their declared domain.
"""

print(tfadv.methods.METHODS.get("label_smoothed_at").knobs)
built = tfadv.methods.get("label_smoothed_at").from_knobs(
    tfadv.models.compact_cnn(),
    budget=tfadv.AttackBudget(eps=0.3, steps=10),
    smoothing=0.2,
)
print(type(built).__name__, "smoothing =", built.smoothing, "attack =", built.attack)
try:
    tfadv.methods.get("label_smoothed_at").from_knobs(tfadv.models.compact_cnn(), smoothing=2.0)
except ValueError as error:
    print("refused:", error)

"""
## Save, reload, evaluate

`get_config` returns the knob, so the `.keras` file rebuilds the same method; the registered
serialisable name lets `keras.saving.load_model` find the class. Evaluation and export act on
the classifier alone, which holds no attack code.
"""

path = os.path.join(tempfile.mkdtemp(), "label_smoothed_at.keras")
model.save(path)
reloaded = keras.saving.load_model(path)
print(type(reloaded).__name__, "smoothing =", reloaded.smoothing)

report = tfadv.evaluation.evaluate(reloaded, (x_test, y_test), eps=0.3, protocol="quick")
print(report)

"""
## Making it part of tfadv

To ship the method with the library, put the class in its own file, `tfadv/methods/<name>.py`,
and add `tests/methods/test_<name>.py` with the method's own mathematics (a hand-computed loss,
the reduction to a simpler method: here `smoothing=0` is `tfadv.methods.PGDAT`). Nothing else:
`tfadv.methods` imports every module of its package, and the command line, the recipes, the
tuner and the registry-wide tests (save and load, resume, `MirroredStrategy`, mixed precision)
pick the method up from `METHODS`. `ARCHITECTURE.md` ("How to add a method") has the details.
"""
