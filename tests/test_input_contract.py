"""The input contract at every public entry point that takes data: a bad-input matrix.

Every entry point (each registered attack's `__call__` and `run`, each registered method's `fit` and
`evaluate`, `tfadv.evaluation.evaluate` and `sweep`, `RobustEvaluation`, `SmoothedClassifier`,
`tfadv.export.verify`) meets every bad input and must raise the `ValueError` / `TypeError` of
`tfadv.utils.validation.check_inputs`, naming the argument and quoting what it received, before
any forward pass: the classifier holds a tripwire layer that counts its calls. Attacks and methods
come from `tfadv.attacks.ATTACKS` and `tfadv.methods.METHODS`, so a new one joins with no edit.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
import tfadv.layers

SHAPE = (4, 4, 1)
CLASSES = 3
N = 4
BUDGET = tfadv.AttackBudget(eps=0.1, steps=1)


class Tripwire(keras.layers.Layer):
    """An identity layer counting its calls (eager, symbolic or traced): the heavy work."""

    calls = 0

    def call(self, inputs):
        Tripwire.calls += 1
        return inputs


def classifier(dual_bn=False):
    layers = [keras.Input(SHAPE), Tripwire(), keras.layers.Flatten()]
    if dual_bn:
        layers.append(tfadv.layers.DualBatchNormalization())
    return keras.Sequential([*layers, keras.layers.Dense(CLASSES)])


def good_data():
    x = np.random.default_rng(0).uniform(0.0, 1.0, (N, *SHAPE)).astype("float32")
    return x, np.array([0, 1, 2, 0])


# ------------------------------------------------------------------------------------ bad inputs
# name: (make(x, y) -> (bad x, bad y), error, argument ("x" or "y"), pattern of what is quoted)
def _nan(x):
    x = x.copy()
    x[0, 0, 0, 0] = np.nan
    return x


BAD = {
    "one_hot_labels": (
        lambda x, y: (x, np.eye(CLASSES, dtype="float32")[y]),
        ValueError,
        "y",
        r"not one-hot.*np\.argmax\(.*axis=-1\).*Received: .*shape \((4|None), 3\)",
    ),
    "fractional_labels": (
        lambda x, y: (x, y + 0.5),
        ValueError,
        "y",
        r"integer class ids.*Received: .*non-integer values such as \[0\.5",
    ),
    "out_of_range_labels": (
        lambda x, y: (x, np.array([0, 1, 2, 3])),
        ValueError,
        "y",
        r"outside the model's classes \[0, 3\).*Received: .*max=3",
    ),
    "uint8_scale_images": (
        lambda x, y: (x * 255.0, y),
        ValueError,
        "x",
        r"\[0, 1\].*Received: .*max=2\d\d",
    ),
    "nan_images": (lambda x, y: (_nan(x), y), ValueError, "x", r"NaN.*Received: .*1 NaN"),
    "missing_channel_axis": (
        lambda x, y: (x[..., 0], y),
        ValueError,
        "x",
        r"no channel axis.*\(N, 4, 4, 1\).*Received: .*shape \((4|None), 4, 4\)",
    ),
    "mismatched_lengths": (
        lambda x, y: (x, y[:3]),
        ValueError,
        "x",
        r"same number of examples.*Received: .*shape \(4, 4, 4, 1\).*shape \(3,\)",
    ),
    "empty_arrays": (lambda x, y: (x[:0], y[:0]), ValueError, "x", r"empty.*\(0, 4, 4, 1\)"),
    "string_images": (
        lambda x, y: (x.astype(str), y),
        TypeError,
        "x",
        r"real-valued images.*Received: .*dtype (<U|string)",
    ),
    "complex_images": (
        lambda x, y: (x.astype(np.complex64), y),
        TypeError,
        "x",
        r"real-valued images.*Received: .*dtype complex",
    ),
    "string_labels": (
        lambda x, y: (x, y.astype(str)),
        TypeError,
        "y",
        r"integer class ids.*Received: .*dtype (<U|string)",
    ),
}
LABEL_CASES = {"one_hot_labels", "fractional_labels", "out_of_range_labels", "string_labels"}
IMAGE_CASES = sorted(set(BAD) - LABEL_CASES - {"mismatched_lengths"})
# What a `tf.data.Dataset`'s element_spec shows (dtype and shape): checked before the first step.
# Its values are asserted in-graph (tests/methods/test_adv_model_errors.py); TensorFlow itself
# refuses slices of mismatched lengths.
SPEC_CASES = ["one_hot_labels", "missing_channel_axis", "complex_images", "string_labels"]


# ---------------------------------------------------------------------------------- entry points
# Each entry point: (cases it takes, argument names, make() -> call(x, y)).
def _attack(name, method):
    def make():
        attack = tfadv.attacks.get(name).default_instance(0.1)
        model = classifier()
        return lambda x, y: getattr(attack, method)(model, x, y)

    return make


def _method(name, call, dataset=False):
    def make():
        cls = tfadv.methods.get(name)
        model = cls.from_knobs(
            classifier(dual_bn=bool(cls.builder_options.get("dual_bn"))), budget=BUDGET
        )
        model.compile(optimizer="sgd")

        def run(x, y):
            if dataset:
                return getattr(model, call)(
                    tf.data.Dataset.from_tensor_slices((x, y)).batch(2), verbose=0
                )
            return getattr(model, call)(x, y, verbose=0)

        return run

    return make


def _fit_validation_data():
    model = tfadv.methods.PGDAT(classifier(), attack=BUDGET.pgd())
    model.compile(optimizer="sgd")
    x, y = good_data()
    return lambda bad_x, bad_y: model.fit(x, y, validation_data=(bad_x, bad_y), verbose=0)


def _evaluate(dataset=False):
    model = classifier()

    def run(x, y):
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(2) if dataset else (x, y)
        return tfadv.evaluation.evaluate(model, data, eps=0.1, checks=False)

    return run


def _sweep():
    model = classifier()
    return lambda x, y: tfadv.evaluation.sweep(model, (x, y), [0.1])


def _robust_evaluation():
    model = tfadv.methods.PGDAT(classifier())

    def run(x, y):
        callback = tfadv.evaluation.RobustEvaluation((x, y), eps=0.1)
        callback.set_model(model)
        callback.on_train_begin()

    return run


def _smoothed(method):
    smoothed = tfadv.certification.SmoothedClassifier(classifier(), sigma=0.25, seed=0)
    if method == "evaluate":
        return lambda x, y: smoothed.evaluate(x, y, n0=2, n=4)
    return lambda x, y: getattr(smoothed, method)(x, n=4)


def _verify(tmp):
    # No export exists at this path: the inputs must be refused before the export is read.
    model = classifier()
    return lambda x, y: tfadv.export.verify(tmp / "never_exported.onnx", model, x, y)


ALL = sorted(BAD)
XY = ("x", "y")
ENTRY_POINTS = {}
for _name in tfadv.attacks.ATTACKS.names():
    for _call in ("__call__", "run"):
        ENTRY_POINTS[f"attack-{_name}.{_call}"] = (ALL, XY, _attack(_name, _call))
for _name in tfadv.methods.METHODS.names():
    for _call in ("fit", "evaluate"):
        ENTRY_POINTS[f"method-{_name}.{_call}"] = (ALL, XY, _method(_name, _call))
    ENTRY_POINTS[f"method-{_name}.fit-tf.data"] = (SPEC_CASES, XY, _method(_name, "fit", True))
ENTRY_POINTS["AdvModel.fit-validation_data"] = (
    ALL,
    ("validation_data[0]", "validation_data[1]"),
    _fit_validation_data,
)
ENTRY_POINTS["evaluation.evaluate"] = (ALL, XY, _evaluate)
# A dataset is read and checked by value; TensorFlow refuses mismatched slices and an empty one
# is named as `data` (test below).
ENTRY_POINTS["evaluation.evaluate-tf.data"] = (
    sorted(set(ALL) - {"mismatched_lengths", "empty_arrays"}),
    XY,
    lambda: _evaluate(dataset=True),
)
ENTRY_POINTS["evaluation.sweep"] = (ALL, XY, _sweep)
ENTRY_POINTS["evaluation.RobustEvaluation"] = (
    ALL,
    ("validation_data[0]", "validation_data[1]"),
    _robust_evaluation,
)
ENTRY_POINTS["SmoothedClassifier.certify"] = (IMAGE_CASES, XY, lambda: _smoothed("certify"))
ENTRY_POINTS["SmoothedClassifier.predict"] = (IMAGE_CASES, XY, lambda: _smoothed("predict"))
ENTRY_POINTS["SmoothedClassifier.evaluate"] = (ALL, XY, lambda: _smoothed("evaluate"))
ENTRY_POINTS["export.verify"] = (ALL, XY, "verify")

MATRIX = [
    pytest.param(entry, case, id=f"{entry}-{case}")
    for entry, (cases, _, _) in ENTRY_POINTS.items()
    for case in cases
]


@pytest.fixture(scope="module")
def built():
    """One instance per entry point for the whole matrix (each case fails before using it)."""
    return {}


@pytest.mark.parametrize("entry, case", MATRIX)
def test_bad_input_is_refused_before_any_work(entry, case, built, tmp_path_factory):
    cases, names, make = ENTRY_POINTS[entry]
    if entry not in built:
        built[entry] = _verify(tmp_path_factory.mktemp("verify")) if make == "verify" else make()
    call = built[entry]
    bad, error, argument, pattern = BAD[case]
    bad_x, bad_y = bad(*good_data())
    name = names[XY.index(argument)]
    Tripwire.calls = 0
    with pytest.raises(error) as raised:
        call(bad_x, bad_y)
    message = str(raised.value)
    assert f"`{name}`" in message and "Received: " in message, message
    assert "\n" not in message, message  # one clear line
    assert raised.match(pattern)
    if case == "mismatched_lengths":
        assert f"`{names[1]}`" in message, message
    assert Tripwire.calls == 0, f"the classifier ran {Tripwire.calls} times before the refusal"


def test_one_hot_labels_in_evaluate_give_the_one_line_of_issue_38():
    x = np.random.default_rng(0).uniform(0.0, 1.0, (64, *SHAPE)).astype("float32")
    y = np.eye(CLASSES, dtype="float32")[np.arange(64) % CLASSES]
    with pytest.raises(ValueError) as raised:
        tfadv.evaluation.evaluate(classifier(), (x, y), eps=0.1)
    assert str(raised.value) == (
        "`y` must hold integer class ids of shape (N,), not one-hot or probability vectors; "
        "use np.argmax(y, axis=-1). Received: y with shape (64, 3) and dtype float32"
    )


def test_the_contract_accepts_what_it_documents():
    # Integral float labels, (N, 1) labels and integer images in [0, 1] are accepted and cast.
    x, y = good_data()
    model = classifier()
    checked_x, checked_y = tfadv.utils.validation.check_inputs(
        x.astype("float64"), y.astype("float32")[:, None], model=model
    )
    assert checked_x.dtype == np.float32 and checked_y.dtype == np.int32
    np.testing.assert_array_equal(checked_y, y)
    x_adv = tfadv.attacks.FGSM(eps=0.1)(model, np.ones((N, *SHAPE), "uint8"), y.astype(float))
    assert x_adv.shape == (N, *SHAPE)


def test_an_empty_dataset_is_named_as_data():
    x, y = good_data()
    empty = tf.data.Dataset.from_tensor_slices((x[:0], y[:0])).batch(2)
    with pytest.raises(ValueError, match=r"`data` is an empty dataset. Received: data with 0"):
        tfadv.evaluation.evaluate(classifier(), empty, eps=0.1, checks=False)


def test_an_unbatched_dataset_is_refused_by_fit_and_read_by_evaluate():
    x, y = good_data()
    model = tfadv.methods.PGDAT(classifier(), attack=BUDGET.pgd())
    model.compile(optimizer="sgd")
    unbatched = tf.data.Dataset.from_tensor_slices((x, y))
    with pytest.raises(ValueError, match=r"single examples, not batches.*\.batch\(batch_size\)"):
        model.fit(unbatched, verbose=0)
    report = tfadv.evaluation.evaluate(model, unbatched, eps=0.0, checks=False)
    assert report.n_examples == N


@pytest.mark.parametrize("argument", ["n", "n0"])
def test_smoothed_classifier_names_its_public_arguments(argument):
    smoothed = tfadv.certification.SmoothedClassifier(classifier(), sigma=0.25, seed=0)
    x, _ = good_data()
    with pytest.raises(ValueError, match=rf"`{argument}` must be >= 1. Received: {argument}=0"):
        smoothed.certify(x, **{argument: 0})
    if argument == "n":
        with pytest.raises(ValueError, match=r"`n` must be >= 1. Received: n=0"):
            smoothed.predict(x, n=0)


@pytest.mark.parametrize(
    "input_shape, x_shape, pattern",
    [
        (
            (28, 28, 1),
            (2, 28, 28),
            r"no channel axis.*\(N, 28, 28, 1\). Add it with `x\[\.\.\., None\]`",
        ),
        (
            (1, 28, 28),
            (2, 28, 28),
            r"no channel axis.*\(N, 1, 28, 28\). Add it with `x\[:, None\]`",
        ),
        ((32, 32, 3), (2, 32, 32), r"no channel axis.*\(N, 32, 32, 3\). tfadv never reshapes"),
        ((28, 28, 1), (2, 28, 1), r"the model's input shape \(N, 28, 28, 1\).*shape \(2, 28, 1\)"),
        ((28, 28, 1), (2, 32, 32, 1), r"the model's input shape \(N, 28, 28, 1\)"),
    ],
)
def test_images_must_have_the_models_input_shape(input_shape, x_shape, pattern):
    model = keras.Sequential(
        [keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    with pytest.raises(ValueError, match=pattern):
        tfadv.utils.validation.check_inputs(np.zeros(x_shape, "float32"), model=model)
