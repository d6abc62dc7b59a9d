"""Parity between an exported file and the Keras model it came from."""

import keras
import numpy as np

from tfadv.export import _prepare
from tfadv.export._loading import load_exported
from tfadv.export.parity_report import ParityReport
from tfadv.layers._utils import iter_layers
from tfadv.utils import validation

DEFAULT_ATOL = 1e-4
# Exported and Keras graphs may round differently in reduced precision (fused kernels, other
# accumulation order): the tolerance for a model computing in float16 / bfloat16 adds this many
# units in the last place of that dtype, at the scale of the largest logit.
REDUCED_PRECISION_ULPS = 8


def verify(path, model, x, y=None, *, attack=None, atol=None, batch_size=256):
    """Checks that an exported file computes the same classifier as its Keras model.

    Loads the export (a SavedModel version folder or base folder with `tf.saved_model.load`, an
    `.onnx` file with ONNX Runtime) and runs it and the Keras model on `x`: the report gives the
    maximum absolute difference of their float32 logits and the fraction of identical predicted
    classes. With labels `y`, it adds both clean accuracies; with labels and an `attack`, it crafts
    adversarial examples on the Keras model (`x_adv = attack(classifier, x, y)`) and checks the
    exported file reaches the same adversarial accuracy on them (robustness parity: the deployed
    file is as robust as the model that was evaluated).

    The Keras side runs exactly what the exporters trace: an `AdvModel`'s classifier, in inference
    mode, with noise layers off. An export written with `stochastic=True` is random by design and
    cannot be verified this way: verify a deterministic export of the same model instead.

    Args:
        path: str or path-like, what `tfadv.export.to_saved_model` or `tfadv.export.to_onnx`
            returned (a SavedModel version folder, a base folder whose highest version is used, an
            `.onnx` file, or a folder holding `model.onnx`).
        model: the `keras.Model` (or `tfadv.AdvModel`) that was exported.
        x: float array of images in [0, 1], shape `(n, *input_shape)` (the model's input shape;
            a missing channel axis is refused).
        y: optional integer class ids of shape `(n,)`, for accuracies. Defaults to `None`.
        attack: optional callable `attack(model, x, y) -> x_adv`, such as
            `tfadv.attacks.PGD(eps=0.1, steps=5)`; requires `y`. Defaults to `None`.
        atol: optional float, the largest acceptable absolute logit difference. Defaults to `None`,
            which means `1e-4`, widened for models computing in float16 / bfloat16 (mixed precision)
            by 8 units in the last place of that dtype at the largest logit's magnitude, since two
            runtimes round reduced-precision kernels differently.
        batch_size: int, the batch size for both forward passes. Defaults to `256`.

    Inputs and options are checked (`tfadv.utils.validation.check_inputs`) before the export is
    read; `verify` writes no file.

    Returns:
        A `tfadv.export.ParityReport`; `passed` is `False` when the logit difference exceeds the
        tolerance or the predicted classes disagree (other than on rounding ties). `print(report)`
        gives a readable summary.

    Example:

    ```python
    model = tfadv.models.small_cnn()
    x_test, y_test = tfadv.data.load_numpy("embedded_mnist", split="test", limit=256)
    path = tfadv.export.to_onnx(model, "deploy/mnist.onnx")
    report = tfadv.export.verify(
        path, model, x_test, y_test, attack=tfadv.attacks.PGD(eps=0.3, steps=5)
    )
    print(report)
    assert report.passed
    ```
    """
    classifier = _prepare.unwrap(model)
    # Every input and option is checked before the export is read.
    x, y = validation.check_inputs(_to_numpy(x), _to_numpy(y), model=classifier)
    if attack is not None:
        if y is None:
            raise ValueError(
                "Robustness parity needs labels: pass `y` together with `attack`. Received: y=None"
            )
        if not callable(attack):
            raise ValueError(
                "`attack` must be a callable `attack(model, x, y) -> x_adv`, such as "
                f"`tfadv.attacks.PGD(eps=0.1, steps=5)`. Received: attack={attack!r}"
            )
    batch_size = validation.check_number("batch_size", batch_size, minimum=1, integer=True)
    if atol is not None:
        atol = validation.check_number("atol", atol, minimum=0.0)

    exported = load_exported(path)
    if exported.stochastic:
        raise ValueError(
            f"{exported.path!r} was exported with `stochastic=True`: its noise layers sample fresh "
            "noise on every call, so its outputs cannot match the Keras model's. Verify a "
            "deterministic export (`stochastic=False`, the default) of the same model; it holds "
            "the same layers."
        )

    with _prepare.deployment_state(classifier, stochastic=False):
        keras_fn = _prepare.logits_fn(classifier)
        keras_clean = _run_batched(lambda b: keras.ops.convert_to_numpy(keras_fn(b)), x, batch_size)
        x_adv = None
        if attack is not None:
            x_adv = keras.ops.convert_to_numpy(attack(classifier, x, y)).astype("float32")
            if x_adv.shape != x.shape:
                raise ValueError(
                    "`attack(model, x, y)` must return adversarial images shaped like `x`. "
                    f"Received: x.shape={x.shape}, x_adv.shape={x_adv.shape}"
                )
            keras_adv = _run_batched(
                lambda b: keras.ops.convert_to_numpy(keras_fn(b)), x_adv, batch_size
            )

    exported_clean = _run_batched(exported, x, batch_size)
    _check_logit_shapes(exported_clean, keras_clean, exported.path)
    keras_all, exported_all = [keras_clean], [exported_clean]
    if x_adv is not None:
        exported_adv = _run_batched(exported, x_adv, batch_size)
        keras_all.append(keras_adv)
        exported_all.append(exported_adv)
    keras_all = np.concatenate(keras_all).astype("float64")
    exported_all = np.concatenate(exported_all).astype("float64")

    max_diff = float(np.max(np.abs(keras_all - exported_all))) if len(keras_all) else 0.0
    tolerance = _tolerance(classifier, atol, keras_all)
    keras_pred = np.argmax(keras_all, axis=-1)
    exported_pred = np.argmax(exported_all, axis=-1)
    disagree = np.flatnonzero(keras_pred != exported_pred)
    rows = keras_all[disagree]
    gaps = np.abs(
        rows[np.arange(len(disagree)), keras_pred[disagree]]
        - rows[np.arange(len(disagree)), exported_pred[disagree]]
    )
    ties = int(np.sum(gaps <= tolerance))
    agreement = 1.0 - len(disagree) / len(keras_all) if len(keras_all) else 1.0
    passed = bool(max_diff <= tolerance and ties == len(disagree))

    accuracies = {}
    if y is not None:
        accuracies["clean_accuracy_keras"] = _accuracy(keras_clean, y)
        accuracies["clean_accuracy_exported"] = _accuracy(exported_clean, y)
    if x_adv is not None:
        accuracies["adv_accuracy_keras"] = _accuracy(keras_adv, y)
        accuracies["adv_accuracy_exported"] = _accuracy(exported_adv, y)
    return ParityReport(
        path=exported.path,
        format=exported.format,
        num_examples=len(x),
        max_abs_logit_diff=max_diff,
        tolerance=tolerance,
        argmax_agreement=float(agreement),
        argmax_ties=ties,
        attack=None if attack is None else _attack_name(attack),
        passed=passed,
        **accuracies,
    )


# ------------------------------------------------------------------------------------------------
# Helpers


def _to_numpy(value):
    """A backend tensor (or anything else) as NumPy, for the input checks; `None` stays `None`."""
    if value is None or isinstance(value, np.ndarray):
        return value
    try:
        return keras.ops.convert_to_numpy(value)
    except Exception:  # not a tensor: `check_inputs` names what it is
        return value


def _run_batched(fn, x, batch_size):
    outputs = [np.asarray(fn(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(outputs).astype("float32")


def _check_logit_shapes(exported, keras_logits, path):
    if exported.shape != keras_logits.shape:
        raise ValueError(
            f"The export at {path!r} returns logits of shape {exported.shape[1:]} per image but "
            f"the Keras model returns {keras_logits.shape[1:]}: was it exported from another "
            "model? "
            f"Received: exported shape={exported.shape}, Keras shape={keras_logits.shape}"
        )


def _reduced_precision_eps(model):
    eps = 0.0
    for layer in iter_layers(model):
        dtype = getattr(layer, "compute_dtype", None)
        if dtype in ("float16", "bfloat16"):
            eps = max(eps, float(np.finfo(np.float16).eps) if dtype == "float16" else 2.0**-7)
    return eps


def _tolerance(model, atol, logits):
    if atol is not None:
        return float(atol)
    eps = _reduced_precision_eps(model)
    scale = max(1.0, float(np.max(np.abs(logits)))) if logits.size else 1.0
    return DEFAULT_ATOL + REDUCED_PRECISION_ULPS * eps * scale


def _accuracy(logits, y):
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def _attack_name(attack):
    name = getattr(attack, "__name__", None) or type(attack).__name__
    return "attack" if name == "<lambda>" else name
