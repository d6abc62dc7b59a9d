"""
Title: Certified robustness with randomized smoothing
Author: tfadv
Description: Train a base classifier on Gaussian noise and certify l2 radii with Cohen et al.'s smoothed classifier.
"""

"""
## Setup

Attacks give upper bounds on robust accuracy: an attack that fails proves nothing.
Randomized smoothing (Cohen, Rosenfeld and Kolter, 2019) gives lower bounds instead. The
smoothed classifier `g(x)` answers the class that a base classifier `f` predicts most often on
`x + N(0, sigma^2 I)`; if that class wins with probability `pA > 1/2`, no l2 perturbation
smaller than `sigma * Phi^-1(pA)` can change `g`'s answer. The probability is estimated by
Monte Carlo, so the certificate holds with probability `1 - alpha`, and `g` abstains when the
evidence is too thin.

With `TFADV_EXAMPLE_SMOKE=1` the guide runs at smoke size (1,000 training digits, one epoch, 16
test digits, 1,000 noise samples each, what the test suite runs); otherwise at its real size
(9,000 training digits, 10 epochs, 500 test digits, Cohen et al.'s 100,000 noise samples; expect
tens of minutes on a laptop CPU).
"""

import os
import tempfile

import keras

import tfadv

SMOKE = os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"
TRAIN_LIMIT, EPOCHS, TEST_LIMIT, SAMPLES = (
    (1000, 1, 16, 1000) if SMOKE else (None, 10, 500, 100_000)
)
SIGMA = 0.25

keras.utils.set_random_seed(0)

"""
## Train the base classifier on noise

Smoothing needs a base classifier that is accurate under the noise it will be queried with.
`tfadv.methods.GaussianAugmentation` trains on `x + sigma * N(0, I)` (no attack runs); train
at the `sigma` you will certify with.
"""

x_train, y_train = tfadv.data.load_numpy("embedded_mnist", "train", limit=TRAIN_LIMIT)
x_test, y_test = tfadv.data.load_numpy("embedded_mnist", "test", limit=TEST_LIMIT)

model = tfadv.methods.GaussianAugmentation(tfadv.models.compact_cnn(), sigma=SIGMA, seed=0)
model.compile(optimizer=keras.optimizers.Adam(1e-3))
model.fit(x_train, y_train, epochs=EPOCHS, batch_size=64, verbose=2)

"""
## Certify

`SmoothedClassifier(classifier, sigma)` wraps the trained base classifier. `certify` runs
Cohen et al.'s CERTIFY: `n0` samples pick the top class, `n` fresh samples bound its
probability from below at confidence `1 - alpha`, and the radius follows. A prediction of `-1`
is an abstention (radius 0).
"""

smoothed = tfadv.certification.SmoothedClassifier(model.classifier, sigma=SIGMA, seed=0)
predictions, radii = smoothed.certify(x_test[:8], n0=100, n=SAMPLES, alpha=0.001)
for label, prediction, radius in zip(y_test[:8], predictions, radii, strict=True):
    print(f"label {label}  prediction {prediction:>2}  certified l2 radius {radius:.3f}")

"""
The radius is capped by the number of samples: with `n` samples the lower bound `pA` cannot
exceed `alpha ** (1 / n)`, so more samples certify larger radii (with `n=1000` and
`alpha=0.001` the cap is `0.25 * Phi^-1(0.9931)`, about 0.62). `predict` is the cheaper
procedure when only the class is needed (a two-sided test between the two most frequent
classes, abstaining when it is not significant):
"""

print("predict:", smoothed.predict(x_test[:8], n=SAMPLES, alpha=0.001), "labels:", y_test[:8])

"""
## Certified accuracy against the radius

`evaluate(x, y)` certifies labelled data and returns a `CertificationReport`: the certified
accuracy at radius `r` is the share of examples that are classified correctly with a
certified radius of at least `r`.
"""

report = smoothed.evaluate(x_test, y_test, n0=100, n=SAMPLES, alpha=0.001)
print(report.table())
print("abstention rate:", report.abstention_rate)
print("certified accuracy at r = 0.5:", report.certified_accuracy(0.5))

"""
## Certified and empirical numbers, side by side

An attack on the base classifier gives an empirical number of a different kind: an upper bound,
for another model (the base classifier, not the smoothed one). `side_by_side` prints them in
separate sections and never mixes them. The l2 radius here is 0.5: on a 28x28 digit that
is, for instance, every pixel moved by about 0.018.
"""

empirical = tfadv.evaluation.evaluate(
    model.classifier, (x_test, y_test), eps=0.5, norm="l2", protocol="quick"
)
print(report.side_by_side(empirical))

"""
The curve, as a PNG (written to a temporary folder):
"""

path = os.path.join(tempfile.mkdtemp(), "certified_accuracy.png")
report.plot(path)
print("plot:", path, os.path.getsize(path), "bytes")

"""
At smoke size the base classifier is barely trained and the certificates are small. At the
real size, run it to see; `recipes/mnist/gaussian_augmentation.py` is the recipe, and
`tfadv train --config recipes/mnist/gaussian_augmentation.py` trains and certifies it.
"""
