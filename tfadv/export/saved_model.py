"""Export a classifier as a TF-Serving-style versioned SavedModel."""

import json
import os

import tensorflow as tf

from tfadv.export import _prepare

METADATA_FILE = os.path.join("assets.extra", "tfadv_export.json")


def to_saved_model(model, path, *, version=1, stochastic=False, input_shape=None):
    """Exports a classifier as a versioned SavedModel for TensorFlow Serving.

    Writes `path/<version>/`, the layout TF Serving watches (each new version in a new numbered
    folder). The `serving_default` signature takes `images`, float32 of shape
    `(batch, *input_shape)` with pixels in [0, 1], and returns a dict of float32 tensors `logits`
    and `probabilities` (the softmax of the logits), whatever the model's dtype policy (a
    `mixed_float16` model computes in float16 inside and casts its outputs).

    The export holds only the classifier in inference mode: an `AdvModel` is replaced by its
    `.classifier` (no attack code is exported), dual batch normalisation uses its main branch,
    dropout is off and noise layers (`tfadv.layers.NoisyConv2D`, `NoisyDense`,
    `GaussianNoiseInjection`) are switched off unless `stochastic=True`. The caller's model is left
    as it was. In-model preprocessing layers (normalisation, rescaling) are exported with the model.

    A JSON description of the export (input shape, number of classes, stochastic flag) is written to
    `path/<version>/assets.extra/tfadv_export.json`, where TF Serving ignores it.

    Args:
        model: a `keras.Model` returning logits, or a `tfadv.AdvModel` (its classifier is exported).
        path: str or path-like, the model's base folder; the export goes to `path/<version>`.
        version: int >= 1, the TF Serving model version (the sub-folder name); an existing non-empty
            version folder is never overwritten. Defaults to `1`.
        stochastic: bool, keep noise layers sampling fresh noise at inference (a randomised
            defence); exported outputs are then random. Defaults to `False` (deterministic export).
        input_shape: optional tuple, the per-example image shape such as `(32, 32, 3)`; required
            when the model has no `Input` and was never built, or has unknown spatial dimensions.
            Defaults to `None` (read from the model).

    Returns:
        The version folder `path/<version>` as a string.

    Raises:
        ValueError: the input shape is unknown (pass `input_shape=`), `version` is not a positive
            integer, the version folder already holds files, `path` cannot be created or written
            to, or the model does not return one logits tensor.

    Example:

    ```python
    model = tfadv.models.small_cnn()
    folder = tfadv.export.to_saved_model(model, "serving/mnist", version=1)
    served = tf.saved_model.load(folder).signatures["serving_default"]
    probabilities = served(images=tf.zeros((1, 28, 28, 1)))["probabilities"]
    ```
    """
    version = _prepare.check_version(version)
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a folder path. Received: path={path!r}")
    base = os.fspath(path)
    if os.path.isfile(base):
        raise ValueError(
            "`path` must be a folder: the export is written to `path/<version>/`. "
            f"Received: path={base!r}, an existing file"
        )
    _prepare.check_writable(base)
    folder = os.path.join(base, str(version))
    if os.path.isdir(folder) and os.listdir(folder):
        raise ValueError(
            f"The version folder {folder!r} already exists and is not empty. Pass a new "
            f"`version=` (TF Serving picks up the highest) or delete the folder. Received: "
            f"version={version}"
        )
    with _prepare.prepared(model, stochastic=stochastic, input_shape=input_shape) as prepared:
        module = tf.Module()
        # Track the classifier's variables (weights, batch-norm statistics, seed states) so the
        # signature's captures are saved; the Keras objects themselves are not serialised.
        module.classifier_variables = list(prepared.classifier.variables)
        module.serve = prepared.function
        tf.saved_model.save(
            module,
            folder,
            signatures={"serving_default": prepared.function.get_concrete_function()},
        )
        _write_metadata(folder, prepared)
    return folder


def next_version(path):
    """The next TF Serving version under the base folder `path`: 1 + the highest number, or 1."""
    if not os.path.isdir(path):
        return 1
    return max((int(name) for name in os.listdir(path) if name.isdigit()), default=0) + 1


def _write_metadata(folder, prepared):
    os.makedirs(os.path.join(folder, "assets.extra"), exist_ok=True)
    metadata = {
        "format": "saved_model",
        "signature": "serving_default",
        "input": {
            "name": _prepare.INPUT_NAME,
            "dtype": "float32",
            "shape": [None, *prepared.input_shape],
            "range": [0.0, 1.0],
        },
        "outputs": list(_prepare.OUTPUT_NAMES),
        "num_classes": int(prepared.num_classes),
        "stochastic": prepared.stochastic,
        "classifier": prepared.classifier.name,
    }
    with open(os.path.join(folder, METADATA_FILE), "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2)
