"""`tfadv.deployable`: the classifier evaluation and export share, its logits, its switches."""

import json

import keras
import numpy as np
import pytest

import tfadv
from tests.conftest import tiny_cnn
from tfadv import deployable
from tfadv.evaluation import _utils as evaluation_utils
from tfadv.export import _prepare


class Wrapper(keras.Model):
    """Duck-typed AdvModel: a `classifier` together with an `attack`."""

    def __init__(self, classifier, **kwargs):
        super().__init__(**kwargs)
        self.classifier = classifier
        self.attack = "pgd"

    def call(self, x, training=False):
        return self.classifier(x, training=training)


def test_unwrap_reaches_the_classifier_through_nested_wrappers():
    classifier = tiny_cnn()
    adv = tfadv.AdvModel(classifier, attack=tfadv.attacks.PGD(eps=0.1, steps=1))
    assert deployable.unwrap(adv) is classifier
    assert deployable.unwrap(Wrapper(Wrapper(classifier))) is classifier
    assert deployable.unwrap(classifier) is classifier
    # Evaluation and export unwrap the same way; each keeps its own type check.
    assert evaluation_utils.unwrap_model(adv) is _prepare.unwrap(adv) is classifier
    with pytest.raises(TypeError, match="Received: model=3"):
        evaluation_utils.unwrap_model(3)
    with pytest.raises(TypeError, match="Received: model=<function"):
        _prepare.unwrap(lambda x: x)


def test_logits_fn_is_float32_and_refuses_two_outputs():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, dtype="float16")(inputs))
    x = np.ones((2, 4), "float32")
    logits = deployable.logits_fn(model)(x)
    assert logits.dtype == "float32" and tuple(logits.shape) == (2, 3)
    two = keras.Model(inputs, [keras.layers.Dense(3)(inputs), keras.layers.Dense(2)(inputs)])
    with pytest.raises(ValueError, match="returns 2 outputs"):
        deployable.logits_fn(two)(x)


def test_log_probabilities_are_logits_of_the_same_softmax():
    inputs = keras.Input((4,))
    logits_model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    softmax_model = keras.Model(inputs, keras.layers.Softmax()(logits_model.output))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    log_p = np.asarray(deployable.LogProbabilities(softmax_model)(x))
    logits = np.asarray(logits_model(x))
    # log softmax(z) = z - logsumexp(z): the same logits up to a per-example constant.
    shift = logits - log_p
    np.testing.assert_allclose(shift, shift[:, :1].repeat(3, axis=1), atol=1e-5)
    assert evaluation_utils.LogProbabilities is deployable.LogProbabilities


def _noisy_dual_model():
    inputs = keras.Input((6,))
    x = tfadv.layers.GaussianNoiseInjection(0.5, active_at_inference=False)(inputs)
    x = keras.layers.Dense(4)(x)
    x = tfadv.layers.DualBatchNormalization()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def test_deployment_state_sets_the_switches_and_restores_them():
    model = _noisy_dual_model()
    noise = model.layers[1]
    dual = model.layers[3]
    x = np.random.default_rng(0).uniform(size=(8, 6)).astype("float32")
    for layer in (dual.main_bn, dual.aux_bn):  # distinct statistics per branch
        layer.moving_mean.assign(np.full(4, 0.3 if layer is dual.aux_bn else 0.0, "float32"))
    clean = np.asarray(model(x))  # quiet at inference, main batch norm
    with tfadv.layers.use_auxiliary_bn(model):
        auxiliary = np.asarray(model(x))
        assert not np.allclose(auxiliary, clean)
        with deployable.deployment_state(model, stochastic=False):
            np.testing.assert_allclose(np.asarray(model(x)), clean, atol=1e-6)
        with deployable.deployment_state(model, stochastic=True):
            first, second = np.asarray(model(x)), np.asarray(model(x))
            assert not np.allclose(first, second)  # the noise samples at inference
            assert noise.active_at_inference
        # Restored: the auxiliary routing of the enclosing context, the noise quiet again.
        np.testing.assert_allclose(np.asarray(model(x)), auxiliary, atol=1e-6)
    assert noise.active_at_inference is False and noise.noise_active is True
    np.testing.assert_allclose(np.asarray(model(x)), clean, atol=1e-6)


def test_parity_report_round_trips_through_its_config():
    report = tfadv.export.ParityReport(
        path="m.onnx",
        format="onnx",
        num_examples=4,
        max_abs_logit_diff=0.0,
        tolerance=1e-4,
        argmax_agreement=1.0,
        passed=True,
    )
    config = json.loads(json.dumps(report.get_config()))
    again = tfadv.export.ParityReport.from_config(config)
    assert again.to_dict() == report.to_dict()
    assert list(report.to_dict())[:3] == ["path", "format", "num_examples"]
    assert report.argmax_ties == 0 and report.attack is None
    with pytest.raises(TypeError):
        tfadv.export.ParityReport("m.onnx")  # keyword-only, as before
