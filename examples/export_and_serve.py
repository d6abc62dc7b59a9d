"""
Title: Export and serve a robust model
Author: tfadv
Description: Export a trained classifier to a TF Serving SavedModel and to ONNX, prove the files are the same model (robustness included), and serve the ONNX file with ONNX Runtime.
"""

"""
## Setup

A robust model is trained to be deployed, and the deployed file is what an attacker meets.
`tfadv.export` writes two formats, a versioned SavedModel for TensorFlow Serving and an ONNX
file for ONNX Runtime and other ONNX servers, and `tfadv.export.verify` checks that a file
computes the same logits as the Keras model, on clean and on adversarial inputs.

With `TFADV_EXAMPLE_SMOKE=1` the guide runs at smoke size (256 training digits, one epoch, 64
test digits, what the test suite runs); otherwise at its real size (9,000 training digits, 3
epochs, 1,000 test digits; a few minutes on a laptop CPU).
"""

import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import onnxruntime
import tensorflow as tf

import tfadv

SMOKE = os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"
TRAIN_LIMIT, EPOCHS, TEST_LIMIT = (256, 1, 64) if SMOKE else (None, 3, 1000)

keras.utils.set_random_seed(0)
folder = tempfile.mkdtemp()

"""
## A model to deploy

A TRADES model, trained as in the guide on adversarial training with `fit`, at a radius of 0.1
to keep it short. The method wraps a classifier; what gets exported is the classifier alone
(`model.classifier`), in inference mode, with no attack code. Passing the `AdvModel` to the
exporters does that unwrapping for you.
"""

x_train, y_train = tfadv.data.load_numpy("embedded_mnist", "train", limit=TRAIN_LIMIT)
x_test, y_test = tfadv.data.load_numpy("embedded_mnist", "test", limit=TEST_LIMIT)

model = tfadv.methods.TRADES(
    tfadv.models.compact_cnn(),
    attack=tfadv.attacks.EarlyStoppedPGD(
        eps=0.1, step_size=0.02, steps=7, tau=7, random_init="normal", omega=0.0, loss="kl"
    ),
    beta=6.0,
)
model.compile(optimizer=keras.optimizers.Adam(1e-3))
model.fit(x_train, y_train, epochs=EPOCHS, batch_size=64, verbose=2)

"""
## SavedModel for TensorFlow Serving

`to_saved_model(model, base, version=N)` writes `base/N/`, the layout TF Serving watches (a
new version goes in a new numbered folder; an existing one is never overwritten). Its
`serving_default` signature takes `images`, float32 `(batch, 28, 28, 1)` in [0, 1], and returns
`logits` and `probabilities`.
"""

base = os.path.join(folder, "serving", "mnist")
version_folder = tfadv.export.to_saved_model(model, base, version=1)
print("SavedModel:", version_folder, sorted(os.listdir(version_folder)))

serving = tf.saved_model.load(version_folder).signatures["serving_default"]
outputs = serving(images=tf.constant(x_test[:4]))
print(
    "served classes:", np.argmax(outputs["probabilities"].numpy(), axis=-1), "labels:", y_test[:4]
)

"""
## ONNX

`to_onnx` converts the same inference graph with tf2onnx (opset 17 by default), checks that
every operation is supported, and checks that ONNX Runtime can load the result before writing
it.
"""

onnx_path = tfadv.export.to_onnx(model, os.path.join(folder, "deploy", "mnist.onnx"))
print("ONNX file:", onnx_path, os.path.getsize(onnx_path), "bytes")

"""
## Verify: the same model, robustness included

`verify(path, model, x, y, attack=...)` runs the exported file and the Keras model on the same
inputs and compares their logits (maximum absolute difference, against a tolerance of `1e-4`,
widened for mixed precision) and their predicted classes. With an `attack`, it also crafts
adversarial examples on the Keras model and checks that the file reaches the same adversarial
accuracy on them: the deployed file is as robust as the model that was evaluated.
"""

attack = tfadv.attacks.PGD(eps=0.1, steps=10)
for path in (version_folder, onnx_path):
    parity = tfadv.export.verify(path, model, x_test, y_test, attack=attack)
    print(parity)
    if not parity.passed:
        raise SystemExit(f"export parity failed for {path}")

"""
## Serve with ONNX Runtime

The serving side needs neither TensorFlow nor tfadv: NumPy and `onnxruntime` are enough. The
graph's input is called `images`, its outputs `logits` and `probabilities`.
"""

session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
print("inputs:", [(i.name, i.shape) for i in session.get_inputs()])
print("outputs:", [o.name for o in session.get_outputs()])
logits, probabilities = session.run(["logits", "probabilities"], {"images": x_test[:8]})
print("predicted:", np.argmax(probabilities, axis=-1), "labels:", y_test[:8])
print("batch accuracy:", float(np.mean(np.argmax(logits, axis=-1) == y_test[:8])))

"""
The repository's `export/serve_onnx.py` is the same thing as a small command-line program that
classifies images stored as `.npy` files:
"""

images = os.path.join(folder, "digits.npy")
np.save(images, x_test[:3])
served = subprocess.run(
    [sys.executable, "export/serve_onnx.py", onnx_path, images, "--top-k", "2"],
    capture_output=True,
    text=True,
    check=True,
)
print(served.stdout)

"""
## From the command line

The same exports, with the parity check, from a saved `.keras` file:

```bash
tfadv export robust_mnist.keras --format onnx --out deploy/
tfadv export robust_mnist.keras --format saved_model --out serving/mnist
```

`tfadv train` exports every run's kept model this way (`.keras`, SavedModel and ONNX). A
randomised defence (noise layers) is exported deterministic unless `stochastic=True` is asked
for; the guide on randomised defences covers those.
"""
