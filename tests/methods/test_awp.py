"""AWP: gamma = 0 is the wrapped method, the perturbation's size and direction, serialisation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tfadv.attacks import PGD, EarlyStoppedPGD
from tfadv.methods.awp import weight_perturbation


def small_net(seed=0, batch_norm=False):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((6, 6, 1)), keras.layers.Conv2D(3, 3)]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers += [keras.layers.ReLU(), keras.layers.Flatten(), keras.layers.Dense(3)]
    return keras.Sequential(layers)


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 0.9, size=(n, 6, 6, 1)).astype("float32")
    return x, rng.integers(0, 3, n).astype("int32")


def trades(classifier):
    attack = EarlyStoppedPGD(
        eps=0.1, step_size=0.05, steps=2, tau=2, random_init="normal", omega=0.0, loss="kl", seed=1
    )
    return tfadv.methods.TRADES(classifier, attack=attack, beta=6.0)


def pgdat(classifier):
    return tfadv.methods.PGDAT(classifier, attack=PGD(eps=0.1, step_size=0.05, steps=2, seed=1))


def fit_one_epoch(model, x, y):
    model.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.9))
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return model.classifier.get_weights()  # BN moving statistics included


@pytest.mark.parametrize("build", [trades, pgdat])
def test_gamma_zero_equals_the_wrapped_method(build):
    x, y = data()
    expected = fit_one_epoch(build(small_net(batch_norm=True)), x, y)
    awp = tfadv.methods.AWP(build(small_net(batch_norm=True)), gamma=0.0)
    got = fit_one_epoch(awp, x, y)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    # The wrapped method follows the epoch progress (its schedules read its own).
    assert float(awp.method.epoch_progress.numpy()) == float(awp.epoch_progress.numpy()) == 0.5


@pytest.mark.slow
def test_warmup_epochs_delay_the_perturbation():
    x, y = data()
    expected = fit_one_epoch(pgdat(small_net()), x, y)
    waiting = fit_one_epoch(tfadv.methods.AWP(pgdat(small_net()), gamma=0.5, warmup_epochs=1), x, y)
    for a, b in zip(waiting, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    moved = fit_one_epoch(tfadv.methods.AWP(pgdat(small_net()), gamma=0.5), x, y)
    assert max(np.abs(a - b).max() for a, b in zip(moved, expected)) > 1e-4


def test_perturbation_has_the_layer_norm_in_the_gradient_direction():
    kernel = keras.Variable(np.array([[3.0, 0.0], [0.0, 4.0]], "float32"))  # norm 5
    bias = keras.Variable(np.ones(2, "float32"))
    grad = tf.constant([[0.0, 1.0], [1.0, 0.0]])
    direction, skipped = weight_perturbation([kernel, bias], [grad, tf.ones(2)])
    assert skipped is None  # biases are not perturbed
    np.testing.assert_allclose(direction.numpy(), 5.0 / np.sqrt(2.0) * grad.numpy(), rtol=1e-6)
    (overflow,) = weight_perturbation([kernel], [tf.fill([2, 2], np.inf)])
    np.testing.assert_array_equal(overflow.numpy(), np.zeros((2, 2)))


def test_gradient_is_taken_at_the_perturbed_weights_of_a_linear_model():
    # Loss = mean CE of a linear softmax model; the AWP gradient must equal the plain gradient
    # evaluated at w + gamma * ||w|| g / ||g||, and the weights must be left unperturbed.
    x, y = data(8)
    classifier = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    model = tfadv.methods.AWP(tfadv.AdvModel(classifier, attack=PGD(eps=0.0, steps=1)), gamma=0.3)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    adv = model.generate_adversarial(tf.constant(x), tf.constant(y), 0.0)
    kernel, bias = [v.numpy() for v in classifier.trainable_variables]
    _, grads = model.compute_gradients(tf.constant(x), tf.constant(y), adv)

    def loss_grads(k, b):
        k, b = tf.constant(k), tf.constant(b)
        with tf.GradientTape() as tape:
            tape.watch([k, b])
            logits = tf.reshape(x, [8, -1]) @ k + b
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
            )
        return [g.numpy() for g in tape.gradient(loss, [k, b])]

    g_kernel, _ = loss_grads(kernel, bias)
    moved = kernel + 0.3 * np.linalg.norm(kernel) / np.linalg.norm(g_kernel) * g_kernel
    for got, expected in zip(grads, loss_grads(moved, bias), strict=True):
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(classifier.trainable_variables[0].numpy(), kernel)


def test_from_knobs_wraps_the_inner_method_with_its_reference_gamma():
    budget = tfadv.AttackBudget(eps=0.1, steps=2)
    at_awp = tfadv.methods.AWP.from_knobs(small_net(), budget=budget, inner="pgdat")
    assert isinstance(at_awp.method, tfadv.methods.PGDAT) and at_awp.gamma == 0.01
    trades_awp = tfadv.methods.AWP.from_knobs(small_net(), budget=budget)
    assert isinstance(trades_awp.method, tfadv.methods.TRADES) and trades_awp.gamma == 0.005
    assert trades_awp.classifier is trades_awp.method.classifier
    assert trades_awp.extra_metrics == ("natural_loss", "robust_loss")
    with pytest.raises(ValueError, match="Received: inner='awp'"):
        tfadv.methods.AWP.from_knobs(small_net(), inner="awp")
    assert trades_awp.method.beta == tfadv.methods.TRADES.knobs["beta"].default
    mart_awp = tfadv.methods.AWP.from_knobs(small_net(), budget=budget, inner="mart", beta=5.0)
    assert isinstance(mart_awp.method, tfadv.methods.MART) and mart_awp.method.beta == 5.0
    with pytest.raises(ValueError, match="Received: beta=6.0"):
        tfadv.methods.AWP.from_knobs(small_net(), budget=budget, inner="pgdat", beta=6.0)


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="Received: method="):
        tfadv.methods.AWP(small_net())
    with pytest.raises(ValueError, match="Received: gamma=-1"):
        tfadv.methods.AWP(pgdat(small_net()), gamma=-1)
    with pytest.raises(ValueError, match="Received: eps_schedule="):
        tfadv.methods.AWP(pgdat(small_net()), eps_schedule=tfadv.schedules.Constant(0.1))


def test_reloaded_awp_trains_on(tmp_path):
    # AWP wraps another method: its reload (wrapper, inner method, compiled optimizer) trains on.
    x, y = data()
    model = tfadv.methods.AWP(pgdat(small_net()), gamma=5e-3)
    model.compile(optimizer="sgd")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "awp.keras")
    loaded = keras.saving.load_model(tmp_path / "awp.keras", safe_mode=True)
    assert type(loaded.method) is tfadv.methods.PGDAT and loaded.gamma == model.gamma
    before = [w.copy() for w in loaded.classifier.get_weights()]
    history = loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, loaded.classifier.get_weights()))
