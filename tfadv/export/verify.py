"""Parity between an exported file and the Keras model it came from."""

import json
import os

import keras
import numpy as np

from tfadv.export import _prepare
from tfadv.utils import validation

DEFAULT_ATOL = 1e-4
# Exported and Keras graphs may round differently in reduced precision (fused kernels, other
# accumulation order): the tolerance for a model computing in float16 / bfloat16 adds this many
# units in the last place of that dtype, at the scale of the largest logit.
REDUCED_PRECISION_ULPS = 8


class ParityReport:
    """The outcome of `tfadv.export.verify`: how closely an exported file matches its Keras model.

    Attributes:
        path: str, the exported file or folder that was loaded.
        format: `"saved_model"` or `"onnx"`.
        num_examples: int, the number of clean inputs compared.
        max_abs_logit_diff: float, the largest absolute difference between exported and Keras
            float32 logits, over the clean and (when an attack is given) adversarial inputs.
        tolerance: float, the bound `max_abs_logit_diff` is held to.
        argmax_agreement: float in [0, 1], the fraction of inputs on which both predict the same
        class.
        argmax_ties: int, disagreements on inputs whose two competing Keras logits are within
            `tolerance` of each other (a rounding tie, not a conversion error).
        clean_accuracy_keras, clean_accuracy_exported: floats, accuracies on `x` (`None` without
        labels).
        adv_accuracy_keras, adv_accuracy_exported: floats, accuracies on the adversarial examples
            crafted on the Keras model (`None` without an attack).
        attack: str or None, the attack that crafted them.
        passed: bool, `max_abs_logit_diff <= tolerance` and every argmax disagreement is a tie.

    Example:

    ```python
    report = tfadv.export.verify("serving/mnist/1", model, x_test, y_test)
    report.passed, report.max_abs_logit_diff  # (True, 0.0)
    print(report)  # the readable summary
    ```
    """

    def __init__(
        self,
        *,
        path,
        format,
        num_examples,
        max_abs_logit_diff,
        tolerance,
        argmax_agreement,
        argmax_ties=0,
        clean_accuracy_keras=None,
        clean_accuracy_exported=None,
        adv_accuracy_keras=None,
        adv_accuracy_exported=None,
        attack=None,
        passed,
    ):
        self.path = path
        self.format = format
        self.num_examples = num_examples
        self.max_abs_logit_diff = max_abs_logit_diff
        self.tolerance = tolerance
        self.argmax_agreement = argmax_agreement
        self.argmax_ties = argmax_ties
        self.clean_accuracy_keras = clean_accuracy_keras
        self.clean_accuracy_exported = clean_accuracy_exported
        self.adv_accuracy_keras = adv_accuracy_keras
        self.adv_accuracy_exported = adv_accuracy_exported
        self.attack = attack
        self.passed = passed

    def to_dict(self):
        """The report as a JSON-serialisable dict."""
        return {
            "path": self.path,
            "format": self.format,
            "num_examples": self.num_examples,
            "max_abs_logit_diff": self.max_abs_logit_diff,
            "tolerance": self.tolerance,
            "argmax_agreement": self.argmax_agreement,
            "argmax_ties": self.argmax_ties,
            "clean_accuracy_keras": self.clean_accuracy_keras,
            "clean_accuracy_exported": self.clean_accuracy_exported,
            "adv_accuracy_keras": self.adv_accuracy_keras,
            "adv_accuracy_exported": self.adv_accuracy_exported,
            "attack": self.attack,
            "passed": self.passed,
        }

    def __repr__(self):
        return (
            f"ParityReport(format={self.format!r}, passed={self.passed}, "
            f"max_abs_logit_diff={self.max_abs_logit_diff:.3g}, "
            f"argmax_agreement={self.argmax_agreement:.4f})"
        )

    def _argmax_ok(self):
        compared = self.num_examples * (1 if self.attack is None else 2)
        return round((1.0 - self.argmax_agreement) * compared) <= self.argmax_ties

    def __str__(self):
        def mark(ok):
            return "ok" if ok else "FAILED"

        def pct(value):
            return "n/a" if value is None else f"{100.0 * value:.2f}%"

        inputs = f"{self.num_examples} clean"
        if self.attack is not None:
            inputs += f" + {self.num_examples} adversarial ({self.attack})"
        agreement = f"{100.0 * self.argmax_agreement:.2f}%"
        if self.argmax_ties:
            agreement += f" ({self.argmax_ties} rounding ties)"
        lines = [
            f"Export parity: {self.path} ({self.format}) vs Keras model",
            f"  inputs:               {inputs}",
            f"  max |logit diff|:     {self.max_abs_logit_diff:.3g} "
            f"(tolerance {self.tolerance:.3g})  "
            f"{mark(self.max_abs_logit_diff <= self.tolerance)}",
            f"  argmax agreement:     {agreement}  {mark(self._argmax_ok())}",
        ]
        if self.clean_accuracy_keras is not None:
            lines.append(
                f"  clean accuracy:       Keras {pct(self.clean_accuracy_keras)}, "
                f"exported {pct(self.clean_accuracy_exported)}"
            )
        if self.adv_accuracy_keras is not None:
            lines.append(
                f"  adversarial accuracy: Keras {pct(self.adv_accuracy_keras)}, "
                f"exported {pct(self.adv_accuracy_exported)}"
            )
        lines.append(f"  result:               {'PASSED' if self.passed else 'FAILED'}")
        return "\n".join(lines)


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
        x: float array of images in [0, 1], shape `(n, *input_shape)`.
        y: optional integer labels of shape `(n,)`, for accuracies. Defaults to `None`.
        attack: optional callable `attack(model, x, y) -> x_adv`, such as
            `tfadv.attacks.PGD(eps=0.1, steps=5)`; requires `y`. Defaults to `None`.
        atol: optional float, the largest acceptable absolute logit difference. Defaults to `None`,
            which means `1e-4`, widened for models computing in float16 / bfloat16 (mixed precision)
            by 8 units in the last place of that dtype at the largest logit's magnitude, since two
            runtimes round reduced-precision kernels differently.
        batch_size: int, the batch size for both forward passes. Defaults to `256`.

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
    x = _check_x(x)
    if y is not None:
        y = _check_y(y, len(x))
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
# Loading an export


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
    output_name = _pick_output(list(signature.structured_outputs), folder)

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
    output_name = _pick_output([o.name for o in session.get_outputs()], path)

    def fn(images):
        return session.run([output_name], {input_name: np.ascontiguousarray(images)})[0]

    metadata = session.get_modelmeta().custom_metadata_map
    stochastic = metadata.get("tfadv.stochastic", "false") == "true"
    return _Exported(path, "onnx", fn, stochastic)


def _pick_output(names, where):
    if "logits" in names:
        return "logits"
    if len(names) == 1:
        return names[0]
    raise ValueError(
        f"The export at {where!r} has no `logits` output. Received outputs: {sorted(names)}"
    )


# ------------------------------------------------------------------------------------------------
# Helpers


def _check_x(x):
    if isinstance(x, (list, tuple)) or not hasattr(x, "shape"):
        raise ValueError(
            "`x` must be an array of images in [0, 1], shape (n, height, width, channels). "
            f"Received: x of type {type(x).__name__}"
        )
    x = np.asarray(keras.ops.convert_to_numpy(x))
    validation.check_images(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(
            "`x` must hold at least one image, shape (n, *input_shape). "
            f"Received: x.shape={x.shape}"
        )
    return x.astype("float32")


def _check_y(y, n):
    y = np.asarray(keras.ops.convert_to_numpy(y))
    if y.ndim == 2 and y.shape[-1] == 1:
        y = y[:, 0]
    validation.check_labels(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(
            f"`y` must hold one integer label per image, shape ({n},). Received: y.shape={y.shape}"
        )
    return y.astype("int64")


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
    for layer in model._flatten_layers(include_self=True):
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
