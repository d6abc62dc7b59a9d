"""Loading an export for `tfadv.export.verify`: a SavedModel folder or an ONNX file as a function
`images -> logits` (NumPy float32), with the stochastic flag the export recorded.

Finding and opening the export is evaluation's (`tfadv.evaluation.loading.find_export`,
`SavedModelClassifier`, `OnnxClassifier`); this module only adds verify's error messages and the
NumPy view.
"""

import os

import numpy as np

from tfadv.evaluation.loading import find_export
from tfadv.evaluation.onnx_classifier import OnnxClassifier
from tfadv.evaluation.saved_model_classifier import SavedModelClassifier

_CLASSIFIERS = {"saved_model": SavedModelClassifier, "onnx": OnnxClassifier}


class _Exported:
    """A callable `images (np.float32) -> logits (np.float32)` over a loaded export."""

    def __init__(self, path, format, classifier):
        self.path = path
        self.format = format
        self.classifier = classifier
        self.stochastic = classifier.stochastic

    def __call__(self, images):
        return np.asarray(self.classifier(np.asarray(images, dtype="float32")), dtype="float32")


def load_exported(path):
    """Loads a SavedModel folder or an ONNX file written by `tfadv.export` (or compatible)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a file or folder path. Received: path={path!r}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"No exported model at {path!r}. Received: path={path!r}")
    found = find_export(path)
    if found is None and os.path.isfile(path):
        raise ValueError(
            "`path` must be an `.onnx` file or a SavedModel folder (holding `saved_model.pb`). "
            f"Received: path={path!r}"
        )
    if found is None:
        raise ValueError(
            "`path` must be an `.onnx` file, a SavedModel folder (holding `saved_model.pb`), or a "
            f"TF-Serving base folder of numbered versions. Received: path={path!r}, holding "
            f"{sorted(os.listdir(path))[:10]}"
        )
    kind, where = found
    return _Exported(where, kind, _CLASSIFIERS[kind](where))
