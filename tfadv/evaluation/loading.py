"""`load_model`: a classifier to evaluate from a `.keras` file, a SavedModel folder or an `.onnx` file."""

import os
import zipfile

import keras

# Imported for their side effect: each registers its Keras classes, which a `.keras` file may hold.
from tfadv import adv_model, attacks, layers, methods, models, schedules  # noqa: F401
from tfadv.evaluation.onnx_classifier import OnnxClassifier
from tfadv.evaluation.saved_model_classifier import SavedModelClassifier, check_backend

#: File endings `load_model` reads as Keras models.
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def load_model(path):
    """Loads a classifier to evaluate: a `.keras` file, a SavedModel folder or an `.onnx` file.

    - `.keras` (or `.h5`): `load_keras_model`, with tfadv's classes registered.
    - a SavedModel folder, or a TF-Serving base folder of numbered versions (what
      `tfadv.export.to_saved_model` writes; the highest version is used): a
      `SavedModelClassifier` over its `serving_default` signature, differentiable.
    - `.onnx` (what `tfadv.export.to_onnx` writes), or a folder holding one: an `OnnxClassifier`
      run by ONNX Runtime, gradient-free.

    SavedModels and ONNX files load on Keras' TensorFlow backend only (`ValueError` elsewhere);
    `.keras` files load on every backend.

    Args:
        path: str or path-like.

    Returns:
        A callable `model(x) -> logits` (a `keras.Model` for Keras files).

    Raises:
        FileNotFoundError: nothing exists at `path`.
        ValueError: `path` is not a model in one of these formats, is a truncated `.keras` file, or
            holds a custom layer that is not registered (the message names the path).

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
        check_backend("An ONNX model (OnnxClassifier)")
        return _guard(path, "an ONNX model", lambda: OnnxClassifier(path))
    if lower.endswith(KERAS_SUFFIXES) or zipfile.is_zipfile(path):
        return load_keras_model(path)
    raise ValueError(
        f"{path!r} is not a model tfadv can evaluate: expected a `.keras` file, a SavedModel "
        f"folder or an `.onnx` file. Received: path={path!r}"
    )


def load_keras_model(path):
    """Loads a `.keras` (or `.h5`) file as `keras.saving.load_model` does, with one clear error.

    tfadv's layers, attacks, methods and schedules are registered first; the model is loaded
    without its training configuration (`compile=False`) and in Keras' safe mode. A custom layer
    of your own must be registered before loading: decorate its class with
    `@keras.saving.register_keras_serializable()` and import its module first (on the command
    line, `--custom-objects MODULE`).

    Args:
        path: str or path-like, a `.keras` file (a zip archive) or a legacy `.h5` file.

    Returns:
        The `keras.Model` (a `tfadv.AdvModel` for a saved `AdvModel`).

    Raises:
        FileNotFoundError: nothing exists at `path`.
        ValueError: the file is not a complete `.keras` file (truncated, or another kind of
            file), or Keras cannot rebuild the model from it (the whole error, and how to register
            a custom layer when one is missing).

    Example:

    ```python
    model.save("robust.keras")
    restored = tfadv.evaluation.loading.load_keras_model("robust.keras")
    ```
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at {path!r}. Received: path={path!r}")
    if path.lower().endswith(".keras") and not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path!r} is not a complete .keras file: a .keras file is a zip archive, and this one "
            "is truncated (an interrupted copy or download?) or another kind of file. Save the "
            f"model again. Received: path={path!r}"
        )
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except zipfile.BadZipFile as error:
        raise ValueError(
            f"{path!r} is not a complete .keras file ({error}). Save the model again. "
            f"Received: path={path!r}"
        ) from None
    except Exception as error:  # noqa: BLE001  (Keras raises many types for a bad file)
        text = " ".join(str(error).split()) or type(error).__name__
        hint = ""
        if "Could not locate" in text or "register_keras_serializable" in text:
            hint = (
                " A custom layer (or other object) must be registered before loading: decorate "
                "its class with `@keras.saving.register_keras_serializable()` in a module and "
                "import that module first (command line: `--custom-objects MODULE`)."
            )
        raise ValueError(
            f"Keras cannot load {path!r}: {type(error).__name__}: {text}{hint} "
            f"Received: path={path!r}"
        ) from None


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
    check_backend("A SavedModel (SavedModelClassifier)")
    return _guard(where, "a SavedModel", lambda: SavedModelClassifier(where))


def _guard(path, kind, load):
    """Runs `load`, turning any failure into one `ValueError` line that names `path`."""
    try:
        return load()
    except Exception as error:  # noqa: BLE001  (parsers raise many types; the path matters)
        text = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(
            f"{path!r} is not {kind} tfadv can read ({type(error).__name__}: {text}). "
            f"Received: path={path!r}"
        ) from None
