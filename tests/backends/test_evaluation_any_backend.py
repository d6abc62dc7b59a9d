"""Evaluation and certification under whichever Keras backend this process runs (TensorFlow by
default).

Written with NumPy and `keras` only, so the same file runs on every backend (the backend tiers of
`tests/backends/test_backend_tiers.py` run the backend-agnostic files again under JAX and
PyTorch, each in a process of its own). A named protocol whose attacks are not written for the
current backend yet is skipped: constructing them raises the backend's `ValueError`.
"""

import keras
import numpy as np
import pytest

import tfadv
from tfadv.attacks import FGSM, PGD
from tfadv.certification import ABSTAIN, SmoothedClassifier
from tfadv.evaluation import get_protocol

BACKEND = keras.backend.backend()
EPS = 0.1
REPORT_FIELDS = {
    "protocol", "protocol_version", "variant", "eps", "norm", "attacks", "accuracy_kind",
    "robust_accuracy", "clean_accuracy", "n_examples", "flags", "randomized", "eot_iter",
}  # fmt: skip


def _conv_model(seed=1):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )


def _data(model, n=24, seed=0):
    """Images the model gets right, but for every fourth one (clean accuracy 75%)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, 8, 8, 1)).astype("float32")
    y = np.argmax(keras.ops.convert_to_numpy(model(x)), axis=-1).astype("int32")
    y[::4] = (y[::4] + 1) % 10
    return x, y


def _grey_linear(noise=None):
    """Two classes by the mean brightness, margin 0.742 on the grey images of `_grey`; with
    `noise`, unit-scale noise on the logits drawn by a layer seeded with 7."""
    side, slope = 4, 0.742 / 0.25
    dense = keras.layers.Dense(2)
    layers = [keras.Input((side, side, 1)), keras.layers.Flatten(), dense]
    if noise is not None:
        layers.append(noise)
    model = keras.Sequential(layers)
    kernel = np.zeros((side * side, 2), np.float32)
    kernel[:, 1] = slope / (side * side)
    dense.set_weights([kernel, np.array([0.0, -slope / 2], np.float32)])
    return model


def _grey(n):
    y = (np.arange(n) % 2).astype("int32")
    x = np.where(y[:, None, None, None] == 1, 0.75, 0.25) * np.ones((n, 4, 4, 1))
    return x.astype("float32"), y


def _check_report(report, n):
    assert REPORT_FIELDS <= set(report.to_dict())
    assert report.n_examples == n
    assert 0.0 <= report.robust_accuracy <= report.clean_accuracy <= 1.0
    for row in report.attacks:
        assert report.robust_accuracy <= row["accuracy"] <= report.clean_accuracy
        assert row["seconds"] >= 0.0 and row["examples_attacked"] <= n
    per_example = report.per_example
    assert len(per_example["label"]) == len(per_example["clean_correct"]) == n
    clean = np.array(per_example["clean_correct"])
    broken = np.array([b is not None for b in per_example["broken_by"]])
    np.testing.assert_array_equal(np.asarray(report.robust_mask), clean & ~broken)
    assert report.clean_accuracy == pytest.approx(clean.mean())
    assert report.robust_accuracy == pytest.approx(np.mean(clean & ~broken))
    labels = {row["name"] for row in report.attacks}
    assert {b for b in per_example["broken_by"] if b is not None} <= labels
    for b, norm in zip(per_example["broken_by"], per_example["perturbation_norm"], strict=True):
        assert (b is None) == (norm is None)
        if norm is not None:
            assert norm <= report.eps * (1 + 1e-5) + 1e-6
    restored = tfadv.evaluation.RobustnessReport.from_dict(report.to_dict())
    assert restored.robust_accuracy == report.robust_accuracy


def test_evaluate_runs_a_list_of_attacks():
    model = _conv_model()
    x, y = _data(model)
    attacks = [FGSM(eps=EPS), PGD(eps=EPS, steps=5, seed=0)]
    report = tfadv.evaluation.evaluate(model, (x, y), eps=EPS, protocol=attacks, checks=False,
                                       batch_size=10)  # fmt: skip
    _check_report(report, len(x))
    assert report.protocol == "custom" and report.accuracy_kind == "individual"
    assert [row["name"] for row in report.attacks] == ["FGSM", "PGD"]
    assert report.clean_accuracy == pytest.approx(0.75)
    assert report.robust_accuracy < report.clean_accuracy  # a 10-class net at eps 0.1 breaks
    assert report.randomized is False


@pytest.mark.parametrize("name", ["quick", "standard"])
def test_named_protocol_runs_when_its_attacks_do(name):
    try:
        get_protocol(name).attacks(0.3, "linf", seed=0)
    except ValueError as error:
        if f"Received: backend='{BACKEND}'" not in str(error):
            raise
        pytest.skip(f"protocol {name!r} needs an attack not written for {BACKEND} yet: {error}")
    model = _grey_linear()
    x, y = _grey(8)
    report = tfadv.evaluation.evaluate(model, (x, y), eps=0.3, protocol=name, checks=False,
                                       batch_size=8)  # fmt: skip
    _check_report(report, len(x))
    assert report.protocol == name and report.protocol_version
    assert report.clean_accuracy == 1.0 and report.robust_accuracy == 0.0  # 0.3 crosses 0.5


def test_sanity_checks_run():
    model = _conv_model()
    x, y = _data(model, n=12)
    report = tfadv.evaluation.evaluate(model, (x, y), eps=EPS, protocol=[PGD(eps=EPS, steps=5,
                                       seed=0)], batch_size=12, check_examples=12)  # fmt: skip
    _check_report(report, len(x))
    flags = {flag.name: flag for flag in report.flags}
    assert set(flags) == set(tfadv.evaluation.SANITY_CHECKS)
    assert flags["zero_gradients"].raised is False
    assert flags["probabilities_not_logits"].raised is False
    assert flags["randomized_model"].raised is False
    assert flags["transfer_beats_protocol"].raised is None  # no surrogate
    for name in ("above_chance_at_large_eps", "more_effort_raises_accuracy",
                 "black_box_beats_white_box", "scaled_logits_beat_protocol"):  # fmt: skip
        assert flags[name].raised is not None, flags[name]


def test_per_example_verdicts_are_deterministic_for_a_seed():
    model = _conv_model()
    x, y = _data(model)
    kwargs = dict(eps=EPS, protocol=[PGD(eps=EPS, steps=3, seed=4)], checks=False, seed=4)
    first = tfadv.evaluation.evaluate(model, (x, y), **kwargs)
    second = tfadv.evaluation.evaluate(model, (x, y), **kwargs)
    assert first.per_example == second.per_example


def test_probabilities_are_attacked_through_their_logarithm():
    model = _conv_model()
    x, y = _data(model)
    softmax = keras.Sequential([model, keras.layers.Softmax()])
    report = tfadv.evaluation.evaluate(softmax, (x, y), eps=EPS, protocol=[FGSM(eps=EPS)],
                                       checks=False)  # fmt: skip
    flags = {flag.name: flag.raised for flag in report.flags}
    assert flags["probabilities_not_logits"] is True
    _check_report(report, len(x))
    assert report.robust_accuracy < report.clean_accuracy  # the gradient is not saturated


def test_randomised_model_is_keyed_by_the_seed():
    model = _grey_linear(tfadv.layers.GaussianNoiseInjection(1.0, seed=7))
    x, y = _grey(40)
    assert tfadv.evaluation.detect_randomized(model, x)
    kwargs = dict(eps=0.01, protocol=[PGD(eps=0.01, steps=2, seed=0)], checks=False, seed=3)
    first = tfadv.evaluation.evaluate(model, (x, y), **kwargs)
    second = tfadv.evaluation.evaluate(model, (x, y), **kwargs)
    assert first.randomized and second.randomized
    assert first.per_example == second.per_example
    _check_report(first, len(x))
    assert 0.3 < first.clean_accuracy < 1.0  # one draw decides: right with probability 0.70


class _UnkeyedNoise(keras.layers.Layer):
    """Noise from Keras' global seed generator: no state of the model's can key it."""

    def call(self, inputs, training=None):
        return inputs + keras.random.normal(keras.ops.shape(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape


@pytest.mark.skipif(BACKEND == "tensorflow", reason="TensorFlow runs such a model unkeyed")
def test_unkeyable_randomised_model_is_refused_naming_the_backend():
    model = _grey_linear(_UnkeyedNoise())
    x, y = _grey(8)
    with pytest.raises(ValueError, match=f"Received: backend='{BACKEND}'"):
        tfadv.evaluation.evaluate(model, (x, y), eps=0.01, protocol=[FGSM(eps=0.01)], checks=False)


@pytest.mark.skipif(BACKEND == "tensorflow", reason="tf.distribute strategies run on TensorFlow")
def test_tf_distribute_strategies_are_refused_off_tensorflow():
    # On JAX "mirrored" is Keras' DataParallel (tests/backends/test_distribution_jax.py).
    model = _conv_model()
    x, y = _data(model, n=4)
    refused = "multi_worker" if BACKEND == "jax" else "mirrored"
    with pytest.raises(ValueError, match=f"Received: strategy={refused!r}"):
        tfadv.evaluation.evaluate(model, (x, y), eps=EPS, protocol=[FGSM(eps=EPS)],
                                  checks=False, strategy=refused)  # fmt: skip


@pytest.mark.skipif(BACKEND == "tensorflow", reason="SavedModels load on TensorFlow")
def test_exports_are_refused_off_tensorflow(tmp_path):
    with pytest.raises(ValueError, match=f"Received: backend='{BACKEND}'"):
        tfadv.evaluation.SavedModelClassifier(str(tmp_path))
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(b"")
    with pytest.raises(ValueError, match=f"Received: backend='{BACKEND}'"):
        tfadv.evaluation.load_model(str(onnx_file))


def test_sweep_and_robust_evaluation_callback():
    model = _conv_model()
    x, y = _data(model, n=16)
    result = tfadv.evaluation.sweep(model, (x, y), [0.0, EPS], attacks=[FGSM(eps=EPS)])
    assert result.accuracy[0] == pytest.approx(result.clean_accuracy)
    assert result.accuracy[1] <= result.accuracy[0]
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    callback = tfadv.evaluation.RobustEvaluation((x, y), eps=EPS, protocol=[FGSM(eps=EPS)])
    history = model.fit(x, y, epochs=1, batch_size=8, callbacks=[callback], verbose=0)
    (robust,) = history.history["val_robust_accuracy"]
    assert 0.0 <= robust <= history.history["val_clean_accuracy"][0] <= 1.0


# ------------------------------------------------------------------------------- certification
def _smoothed(seed=0):
    # A wide margin (0.742 per 0.25 of brightness, 16 pixels): sigma 0.25 rarely flips a vote.
    return SmoothedClassifier(_grey_linear(), 0.25, batch_size=64, seed=seed)


def test_randomized_smoothing_certifies():
    x, y = _grey(6)
    smoothed = _smoothed()
    counts = smoothed.sample_counts(x, 100)
    assert counts.shape == (6, 2) and np.all(counts.sum(axis=1) == 100)
    clean = np.mean(np.argmax(counts, axis=1) == y)  # the smoothed classifier's clean accuracy
    report = smoothed.evaluate(x, y, n0=20, n=200, alpha=0.01)
    predictions, radii = report.predictions, report.radii
    assert np.all(radii >= 0.0) and np.all(radii[predictions == ABSTAIN] == 0.0)
    assert set(predictions.tolist()) <= {ABSTAIN, 0, 1}
    assert report.certified_accuracy(0.0) <= clean
    assert report.certified_accuracy(0.0) > 0.5  # the margin is wide: most are certified
    curve = [accuracy for _, accuracy in report.curve()]
    assert curve == sorted(curve, reverse=True)
    predicted = smoothed.predict(x, n=200, alpha=0.01)
    assert set(predicted.tolist()) <= {ABSTAIN, 0, 1}


def test_randomized_smoothing_is_deterministic_for_a_seed():
    x, _ = _grey(4)
    first = _smoothed(seed=5).certify(x, n0=10, n=100, alpha=0.01)
    second = _smoothed(seed=5).certify(x, n0=10, n=100, alpha=0.01)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    counts = _smoothed(seed=5).sample_counts(x, 130)  # two chunks: 64 + 64 + 2
    np.testing.assert_array_equal(counts, _smoothed(seed=5).sample_counts(x, 130))
