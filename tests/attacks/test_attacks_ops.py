"""The shared attack maths of `tfadv.attacks._ops`: closed forms on hand-made logits and models."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfadv import backend
from tfadv.attacks import _ops


def test_default_step_size_float_and_tensor():
    assert _ops.default_step_size(0.3, 40) == pytest.approx(2.5 * 0.3 / 40)
    assert _ops.default_step_size(0.0, 10) == 1e-3
    got = _ops.default_step_size(tf.constant(0.3), 40)
    assert tf.is_tensor(got) and float(got) == pytest.approx(2.5 * 0.3 / 40)
    assert float(_ops.default_step_size(tf.constant(0.0), 10)) == pytest.approx(1e-3)


def test_margin_is_exact_for_huge_logits():
    logits = tf.constant([[4.0, 1.0, 3.0], [2e5, 1e5, -1e5], [0.0, 5.0, 1.0]])
    y = tf.constant([0, 0, 0])
    # A penalty mask (z - 1e4 * onehot) would pick the true class of row 2 as "best other".
    np.testing.assert_allclose(_ops.margin(logits, y).numpy(), [1.0, 1e5, -5.0])


def test_dlr_closed_forms():
    logits = tf.constant([[4.0, 1.0, 3.0, 0.0, -1.0]])
    y = tf.constant([0])
    # sorted 4, 3, 1, 0, -1: untargeted -(4 - 3) / (4 - 1); targeted at 2: -(4 - 1) / (4 - 0.5).
    np.testing.assert_allclose(_ops.dlr(logits, y).numpy(), [-1.0 / 3.0], rtol=1e-6)
    np.testing.assert_allclose(
        _ops.targeted_dlr(logits, y, tf.constant([1])), [-3.0 / 3.5], rtol=1e-6
    )
    # Shift and scale invariance.
    np.testing.assert_allclose(_ops.dlr(7.0 * logits - 3.0, y).numpy(), [-1.0 / 3.0], rtol=1e-5)
    # Three classes: the missing fourth logit of the targeted denominator is the smallest one.
    three = tf.constant([[2.0, 0.0, -2.0]])
    np.testing.assert_allclose(
        _ops.targeted_dlr(three, tf.constant([0]), tf.constant([1])), [-2.0 / 4.0], rtol=1e-6
    )


def test_dlr_with_two_classes_is_the_margin_and_has_a_gradient():
    logits = tf.Variable([[3.0, 1.0], [0.5, 2.5]])
    y = tf.constant([0, 0])
    with tf.GradientTape() as tape:
        loss = _ops.dlr(logits, y)
    np.testing.assert_allclose(loss.numpy(), [-2.0, 2.0])
    np.testing.assert_allclose(tape.gradient(loss, logits).numpy(), [[-1.0, 1.0], [-1.0, 1.0]])
    targeted = _ops.targeted_dlr(logits, y, tf.constant([1, 1]))
    np.testing.assert_allclose(targeted.numpy(), [-2.0, 2.0])
    assert np.all(np.isfinite(_ops.dlr(tf.constant([[1.0, 1.0]]), tf.constant([1])).numpy()))


def test_seed_key_depends_on_seed_batch_and_salt():
    x = tf.random.stateless_uniform([4, 3], seed=[1, 2])
    key = _ops.seed_key(5, x).numpy()
    np.testing.assert_array_equal(key, _ops.seed_key(5, x).numpy())
    assert not np.array_equal(key, _ops.seed_key(6, x).numpy())
    assert not np.array_equal(key, _ops.seed_key(5, x, salt=1).numpy())
    assert not np.array_equal(key, _ops.seed_key(5, x + 0.25).numpy())
    unseeded = _ops.seed_key(None, x)
    assert unseeded.shape == (2,) and unseeded.dtype == tf.int32


def _linear(w):
    model = keras.Sequential([keras.Input((w.shape[0],)), keras.layers.Dense(w.shape[1])])
    model.layers[0].set_weights([w, np.zeros(w.shape[1], "float32")])
    return model


def test_value_and_grad_closed_form_on_a_linear_model():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 3)).astype("float32")
    x = tf.constant(rng.random((4, 5)).astype("float32"))
    y = tf.constant([0, 1, 2, 0])
    objective, logits, grad = _ops.value_and_grad(_linear(w), x, lambda z: _ops.margin(z, y))
    z = x.numpy() @ w
    np.testing.assert_allclose(logits.numpy(), z, rtol=1e-5)
    other = np.where(np.eye(3, dtype=bool)[y.numpy()], -np.inf, z).argmax(1)
    np.testing.assert_allclose(
        objective.numpy(), z[np.arange(4), y] - z[np.arange(4), other], rtol=1e-5
    )
    np.testing.assert_allclose(grad.numpy(), (w[:, y.numpy()] - w[:, other]).T, rtol=1e-5)


def test_value_and_grad_float16_matches_float32():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(5, 3)).astype("float32") * 1e-3  # tiny gradients
    x = tf.constant(rng.random((4, 5)).astype("float32"))
    y = tf.constant([0, 1, 2, 0])
    _, _, reference = _ops.value_and_grad(_linear(w), x, lambda z: _ops.margin(z, y))
    keras.config.set_dtype_policy("mixed_float16")
    _, _, grad = _ops.value_and_grad(_linear(w), x, lambda z: _ops.margin(z, y))
    assert grad.dtype == tf.float32
    np.testing.assert_allclose(grad.numpy(), reference.numpy(), rtol=2e-2, atol=1e-6)


class _Counter(keras.layers.Layer):
    """Multiplies its input by the number of times it has been called (a known random draw)."""

    def build(self, input_shape):
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        self.calls.assign_add(1.0)
        return inputs * self.calls


def test_eot_averages_objective_and_gradient_over_passes():
    w = np.array([[1.0, -1.0], [2.0, 0.5]], "float32")
    model = keras.Sequential([keras.Input((2,)), _Counter(), keras.layers.Dense(2)])
    model.layers[1].set_weights([w, np.zeros(2, "float32")])
    x = tf.constant([[0.5, 0.25]])
    y = tf.constant([0])
    objective, logits, grad = _ops.value_and_grad(model, x, lambda z: _ops.margin(z, y), eot=3)
    # Passes scale the input by 1, 2, 3: the mean objective and gradient are those of scale 2.
    slope = w[:, 0] - w[:, 1]
    np.testing.assert_allclose(objective.numpy(), 2.0 * (x.numpy() @ slope), rtol=1e-6)
    np.testing.assert_allclose(grad.numpy(), [2.0 * slope], rtol=1e-6)
    np.testing.assert_allclose(logits.numpy(), 3.0 * x.numpy() @ w, rtol=1e-6)  # the last pass


def test_select_and_norms_per_example():
    a = tf.ones([3, 2, 2])
    b = tf.zeros([3, 2, 2])
    picked = _ops.select(tf.constant([True, False, True]), a, b).numpy()
    np.testing.assert_array_equal(picked.sum(axis=(1, 2)), [4.0, 0.0, 4.0])
    t = tf.constant([[[3.0, 0.0], [0.0, -4.0]]])
    np.testing.assert_allclose(_ops.l2_norm(t).numpy(), [5.0])
    np.testing.assert_allclose(_ops.linf_norm(t).numpy(), [4.0])


def _noinline_functions(concrete):
    library = concrete.graph.as_graph_def().library.function
    return [f for f in library if f.attr.get("_noinline") is not None and f.attr["_noinline"].b]


def test_a_separate_gradient_equals_the_inlined_one_in_nested_loops():
    """`separate=True` (FAB-T's gradient, in nested loops and a `cond`) gives the inlined
    gradient's values and, on a CPU-only machine, is traced as a function of its own."""
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    x = tf.constant(np.random.default_rng(2).random((5, 8, 8, 1)).astype("float32"))
    y = tf.constant([0, 1, 2, 0, 1])

    def traced(separate):
        def inner(i, total):
            def step():
                shifted = x + 0.01 * tf.cast(i, tf.float32)
                objective = lambda z: _ops.margin(z, y)  # noqa: E731
                return _ops.value_and_grad(model, shifted, objective, separate=separate)[2]

            return i + 1, total + tf.cond(i >= 0, step, lambda: tf.zeros_like(x))

        def outer(j, total):
            return j + 1, tf.while_loop(lambda i, _: i < 3, inner, [0, total])[1]

        def run(x_in):
            return tf.while_loop(lambda j, _: j < 2, outer, [0, tf.zeros_like(x_in)])[1]

        return tf.function(run, autograph=False).get_concrete_function(x)

    inlined, separate = traced(False), traced(True)
    np.testing.assert_allclose(separate(x).numpy(), inlined(x).numpy(), rtol=1e-6, atol=1e-7)
    assert not _noinline_functions(inlined)
    assert bool(_noinline_functions(separate)) == backend.cpu_only()
    # Eagerly there is no graph to separate from: the plain gradient.
    eager = _ops.value_and_grad(model, x, lambda z: _ops.margin(z, y), separate=True)[2]
    plain = _ops.value_and_grad(model, x, lambda z: _ops.margin(z, y))[2]
    np.testing.assert_array_equal(eager.numpy(), plain.numpy())
