"""`load_model`: a classifier to evaluate from a `.keras` file, a SavedModel folder or an `.onnx` file."""

import os
import zipfile

from tfadv.evaluation.onnx_classifier import OnnxClassifier
from tfadv.evaluation.saved_model_classifier import SavedModelClassifier

#: File endings `load_model` reads as Keras models.
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def load_model(path):
    """Loads a classifier to evaluate: a `.keras` file, a SavedModel folder or an `.onnx` file.

    - `.keras` (or `.h5`): `keras.saving.load_model`, with tfadv's layers registered.
    - a SavedModel folder, or a TF-Serving base folder of numbered versions (what
      `tfadv.export.to_saved_model` writes; the highest version is used): a
      `SavedModelClassifier` over its `serving_default` signature, differentiable.
    - `.onnx` (what `tfadv.export.to_onnx` writes), or a folder holding one: an `OnnxClassifier`
      run by ONNX Runtime, gradient-free.

    Args:
        path: str or path-like.

    Returns:
        A callable `model(x) -> logits` (a `keras.Model` for Keras files).

    Raises:
        FileNotFoundError: nothing exists at `path`.
        ValueError: `path` is not a model in one of these formats (the message names the path).

    Example:

    ```python
    folder = tfadv.export.to_saved_model(model, "serving/mnist")
    served = tfadv.evaluation.load_model("serving/mnist")
    report = tfadv.evaluation.evaluate(served, (x_test, y_test), eps=0.3)
    ```
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file or folder path. Received: path={path!r}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model file or folder at {path!r}. Received: path={path!r}")
    if os.path.isdir(path):
        return _load_folder(path)
    lower = path.lower()
    if lower.endswith(".onnx"):
        return _guard(path, "an ONNX model", lambda: OnnxClassifier(path))
    if lower.endswith(KERAS_SUFFIXES) or zipfile.is_zipfile(path):
        return _guard(path, "a Keras model", lambda: _load_keras(path))
    raise ValueError(
        f"{path!r} is not a model tfadv can evaluate: expected a `.keras` file, a SavedModel "
        f"folder or an `.onnx` file. Received: path={path!r}"
    )


def _load_keras(path):
    import keras

    import tfadv  # noqa: F401  (registers tfadv's serialisable classes before loading)

    return keras.saving.load_model(path)


def find_export(path):
    """Where a deployed model lives at `path`, as `(kind, path)`, or `None`.

    `kind` is `"saved_model"` (a folder holding `saved_model.pb`, or the highest version of a
    TF-Serving base folder of numbered versions) or `"onnx"` (an `.onnx` file, or the only one in a
    folder): what `tfadv.export` writes. `tfadv.export.verify` reads exports through it too.
    """
    if os.path.isfile(path):
        return ("onnx", path) if path.lower().endswith(".onnx") else None
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return "saved_model", path
    versions = [
        int(name)
        for name in os.listdir(path)
        if name.isdigit() and os.path.isfile(os.path.join(path, name, "saved_model.pb"))
    ]
    if versions:
        return "saved_model", os.path.join(path, str(max(versions)))
    onnx_files = sorted(name for name in os.listdir(path) if name.lower().endswith(".onnx"))
    if len(onnx_files) == 1:
        return "onnx", os.path.join(path, onnx_files[0])
    return None


def _load_folder(path):
    found = find_export(path)
    if found is None:
        raise ValueError(
            f"{path!r} is not a model tfadv can evaluate: the folder holds no `saved_model.pb`, no "
            f"numbered SavedModel versions and no single `.onnx` file. Received: path={path!r}"
        )
    kind, where = found
    if kind == "onnx":
        return load_model(where)
    return _guard(where, "a SavedModel", lambda: SavedModelClassifier(where))


def _guard(path, kind, load):
    """Runs `load`, turning any failure into one `ValueError` line that names `path`."""
    try:
        return load()
    except Exception as error:  # noqa: BLE001  (parsers raise many types; the path matters)
        raise ValueError(
            f"{path!r} is not {kind} tfadv can read ({type(error).__name__}: "
            f"{_first_line(error)}). Received: path={path!r}"
        ) from None


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
