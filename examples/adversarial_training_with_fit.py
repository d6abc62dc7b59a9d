"""
Title: Adversarial training with `fit`
Author: tfadv
Description: Train a robust MNIST classifier with PGD-AT and TRADES through `model.fit`.
"""

"""
## Setup

tfadv's training methods are `keras.Model` subclasses (`tfadv.AdvModel`) that wrap a plain
classifier and replace its `train_step`: every batch is attacked first, and the loss is taken on
the adversarial examples. Everything else is ordinary Keras: `compile`, `fit`, callbacks,
`validation_split`.

This guide reads one environment variable: with `TFADV_EXAMPLE_SMOKE=1` it runs at smoke size
(256 training digits, one epoch, 32 test digits; a few seconds, what the test suite runs),
otherwise at its real size (9,000 training digits, 5 epochs per method, 1,000 test digits; a few
minutes per method on a laptop CPU).
"""

import os
import tempfile

import keras

import tfadv

SMOKE = os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"
TRAIN_LIMIT, EPOCHS, TEST_LIMIT = (256, 1, 32) if SMOKE else (None, 5, 1000)

keras.utils.set_random_seed(0)

"""
## The data

tfadv ships 10,000 training and 5,000 test MNIST digits inside the package, so this guide runs
offline. `load_numpy` returns float32 images in [0, 1] of shape `(N, 28, 28, 1)` and integer
labels; the `"train"` split leaves out a 1,000-digit `"validation"` split.
"""

x_train, y_train = tfadv.data.load_numpy("embedded_mnist", "train", limit=TRAIN_LIMIT)
x_test, y_test = tfadv.data.load_numpy("embedded_mnist", "test", limit=TEST_LIMIT)
print(f"train: {x_train.shape}, test: {x_test.shape}")

"""
## PGD adversarial training (Madry et al.)

`tfadv.methods.PGDAT` trains on the PGD adversarial example of each batch, the min-max problem
of Madry et al. The classifier is any Keras model that maps images in [0, 1] to logits; here
`tfadv.models.compact_cnn`, a small CNN that trains quickly on a CPU.

Three arguments are worth knowing:

- `attack`: the inner maximiser, here PGD in the l-inf ball of radius 0.3 (the MNIST
  standard), 10 steps of size 0.03 with a random start;
- `eps_schedule`: an epsilon warm-up. Training at the full radius from the first step often
  collapses on MNIST; `LinearRamp` grows it from 0 to 0.3 over the first epochs;
- `eval_attack`: an attack run on the validation data, which adds `val_adv_accuracy` to the
  logs.

`compile` needs only an optimizer: the method owns its loss and adds the metrics
(`accuracy` on the adversarial batch, `clean_accuracy`).
"""

pgd_at = tfadv.methods.PGDAT(
    tfadv.models.compact_cnn(),
    attack=tfadv.attacks.PGD(eps=0.3, step_size=0.03, steps=10),
    eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.3, ramp_epochs=max(1, EPOCHS - 2)),
    eval_attack=tfadv.attacks.PGD(eps=0.3, steps=10),
)
pgd_at.compile(optimizer=keras.optimizers.Adam(1e-3))
history = pgd_at.fit(
    x_train, y_train, epochs=EPOCHS, batch_size=64, validation_split=0.1, verbose=2
)
print({name: round(values[-1], 4) for name, values in history.history.items()})

"""
## TRADES (Zhang et al.)

TRADES keeps the clean cross-entropy and adds `beta` times the KL divergence between the
predictions on the clean and on the adversarial image. Its inner attack maximises that KL, so it
must be built with `loss="kl"`; `tfadv.attacks.EarlyStoppedPGD` with `tau=steps` and a normal
random start is exactly TRADES' reference attack. A larger `beta` buys robustness with clean
accuracy.
"""

trades = tfadv.methods.TRADES(
    tfadv.models.compact_cnn(),
    attack=tfadv.attacks.EarlyStoppedPGD(
        eps=0.3, step_size=0.03, steps=10, tau=10, random_init="normal", omega=0.0, loss="kl"
    ),
    beta=6.0,
    eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.3, ramp_epochs=max(1, EPOCHS - 2)),
    eval_attack=tfadv.attacks.PGD(eps=0.3, steps=10),
)
trades.compile(optimizer=keras.optimizers.Adam(1e-3))
history = trades.fit(
    x_train, y_train, epochs=EPOCHS, batch_size=64, validation_split=0.1, verbose=2
)
print({name: round(values[-1], 4) for name, values in history.history.items()})

"""
## Evaluate both

`val_adv_accuracy` is the accuracy under the training-time attack, a number that is easy to
overestimate. `tfadv.evaluation.evaluate` runs a named, versioned protocol on the classifier:
`"quick"` is PGD-20 plus APGD-CE, and an example counts as robust only if every attack failed on
it (the per-example worst case). The report also carries sanity flags (zero gradients, accuracy
that rises with the radius, ...), which must all be clear before the number is trusted. For the
number to publish, use `protocol="standard"` (AutoAttack), as in the guide on evaluating any
model.

Passing the `AdvModel` evaluates its `.classifier`.
"""

for name, model in [("PGD-AT", pgd_at), ("TRADES", trades)]:
    report = tfadv.evaluation.evaluate(model, (x_test, y_test), eps=0.3, protocol="quick")
    print(f"--- {name}")
    print(report)
    print("raised flags:", report.flagged)

"""
At smoke size both models are barely trained and the numbers mean nothing. At the real size,
run it to see; `recipes/mnist/pgd_at.py` and `recipes/mnist/trades.py` are the full-budget
versions, run with `tfadv train --config recipes/mnist/trades.py`.

## Save and reload

An `AdvModel` saves as a `.keras` file with its classifier, attack and schedule. For deployment,
save (or export) only the classifier: `trades.classifier` is a plain Keras model.
"""

folder = tempfile.mkdtemp()
trades.save(os.path.join(folder, "trades.keras"))
trades.classifier.save(os.path.join(folder, "classifier.keras"))
reloaded = keras.saving.load_model(os.path.join(folder, "trades.keras"))
print(type(reloaded).__name__, "reloaded from", folder)
