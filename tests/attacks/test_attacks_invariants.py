"""Invariants every registered attack keeps; a new attack file is enrolled through `ATTACKS`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tests.conftest import tiny_cnn

NAMES = tfadv.attacks.ATTACKS.names()
EPS = {"linf": 0.1, "l2": 1.0}


def make_attack(name, norm="linf", seed=None):
    cls = tfadv.attacks.get(name)
    if norm not in cls.norms:
        pytest.skip(f"{cls.__name__} supports {cls.norms}, not {norm}")
    return cls.default_instance(EPS[norm], norm=norm, seed=seed)


_SHARED = {}


def shared_attack(name, norm="linf"):
    """One default instance per attack and norm for the tests that call it on the module's model,
    so that its compiled function is traced once (tests that count traces make their own)."""
    if (name, norm) not in _SHARED:
        _SHARED[name, norm] = make_attack(name, norm)
    return _SHARED[name, norm]


@pytest.fixture(scope="module")
def model_and_data():
    keras.utils.set_random_seed(1)
    model = tiny_cnn()
    rng = np.random.default_rng(1)
    x = rng.random((16, 28, 28, 1)).astype("float32")
    x[:4] = 0.0  # pixels at the box edges
    x[4:8] = 1.0
    y = rng.integers(0, 10, 16)
    return model, x, y


def test_registry_lists_every_attack():
    expected = {"apgd", "apgdt", "early_stopped_pgd", "fgsm", "pgd", "square"}
    assert expected <= set(NAMES)
    for name in NAMES:
        cls = tfadv.attacks.get(name)
        assert cls.registry_name == name and issubclass(cls, tfadv.attacks.Attack)
        assert getattr(tfadv.attacks, cls.__name__) is cls and cls.__name__ in tfadv.attacks.__all__
        assert tfadv.attacks.get(cls.__name__) is cls  # class names are aliases
    assert tfadv.attacks.get("EarlyStoppedPGD") is tfadv.attacks.EarlyStoppedPGD
    with pytest.raises(ValueError, match="attack='fab_linf'"):
        tfadv.attacks.get("fab_linf")


@pytest.mark.parametrize("name", NAMES)
def test_unsupported_norm_rejected(name):
    cls = tfadv.attacks.get(name)
    for norm in ("linf", "l2", "l1"):
        if norm not in cls.norms:
            with pytest.raises(ValueError, match=f"norm='{norm}'"):
                cls.default_instance(0.1, norm=norm)


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("name", NAMES)
def test_eps_ball_and_box(name, norm, model_and_data):
    model, x, y = model_and_data
    attack = shared_attack(name, norm)
    x_adv = attack(model, x, y).numpy()
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    delta = (x_adv - x).reshape(len(x), -1)
    norms = np.abs(delta).max(axis=1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert norms.max() <= EPS[norm] * (1 + 1e-5) + 1e-6
    if attack.minimum_norm:  # it moves only examples it makes adversarial
        moved = norms > 0
        predicted = np.argmax(model(x_adv, training=False).numpy(), axis=-1)
        assert np.all(predicted[moved] != np.asarray(y)[moved])
    else:
        assert norms.max() > 0.5 * EPS[norm]  # it actually moved
    # A smaller radius for one call (an epsilon schedule) is respected too.
    x_small = attack(model, x, y, eps=0.3 * EPS[norm]).numpy()
    delta = (x_small - x).reshape(len(x), -1)
    norms = np.abs(delta).max(axis=1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert norms.max() <= 0.3 * EPS[norm] * (1 + 1e-5) + 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_under_seed(name, model_and_data):
    model, x, y = model_and_data
    a = make_attack(name, seed=7)(model, x, y).numpy()
    b = make_attack(name, seed=7)(model, x, y).numpy()
    c = make_attack(name, seed=8)(model, x, y).numpy()
    np.testing.assert_array_equal(a, b)
    if not make_attack(name).minimum_norm:  # a minimum-norm result need not depend on the seed
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", NAMES)
def test_no_retracing_across_batches(name, model_and_data):
    model, x, y = model_and_data
    attack = make_attack(name)

    @tf.function
    def step(xb, yb):
        return attack(model, xb, yb)

    for i in range(3):
        step(tf.constant(x + 0.0 * i), tf.constant(y))
    assert step.experimental_get_tracing_count() == 1
    # The eager entry point compiles once for every batch size, radius and label dtype.
    for n, eps in ((16, 0.1), (5, 0.05), (11, 0.1), (3, 0.02)):
        attack(model, x[:n], y[:n], eps=eps)
        attack(model, x[:n], y[:n].astype("int64"), eps=eps)
    assert attack._compiled.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("name", NAMES)
def test_no_gradient_flows_out(name, model_and_data):
    model, x, y = model_and_data
    attack = shared_attack(name)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        x_adv = attack(model, xt, y)
        total = tf.reduce_sum(x_adv)
    assert tape.gradient(total, xt) is None


@pytest.mark.parametrize("name", NAMES)
def test_uses_inference_mode(name):
    """Dropout would make the attack's forward passes random; the attack must run training=False."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16),
            keras.layers.Dropout(0.9),
            keras.layers.Dense(3),
        ]
    )
    x = np.random.default_rng(0).random((8, 6)).astype("float32")
    y = np.zeros(8, dtype="int32")
    attack = make_attack(name, seed=0)
    np.testing.assert_array_equal(attack(model, x, y).numpy(), attack(model, x, y).numpy())


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    attack = make_attack(name, seed=3)
    config = attack.get_config()
    clone = type(attack).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(attack))
    assert type(restored) is type(attack) and restored.get_config() == config


@pytest.mark.parametrize("name", NAMES)
def test_float32_gradients_under_mixed_precision(name):
    keras.config.set_dtype_policy("mixed_float16")
    model = tiny_cnn()
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    y = np.arange(8) % 10
    attack = make_attack(name)
    x_adv = attack(model, x, y)
    assert x_adv.dtype == tf.float32
    assert np.all(np.isfinite(x_adv.numpy()))
    if not attack.minimum_norm:  # it moved (a minimum-norm attack may find nothing in the ball)
        assert np.abs(x_adv.numpy() - x).max() > 0.05


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_raise(name, model_and_data):
    model, x, y = model_and_data
    attack = shared_attack(name)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        attack(model, bad, y)
    with pytest.raises(ValueError, match=r"\[0, 1\].*max=25"):
        attack(model, x * 255, y)
    with pytest.raises(ValueError, match="labels outside the model's classes.*max=12"):
        attack(model, x[:4], np.array([0, 1, 2, 12]))
    with pytest.raises(ValueError, match="min=-1"):
        attack(model, x[:4], np.array([0, -1, 2, 3]))
    with pytest.raises(ValueError, match="eps=-1"):
        attack(model, x, y, eps=-1)
    with pytest.raises(ValueError, match="eps=-0.5"):
        type(attack)(eps=-0.5)
    with pytest.raises(TypeError, match="takes no per-call options|tau"):
        attack(model, x, y, bogus=1)


def branching_model():
    """A plain function as the model, with a Python `if` on a tensor: only AutoGraph traces it.

    (AutoGraph converts a function called from converted code; it never converts Keras 3's own
    code, and so never a `keras.Model`'s `call`.)
    """
    dense = keras.layers.Dense(10)
    dense.build((None, 28 * 28))

    def model(x, training=False):
        logits = dense(tf.reshape(x, [-1, 28 * 28]))
        if tf.reduce_max(tf.abs(logits)) > 1e6:  # never true; a graph without AutoGraph refuses it
            logits = logits / 1e6
        return logits

    return model


@pytest.mark.parametrize("name", NAMES)
def test_a_model_that_needs_autograph_is_attacked(name, model_and_data):
    """Attacks compile without AutoGraph (faster tracing) and retrace with it for such a model."""
    _, x, y = model_and_data
    attack = make_attack(name, seed=0)
    x_adv = attack(branching_model(), x[:4], y[:4])
    assert np.max(np.abs(x_adv.numpy() - x[:4])) <= EPS["linf"] + 1e-6
    assert attack._compiled.experimental_get_tracing_count() == 1
