"""GAIR weights are normalised over the global batch under `tf.distribute`, not per replica."""

import _tiny
import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tfadv.methods import _gair


def mirrored():
    return tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


def per_replica(strategy, *arrays):
    dataset = tf.data.Dataset.from_tensor_slices(arrays).batch(len(arrays[0]))
    return next(iter(strategy.experimental_distribute_dataset(dataset)))


@pytest.mark.parametrize("weight_function", ["tanh", "sigmoid", "discrete"])
def test_weights_match_one_device_on_the_global_batch(weight_function):
    # Replica 0 holds the easy examples (large kappa), replica 1 the hard ones: normalising per
    # replica would give each half mean 1, the global normalisation does not.
    kappa = np.array([10, 9, 8, 10, 0, 1, 0, 2], "float32")
    expected, raw = _gair.gair_weights(kappa, 10, -1.0, weight_function)
    strategy = mirrored()

    @tf.function
    def step(k):
        return strategy.run(lambda k: _gair.gair_weights(k, 10, -1.0, weight_function), (k,))

    (k,) = per_replica(strategy, kappa)
    normalised, raw_replicas = step(k)
    got = np.concatenate([v.numpy() for v in strategy.experimental_local_results(normalised)])
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5)
    assert np.mean(got) == pytest.approx(1.0, rel=1e-6)
    assert np.mean(got[:4]) < 0.9  # the easy half is down-weighted across replicas
    raws = np.concatenate([v.numpy() for v in strategy.experimental_local_results(raw_replicas)])
    np.testing.assert_allclose(raws, raw.numpy(), rtol=1e-6)


def test_underflowing_weights_stay_finite_across_replicas():
    kappa = np.array([10, 10, 10, 10], "float32")
    strategy = mirrored()
    (k,) = per_replica(strategy, kappa)
    normalised, _ = strategy.run(
        tf.function(lambda k: _gair.gair_weights(k, 10, -200.0, "sigmoid")), (k,)
    )
    got = np.concatenate([v.numpy() for v in strategy.experimental_local_results(normalised)])
    np.testing.assert_allclose(got, 1.0, rtol=1e-6)


def test_gairat_update_under_two_replicas_equals_one_device():
    x, y = _tiny.data(16)
    initial = _tiny.classifier().get_weights()

    def one_epoch():
        classifier = _tiny.classifier()
        classifier.set_weights(initial)
        attack = tfadv.attacks.EarlyStoppedPGD(
            eps=0.2, step_size=0.05, steps=4, tau=4, random_init="none", omega=0.0
        )
        model = tfadv.methods.GAIRAT(classifier, attack, lambda_=-1.0, begin_epoch=0)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        return model.classifier.get_weights()

    single = one_epoch()
    with mirrored().scope():
        replicated = one_epoch()
    assert any(np.abs(a - b).max() > 1e-3 for a, b in zip(initial, single))
    for a, b in zip(single, replicated):
        np.testing.assert_allclose(a, b, atol=2e-6)
