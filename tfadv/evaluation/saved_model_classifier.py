"""`SavedModelClassifier`: a SavedModel's serving signature as a differentiable classifier."""

import json
import os

import tensorflow as tf

from tfadv import backend


class SavedModelClassifier:
    """A loaded SavedModel's serving signature as a differentiable `model(x) -> logits` callable.

    Gradient attacks run through it: the restored signature is a TensorFlow function whose input
    gradients `tf.GradientTape` computes as for any other graph. A TensorFlow graph runs on Keras'
    TensorFlow backend only: elsewhere construction raises `ValueError` (`check_backend`).

    Args:
        folder: str, the SavedModel folder (holding `saved_model.pb`).
    """

    gradient_free = False

    def __init__(self, folder):
        check_backend("A SavedModel (SavedModelClassifier)")
        self.folder = folder
        self.module = tf.saved_model.load(folder)  # keeps the variables alive
        signatures = self.module.signatures
        if "serving_default" not in signatures:
            raise ValueError(
                f"The SavedModel at {folder!r} has no `serving_default` signature. Received "
                f"signatures: {sorted(signatures.keys())}"
            )
        self.signature = signatures["serving_default"]
        inputs = self.signature.structured_input_signature[1]
        if len(inputs) != 1:
            raise ValueError(
                f"The SavedModel at {folder!r} must take one image input. Received inputs: "
                f"{sorted(inputs)}"
            )
        self.input_name = next(iter(inputs))
        self.output_name = pick_output(list(self.signature.structured_outputs), folder)
        self.stochastic = bool(export_metadata(folder).get("stochastic", False))

    def __call__(self, x, training=False):
        outputs = self.signature(**{self.input_name: tf.cast(x, tf.float32)})
        return outputs[self.output_name]

    def get_config(self):
        return {"folder": self.folder}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"SavedModelClassifier({self.folder!r})"


def check_backend(what):
    """Raises `ValueError` unless Keras' backend is TensorFlow, which loaded exports need: a
    SavedModel is a TensorFlow graph, and an ONNX session is queried through
    `tf.numpy_function` inside the attacks' `tf.function`s."""
    backend.check_supported(what, ("tensorflow",))


def export_metadata(folder):
    """The JSON that `tfadv.export.to_saved_model` writes beside the model, or `{}`."""
    path = os.path.join(folder, "assets.extra", "tfadv_export.json")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pick_output(names, where):
    """The output to read as logits: `"logits"`, or the only output."""
    if "logits" in names:
        return "logits"
    if len(names) == 1:
        return names[0]
    raise ValueError(
        f"The model at {where!r} has no `logits` output. Received outputs: {sorted(names)}"
    )
