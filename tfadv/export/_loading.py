"""Loading an export for `tfadv.export.verify`: a SavedModel folder or an ONNX file as a function
`images -> logits` (NumPy float32), with the stochastic flag the export recorded."""

import json
import os

import numpy as np

from tfadv.evaluation.saved_model_classifier import pick_output


class _Exported:
    """A callable `images (np.float32) -> logits (np.float32)` over a loaded export."""

    def __init__(self, path, format, fn, stochastic):
        self.path = path
        self.format = format
        self._fn = fn
        self.stochastic = stochastic

    def __call__(self, images):
        return np.asarray(self._fn(images), dtype="float32")


def load_exported(path):
    """Loads a SavedModel folder or an ONNX file written by `tfadv.export` (or compatible)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a file or folder path. Received: path={path!r}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"No exported model at {path!r}. Received: path={path!r}")
    if os.path.isfile(path):
        if path.lower().endswith(".onnx"):
            return _load_onnx(path)
        raise ValueError(
            "`path` must be an `.onnx` file or a SavedModel folder (holding `saved_model.pb`). "
            f"Received: path={path!r}"
        )
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return _load_saved_model(path)
    versions = [
        int(name)
        for name in os.listdir(path)
        if name.isdigit() and os.path.isfile(os.path.join(path, name, "saved_model.pb"))
    ]
    if versions:
        return _load_saved_model(os.path.join(path, str(max(versions))))
    onnx_files = sorted(name for name in os.listdir(path) if name.lower().endswith(".onnx"))
    if len(onnx_files) == 1:
        return _load_onnx(os.path.join(path, onnx_files[0]))
    raise ValueError(
        "`path` must be an `.onnx` file, a SavedModel folder (holding `saved_model.pb`), or a "
        f"TF-Serving base folder of numbered versions. Received: path={path!r}, holding "
        f"{sorted(os.listdir(path))[:10]}"
    )


def _load_saved_model(folder):
    import tensorflow as tf

    loaded = tf.saved_model.load(folder)
    if "serving_default" not in loaded.signatures:
        raise ValueError(
            f"The SavedModel at {folder!r} has no `serving_default` signature. Received "
            f"signatures: {sorted(loaded.signatures.keys())}"
        )
    signature = loaded.signatures["serving_default"]
    inputs = signature.structured_input_signature[1]
    if len(inputs) != 1:
        raise ValueError(
            f"The SavedModel at {folder!r} must take one image input. Received inputs: "
            f"{sorted(inputs)}"
        )
    input_name = next(iter(inputs))
    output_name = pick_output(list(signature.structured_outputs), folder)

    def fn(images):
        outputs = signature(**{input_name: tf.constant(images, tf.float32)})
        return outputs[output_name].numpy()

    stochastic = False
    metadata_path = os.path.join(folder, "assets.extra", "tfadv_export.json")
    if os.path.isfile(metadata_path):
        with open(metadata_path, encoding="utf-8") as f:
            stochastic = bool(json.load(f).get("stochastic", False))
    exported = _Exported(folder, "saved_model", fn, stochastic)
    exported.module = loaded  # keeps the loaded variables alive
    return exported


def _load_onnx(path):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ValueError(
            f"The ONNX model at {path!r} must take one image input. Received inputs: "
            f"{[i.name for i in inputs]}"
        )
    input_name = inputs[0].name
    output_name = pick_output([o.name for o in session.get_outputs()], path)

    def fn(images):
        return session.run([output_name], {input_name: np.ascontiguousarray(images)})[0]

    metadata = session.get_modelmeta().custom_metadata_map
    stochastic = metadata.get("tfadv.stochastic", "false") == "true"
    return _Exported(path, "onnx", fn, stochastic)
