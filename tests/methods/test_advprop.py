"""AdvProp: clean and adversarial batches use separate batch norms; inference uses the main ones."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
import tfadv.layers
from tfadv.attacks import PGD

EPS = 0.1


def dual_bn_classifier():
    return keras.Sequential(
        [
            keras.Input((4, 4, 2)),
            tfadv.layers.DualBatchNormalization(momentum=0.0, name="bn"),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )


def data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, 4, 4, 2)).astype("float32")
    y = rng.integers(0, 3, n).astype("int32")
    return x, y


def attack():
    return PGD(eps=EPS, step_size=0.05, steps=2, seed=5)


def test_advprop_routes_clean_and_adversarial_batches_to_separate_statistics():
    x, y = data()
    classifier = dual_bn_classifier()
    bn = classifier.get_layer("bn")
    # Make the auxiliary moving statistics differ from the main ones, so that an attack crafted with
    # the main batch norms would give a different x_adv than one crafted with the auxiliary ones.
    bn.aux_bn.moving_mean.assign([0.3, 0.7])
    bn.aux_bn.moving_variance.assign([2.0, 0.5])

    twin = dual_bn_classifier()
    twin.set_weights(classifier.get_weights())
    with tfadv.layers.use_auxiliary_bn(twin):
        x_adv_aux = attack().run(twin, x, y).x_adv.numpy()
    x_adv_main = attack().run(twin, x, y).x_adv.numpy()
    assert not np.allclose(x_adv_aux, x_adv_main)

    model = tfadv.methods.AdvProp(classifier, attack=attack())
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)

    # momentum 0: each moving mean is the mean of the last batch its branch saw in training mode.
    np.testing.assert_allclose(bn.main_bn.moving_mean.numpy(), x.mean(axis=(0, 1, 2)), atol=1e-6)
    np.testing.assert_allclose(
        bn.aux_bn.moving_mean.numpy(), x_adv_aux.mean(axis=(0, 1, 2)), atol=1e-6
    )
    assert not np.allclose(bn.aux_bn.moving_mean.numpy(), bn.main_bn.moving_mean.numpy())
    assert not np.allclose(bn.aux_bn.moving_variance.numpy(), bn.main_bn.moving_variance.numpy())


def test_advprop_predicts_with_the_main_batch_norms():
    x, y = data()
    classifier = dual_bn_classifier()
    model = tfadv.methods.AdvProp(classifier, attack=attack())
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)

    bn = classifier.get_layer("bn")
    gamma, beta, mean, var = (w.numpy() for w in bn.main_bn.weights)
    dense_w, dense_b = classifier.layers[-1].get_weights()
    normalised = gamma * (x - mean) / np.sqrt(var + bn.epsilon) + beta
    expected = normalised.reshape(len(x), -1) @ dense_w + dense_b

    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(classifier.predict(x, verbose=0), expected, atol=1e-5)
    with tfadv.layers.use_auxiliary_bn(classifier):
        aux = classifier(x, training=False).numpy()
    assert not np.allclose(aux, expected, atol=1e-3)


def test_advprop_loss_averages_the_two_cross_entropies():
    x, y = data(8)
    classifier = dual_bn_classifier()
    classifier.get_layer("bn").aux_bn.moving_mean.assign([0.3, 0.7])
    for combine, factor in (("mean", 0.5), ("sum", 1.0)):
        model = tfadv.methods.AdvProp(classifier, attack=attack(), combine=combine)
        adv = model.generate_adversarial(x, y, tf.constant(EPS))
        # The clean logits of the metrics are the main batch norms' in inference mode.
        np.testing.assert_allclose(adv.clean_logits, classifier(x, training=False), atol=1e-6)
        loss, outputs = model.compute_adv_loss(x, y, adv)
        total = outputs["clean_loss"].numpy().mean() + outputs["adv_loss"].numpy().mean()
        np.testing.assert_allclose(float(loss), factor * total, rtol=1e-6)


def test_advprop_random_targets_differ_from_the_labels():
    classifier = dual_bn_classifier()
    model = tfadv.methods.AdvProp(classifier, attack=PGD(eps=EPS, steps=1, targeted=True), seed=3)
    y = tf.constant(np.arange(600) % 3, tf.int32)
    x = tf.zeros([600, 4, 4, 2])
    targets = model._random_targets(x, y, 3).numpy()
    assert np.all(targets != y.numpy()) and targets.min() >= 0 and targets.max() <= 2
    assert len(np.unique(targets[y.numpy() == 0])) == 2
    adv = model.generate_adversarial(x[:8] + 0.5, y[:8], tf.constant(EPS))
    assert adv.x_adv.shape == (8, 4, 4, 2)


def test_advprop_defaults_and_bad_arguments():
    model = tfadv.methods.AdvProp(dual_bn_classifier())
    assert isinstance(model.attack, PGD)
    assert (model.attack.eps, model.attack.step_size, model.attack.steps) == (1 / 255, 1 / 255, 1)
    assert model.combine == "mean"
    plain = keras.Sequential(
        [
            keras.Input((4, 4, 2)),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    with pytest.raises(ValueError, match="DualBatchNormalization"):
        tfadv.methods.AdvProp(plain)
    with pytest.raises(ValueError, match=r"Received: combine='max'"):
        tfadv.methods.AdvProp(dual_bn_classifier(), combine="max")
    tfadv.methods.AdvProp(tfadv.layers.convert_to_dual_bn(plain))  # converted: accepted
