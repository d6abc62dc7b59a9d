"""`OnnxClassifier`: an ONNX Runtime session as a gradient-free classifier."""

import numpy as np
import tensorflow as tf

from tfadv.evaluation.saved_model_classifier import check_backend, pick_output


class OnnxClassifier:
    """An ONNX Runtime session as a gradient-free `model(x) -> logits` callable.

    Forward passes run on the CPU execution provider through `tf.numpy_function`, so they work in
    `tf.function`s (Square's queries); there is no input gradient (`gradient_free = True`), and
    `tfadv.evaluation.evaluate` attacks such a model with black-box and transfer attacks only.
    Keras' TensorFlow backend only: elsewhere construction raises `ValueError`.

    Args:
        path: str, the `.onnx` file.
    """

    gradient_free = True

    def __init__(self, path):
        check_backend("An ONNX model (OnnxClassifier)")
        import onnxruntime  # on use: a heavy import that only `.onnx` evaluation needs

        self.path = path
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(
                f"The ONNX model at {path!r} must take one image input. Received inputs: "
                f"{[i.name for i in inputs]}"
            )
        self.input_name = inputs[0].name
        outputs = self.session.get_outputs()
        self.output_name = pick_output([o.name for o in outputs], path)
        shape = next(o.shape for o in outputs if o.name == self.output_name)
        self.num_classes = shape[-1] if isinstance(shape[-1], int) else None
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.stochastic = metadata.get("tfadv.stochastic", "false") == "true"

    def _run(self, x):
        feed = {self.input_name: np.ascontiguousarray(x, dtype=np.float32)}
        return self.session.run([self.output_name], feed)[0].astype(np.float32)

    def __call__(self, x, training=False):
        logits = tf.numpy_function(self._run, [tf.cast(x, tf.float32)], tf.float32, stateful=False)
        logits.set_shape([None, self.num_classes])
        return logits

    def get_config(self):
        return {"path": self.path}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"OnnxClassifier({self.path!r})"
