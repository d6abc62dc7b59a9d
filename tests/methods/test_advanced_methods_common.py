"""TRADES, FAT, FAT-TRADES, GAIRAT, GAIR-FAT and AdvProp on every kind of classifier.

Each trains on Sequential, Functional and subclassed classifiers, reports its metrics, and saves /
reloads as `.keras` with `safe_mode=True`.
"""

import json
import math

import keras
import numpy as np
import pytest

import tfadv
import tfadv.layers
from tfadv.attacks import PGD, EarlyStoppedPGD
from tfadv.schedules import PiecewiseConstant

METHODS = ("TRADES", "FAT", "FATTRADES", "GAIRAT", "GAIRFAT", "AdvProp")
KINDS = ("sequential", "functional", "subclassed")
INPUT_SHAPE = (28, 28, 1)


def _norm(dual_bn):
    return tfadv.layers.DualBatchNormalization() if dual_bn else keras.layers.Identity()


@keras.saving.register_keras_serializable(package="tfadv_tests")
class SubclassedClassifier(keras.Model):
    """A tiny subclassed CNN, optionally with dual batch norm (for AdvProp)."""

    def __init__(self, num_classes=10, dual_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.dual_bn = dual_bn
        self.conv = keras.layers.Conv2D(4, 3, strides=2)
        self.norm = _norm(dual_bn)
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(num_classes)

    def call(self, inputs, training=None):
        hidden = keras.ops.relu(self.norm(self.conv(inputs), training=training))
        return self.dense(self.flatten(hidden))

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, dual_bn=self.dual_bn)
        return config


def build_classifier(kind, dual_bn=False):
    if kind == "sequential":
        return keras.Sequential(
            [
                keras.Input(INPUT_SHAPE),
                keras.layers.Conv2D(4, 3, strides=2),
                _norm(dual_bn),
                keras.layers.ReLU(),
                keras.layers.Flatten(),
                keras.layers.Dense(10),
            ]
        )
    if kind == "functional":
        inputs = keras.Input(INPUT_SHAPE)
        hidden = keras.layers.Conv2D(4, 3, strides=2)(inputs)
        if dual_bn:  # built with plain batch norm, then converted
            hidden = keras.layers.BatchNormalization()(hidden)
        hidden = keras.layers.Flatten()(keras.layers.ReLU()(hidden))
        model = keras.Model(inputs, keras.layers.Dense(10)(hidden))
        return tfadv.layers.convert_to_dual_bn(model) if dual_bn else model
    model = SubclassedClassifier(dual_bn=dual_bn)
    model(np.zeros((1, *INPUT_SHAPE), "float32"))
    return model


def build_method(name, classifier):
    """Each method with a 2-step attack and schedules that switch within the first epochs."""
    small = dict(eps=0.1, step_size=0.05, steps=2)
    kl = dict(random_init="normal", omega=0.0, loss="kl")
    if name == "TRADES":
        return tfadv.methods.TRADES(
            classifier, attack=EarlyStoppedPGD(**small, tau=2, **kl), beta=1.0
        )
    if name == "FAT":
        tau = PiecewiseConstant(boundaries=[1], values=[0, 1])
        return tfadv.methods.FAT(classifier, attack=EarlyStoppedPGD(**small), tau=tau)
    if name == "FATTRADES":
        return tfadv.methods.FATTRADES(classifier, attack=EarlyStoppedPGD(**small, **kl), tau=1)
    if name == "GAIRAT":
        lam = PiecewiseConstant(boundaries=[1], values=[0.0, -1.0])
        return tfadv.methods.GAIRAT(
            classifier,
            attack=EarlyStoppedPGD(**small, tau=2, omega=0.0),
            lambda_=lam,
            begin_epoch=0,
        )
    if name == "GAIRFAT":
        return tfadv.methods.GAIRFAT(
            classifier,
            attack=EarlyStoppedPGD(**small, omega=0.0),
            tau=PiecewiseConstant(boundaries=[1], values=[1, math.inf]),
            lambda_=math.inf,
            begin_epoch=0,
            weight_function="sigmoid",
        )
    return tfadv.methods.AdvProp(classifier, attack=PGD(**small), combine="sum")


@pytest.fixture(scope="module")
def digits(mnist_small):
    (x, y), _ = mnist_small
    return x[:64], y[:64]


def _json(config):
    return json.dumps(config, sort_keys=True)


@pytest.mark.parametrize("kind", ["functional"])  # every kind: test_method_registry.py
@pytest.mark.parametrize("name", METHODS)
def test_method_trains_saves_and_reloads(name, kind, digits, tmp_path):
    x, y = digits
    model = build_method(name, build_classifier(kind, dual_bn=name == "AdvProp"))
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    history = model.fit(x, y, batch_size=64, epochs=1, verbose=0)

    expected = {"loss", "clean_accuracy", "adv_accuracy", "grad_evals"}
    expected |= set(type(model).extra_metrics)
    assert expected <= set(history.history)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert 0.0 <= history.history["grad_evals"][0] <= 2.0

    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert _json(loaded.get_config()) == _json(model.get_config())
    expected_logits = model.classifier(x[:16], training=False)
    np.testing.assert_allclose(loaded(x[:16], training=False), expected_logits, atol=1e-5)

    if name == "AdvProp":  # the deployed classifier alone reloads and predicts the same logits
        classifier_path = tmp_path / "classifier.keras"
        model.classifier.save(classifier_path)
        classifier = keras.saving.load_model(classifier_path, safe_mode=True)
        np.testing.assert_allclose(classifier(x[:16], training=False), expected_logits, atol=1e-5)


@pytest.mark.parametrize("name", METHODS)
def test_config_round_trips_every_argument(name):
    model = build_method(name, build_classifier("sequential", dual_bn=name == "AdvProp"))
    config = model.get_config()
    clone = type(model).from_config(json.loads(json.dumps(config)))
    assert _json(clone.get_config()) == _json(config)
    for key in (
        "beta",
        "tau",
        "lambda_",
        "begin_epoch",
        "weight_function",
        "combine",
        "seed",
    ):
        if hasattr(model, key):
            assert key in config


@pytest.mark.parametrize(
    "make, received",
    [
        (lambda c: tfadv.methods.TRADES(c, beta=-1.0), r"Received: beta=-1\.0"),
        (lambda c: tfadv.methods.FATTRADES(c, beta=-1.0), r"Received: beta=-1\.0"),
        (lambda c: tfadv.methods.FAT(c, tau=-2), r"Received: tau=-2"),
        (lambda c: tfadv.methods.GAIRFAT(c, tau=0.5), r"Received: tau=0\.5"),
        (lambda c: tfadv.methods.GAIRAT(c, begin_epoch=1.5), r"Received: begin_epoch=1\.5"),
        (lambda c: tfadv.methods.GAIRFAT(c, weight_function="exp"), "weight_function='exp'"),
        (lambda c: tfadv.methods.GAIRAT(c, lambda_="fixed"), "lambda_='fixed'"),
        (lambda c: tfadv.methods.AdvProp(c, combine="max"), "DualBatchNormalization"),
    ],
)
def test_bad_arguments_raise_value_errors_quoting_the_value(make, received):
    with pytest.raises(ValueError, match=received):
        make(build_classifier("sequential"))
