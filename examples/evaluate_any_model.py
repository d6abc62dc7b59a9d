"""
Title: Evaluate any model the way AutoAttack does
Author: tfadv
Description: Run the "standard" protocol on a plain Keras model and on an exported ONNX file, and read the report, its flags and its adaptive checks.
"""

"""
## Setup

`tfadv.evaluation.evaluate` needs no tfadv model: any Keras model that maps images in [0, 1] to
logits will do, and so will a file (`.keras`, a SavedModel folder, an `.onnx` file). This guide
trains an ordinary, non-robust CNN with plain `fit`, evaluates it under the `"standard"`
protocol (AutoAttack's standard version), reads the report, then exports the model to ONNX and
evaluates the file.

With `TFADV_EXAMPLE_SMOKE=1` the guide runs at smoke size (1,000 training digits, one epoch, 32
test digits, what the test suite runs); otherwise at its real size (9,000 training digits, 3
epochs, 500 test digits; a few minutes on a laptop CPU).
"""

import os
import tempfile

import keras

import tfadv

SMOKE = os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"
TRAIN_LIMIT, EPOCHS, TEST_LIMIT = (1000, 1, 32) if SMOKE else (None, 3, 500)

keras.utils.set_random_seed(0)

"""
## A plain Keras model

Nothing adversarial here: a small CNN trained with cross-entropy on clean digits. It ends with
a `Dense` layer without activation, so it returns logits, which is what the attacks expect (a
model that returns probabilities is attacked through its log-probabilities, and the report
says so).
"""

x_train, y_train = tfadv.data.load_numpy("embedded_mnist", "train", limit=TRAIN_LIMIT)
x_test, y_test = tfadv.data.load_numpy("embedded_mnist", "test", limit=TEST_LIMIT)

model = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ]
)
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(x_train, y_train, epochs=EPOCHS, batch_size=64, verbose=2)

"""
## The "standard" protocol

`protocol="standard"` runs AutoAttack's standard version as a cascade: APGD-CE, then APGD-T
(targeted, DLR loss), FAB-T and Square (a black-box attack), each on the examples the earlier
ones did not break. The headline, `robust_accuracy`, is the per-example worst case: an example
counts as robust only if every attack failed on it.

A radius of 0.1 in l-inf is small for MNIST, but large enough to break a model trained without
attacks.
"""

report = tfadv.evaluation.evaluate(model, (x_test, y_test), eps=0.1, protocol="standard")
print(report)

"""
## Reading the report

The table names every attack with its budget, its accuracy (cumulative for a cascade: the
accuracy after that attack and all earlier ones) and its run time, so each number says which
attack produced it. The same content is available as data:
"""

print("clean accuracy: ", report.clean_accuracy)
print("robust accuracy:", report.robust_accuracy)
print("per attack:     ", report.per_attack_accuracy)
print("broken first by:", report.broken_by)
print("summary:        ", report.summary)

"""
### Sanity flags and adaptive checks

A robust-accuracy number is only as good as the attacks behind it. With `checks=True` (the
default) the report carries the flags of `tfadv.evaluation.SANITY_CHECKS`, the symptoms of
gradient masking listed by Carlini et al.: inputs with an all-zero gradient, accuracy above
chance at a radius that can turn every image grey, accuracy that does not fall as the radius
grows or as the attack gets more steps and restarts, a black-box attack that beats the gradient
attacks.

Two of them are adaptive attacks that must not beat the protocol: PGD on temperature-scaled
logits (`scaled_logits_beat_protocol`), and, when a `surrogate` is given, a transfer attack
from it (`transfer_beats_protocol`). `report.flagged` lists the raised flags; an empty list is
what a trustworthy number needs, not a proof of robustness.
"""

for flag in report.flags:
    print(flag)
print("raised:", report.flagged)

"""
The report round-trips through JSON, for result tables and for comparing runs:
"""

folder = tempfile.mkdtemp()
report.to_json(os.path.join(folder, "report.json"))
same = tfadv.evaluation.RobustnessReport.from_json(os.path.join(folder, "report.json"))
print("round trip equal:", same == report)

"""
## An exported artefact

What gets deployed is a file, and the file is what should be evaluated.
`tfadv.export.to_onnx` writes the classifier as an ONNX graph, and `evaluate` accepts its path
(or the classifier `tfadv.evaluation.load_model` returns). ONNX Runtime gives no gradients, so
the protocol runs its black-box attack only (the report says `black-box variant`): Square
with its full query budget, plus a transfer attack from a `surrogate` when one is given. Here
the surrogate is the Keras model itself, the strongest one possible; with a real deployment,
a model you trained on the same task.
"""

onnx_path = tfadv.export.to_onnx(model, os.path.join(folder, "model.onnx"))
onnx_report = tfadv.evaluation.evaluate(
    onnx_path, (x_test, y_test), eps=0.1, protocol="standard", surrogate=model
)
print(onnx_report)

"""
`load_model` gives the same classifier as an object, to call or to evaluate several times:
"""

served = tfadv.evaluation.load_model(onnx_path)
print(type(served).__name__, "logits shape:", served(x_test[:4]).shape)

"""
The black-box number is an upper bound on what a white-box attacker reaches against the same
weights; when both are available, the white-box report of the Keras model is the one to
publish. Run the guide at its real size to see the two side by side.
"""
