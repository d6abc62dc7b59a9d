"""Fine-tuning: a classifier with frozen layers trains its trainable weights only, under every method.

A classifier whose layers are all frozen is refused at `fit` time with a message naming it (it
used to fail inside `apply_gradients` with "not enough values to unpack"). Parametrised by
`tfadv.methods.METHODS` (one training step on a tiny model: under a second per method).
"""

import keras
import numpy as np
import pytest

import tfadv
import tfadv.layers
from tfadv.methods import awp

SHAPE = (4, 4, 1)
BUDGET = tfadv.AttackBudget(eps=0.1, steps=2, seed=0)


def _norm(dual_bn):
    return tfadv.layers.DualBatchNormalization() if dual_bn else keras.layers.BatchNormalization()


def classifier(dual_bn=False, frozen="all_but_last"):
    """Flatten, Dense, batch norm, Dense head; `frozen`: `"all_but_last"`, `"all"` or `"none"`."""
    model = keras.Sequential(
        [
            keras.Input(SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            _norm(dual_bn),
            keras.layers.Dense(3),
        ]
    )
    if frozen != "none":
        for layer in model.layers if frozen == "all" else model.layers[:-1]:
            layer.trainable = False
    return model


def build(name, frozen="all_but_last"):
    cls = tfadv.methods.get(name)
    model = classifier(bool(cls.builder_options.get("dual_bn")), frozen)
    method = cls.from_knobs(model, budget=BUDGET)
    method.compile(optimizer=keras.optimizers.SGD(0.5))
    return method, model


def data(n=8):
    rng = np.random.default_rng(0)
    return rng.uniform(0.0, 1.0, (n, *SHAPE)).astype("float32"), rng.integers(0, 3, n)


@pytest.mark.parametrize("name", tfadv.methods.METHODS.names())
def test_frozen_layers_stay_and_the_head_trains(name):
    method, model = build(name)
    frozen = [w for layer in model.layers[:-1] for w in layer.weights]  # moving statistics too
    before = [np.array(w) for w in frozen]
    head = [np.array(w) for w in model.layers[-1].weights]
    assert len(method.trainable_weights) == 2  # the head's kernel and bias
    x, y = data()
    method.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    for weight, value in zip(frozen, before, strict=True):
        np.testing.assert_array_equal(np.array(weight), value, err_msg=weight.path)
    assert not np.allclose(np.array(model.layers[-1].kernel), head[0])


@pytest.mark.parametrize("name", tfadv.methods.METHODS.names())
def test_a_fully_frozen_classifier_is_refused_at_fit(name):
    method, model = build(name, frozen="all")
    x, y = data()
    with pytest.raises(
        ValueError,
        match=rf"classifier '{model.name}' has no trainable weights.*trainable=False.*"
        rf"Received: classifier='{model.name}' with 0 trainable and \d+ frozen weights",
    ):
        method.fit(x, y, verbose=0)


@keras.saving.register_keras_serializable(package="tfadv_frozen_tests")
class Frozen(keras.Model):
    """A subclassed classifier: its weights exist only once it is called (inside `fit`)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(3, trainable=False)

    def call(self, x, training=None):
        return self.dense(self.flatten(x))


def test_an_unbuilt_fully_frozen_classifier_is_refused_when_it_is_built():
    method = tfadv.methods.PGDAT(Frozen(name="frozen_head"), attack=BUDGET.pgd())
    method.compile(optimizer="sgd")
    x, y = data()
    with pytest.raises(ValueError, match=r"classifier 'frozen_head' has no trainable weights"):
        method.fit(x, y, verbose=0)


def test_awp_perturbs_only_trainable_weights(monkeypatch):
    seen = []

    def recording(variables, grads):
        seen.extend(v.path for v in variables)
        return perturbation(variables, grads)

    perturbation = awp.weight_perturbation
    monkeypatch.setattr(awp, "weight_perturbation", recording)
    method, model = build("awp")
    x, y = data()
    method.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    assert sorted(seen) == sorted(w.path for w in model.layers[-1].weights)
