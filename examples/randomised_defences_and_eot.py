"""
Title: Randomised defences and Expectation over Transformation
Author: tfadv
Description: Train a noise-injection model, see why a randomised model needs EOT attacks, and evaluate it with the "rand" protocol and a majority vote.
"""

"""
## Setup

A randomised defence adds fresh noise to every forward pass, at inference too. Its gradients
are then random as well, and an attack that follows one gradient sample per step
underestimates what an attacker can do: the usual fix is Expectation over Transformation
(EOT, Athalye et al.), which averages the gradient over several draws per step. AutoAttack's
`version="rand"` is that: APGD-CE and APGD-DLR with EOT. tfadv detects randomised models and
scores them as AutoAttack does: one forward pass decides whether an example is classified
correctly, because a deployed randomised model answers with one draw.

With `TFADV_EXAMPLE_SMOKE=1` the guide runs at smoke size (256 training digits, one epoch, 16
test digits, 2 EOT samples per step, what the test suite runs); otherwise at its real size
(9,000 training digits, 5 epochs, 500 test digits, AutoAttack's 20 EOT samples; expect tens of
minutes on a laptop CPU).
"""

import os

import keras
import numpy as np

import tfadv

SMOKE = os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"
TRAIN_LIMIT, EPOCHS, TEST_LIMIT, EOT_ITER = (256, 1, 16, 2) if SMOKE else (None, 5, 500, 20)

keras.utils.set_random_seed(0)

"""
## A noise-injection model

`tfadv.layers.GaussianNoiseInjection` adds `N(0, stddev^2)` noise to its input in training
and at inference (unlike `keras.layers.GaussianNoise`, which is the identity at inference).
Placed first, it makes the classifier random. It is trained here with PGD adversarial
training at a radius of 0.1.
"""

x_train, y_train = tfadv.data.load_numpy("embedded_mnist", "train", limit=TRAIN_LIMIT)
x_test, y_test = tfadv.data.load_numpy("embedded_mnist", "test", limit=TEST_LIMIT)

classifier = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        tfadv.layers.GaussianNoiseInjection(stddev=0.2, seed=1),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),
    ]
)
model = tfadv.methods.PGDAT(classifier, attack=tfadv.attacks.PGD(eps=0.1, step_size=0.02, steps=7))
model.compile(optimizer=keras.optimizers.Adam(1e-3))
model.fit(x_train, y_train, epochs=EPOCHS, batch_size=64, verbose=2)

"""
Two forward passes on the same digits differ:
"""

first, second = classifier(x_test[:4]), classifier(x_test[:4])
print("max logit difference between two passes:", float(np.max(np.abs(first - second))))
print("detected as randomised:", tfadv.evaluation.detect_randomized(classifier, x_test))

"""
## A deterministic protocol on a random model

`"quick"` and `"standard"` run what was asked, one gradient sample per step, and never switch
to other attacks behind your back. On a randomised model the report says so: the
`randomized_model` flag is raised with the advice to run `"rand"`.
"""

quick = tfadv.evaluation.evaluate(classifier, (x_test, y_test), eps=0.1, protocol="quick")
print(quick)
print("raised:", quick.flagged)

"""
## The "rand" protocol: EOT

`protocol="rand"` runs APGD-CE and APGD-DLR with gradients averaged over `eot_iter` draws per
step (20 in AutoAttack). APGD also runs every example for its whole budget instead of stopping
at the first iterate that fooled one draw. The draws are keyed by `seed` and the batch, so the
evaluation reproduces.

`smoothed_draws=N` adds a separate line: the accuracy of the majority vote of `N` forward
passes, clean and under the same attacks. A vote is a different, less random classifier (and
`N` times as expensive to serve), so it is never the headline; the headline stays the
one-draw accuracy, which is what the deployed model answers.
"""

rand = tfadv.evaluation.evaluate(
    classifier,
    (x_test, y_test),
    eps=0.1,
    protocol="rand",
    eot_iter=EOT_ITER,
    smoothed_draws=10,
)
print(rand)
print("one draw, worst case:", rand.robust_accuracy)
print("vote of", rand.smoothed.draws, "draws:", rand.smoothed.robust_accuracy)

"""
The `randomized_model` flag stays raised under `"rand"`: it marks every number of the report
as the score of a random classifier, and now says how many gradient samples the attacks
averaged.

Compare the `"quick"` and `"rand"` worst cases at the real size (run it to see): when EOT
finds adversarial examples that one-sample attacks missed, the one-sample number was an
overestimate caused by the noise, not robustness.

## Deploying a randomised model

The exporters switch noise layers off unless asked otherwise: `tfadv.export.to_onnx(model,
path)` writes the deterministic classifier, and `stochastic=True` keeps the noise (then
`tfadv.export.verify` cannot compare logits, which are random by design). At runtime,
`tfadv.layers.set_noise_active(classifier, False)` switches every noise layer of a model off.
"""

tfadv.layers.set_noise_active(classifier, False)
print(
    "deterministic after switching off:",
    not tfadv.evaluation.detect_randomized(classifier, x_test),
)
