"""DualBatchNormalization: separate statistics per branch, routing, conversion of a model."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tfadv.layers import DualBatchNormalization, convert_to_dual_bn, use_auxiliary_bn


def _dual_model(channels=3, momentum=0.0):
    inputs = keras.Input((channels,))
    outputs = DualBatchNormalization(momentum=momentum, epsilon=1e-5, name="dual")(inputs)
    return keras.Model(inputs, outputs)


def _moving_mean(branch):
    return keras.ops.convert_to_numpy(branch.moving_mean)


def test_branches_keep_separate_statistics(rng):
    model = _dual_model()
    layer = model.get_layer("dual")
    clean = rng.normal(2.0, 1.0, size=(256, 3)).astype("float32")
    adv = rng.normal(-3.0, 0.5, size=(256, 3)).astype("float32")

    model(clean, training=True)  # main branch; momentum 0: moving mean = batch mean
    with use_auxiliary_bn(model):
        model(adv, training=True)

    np.testing.assert_allclose(_moving_mean(layer.main_bn), clean.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(_moving_mean(layer.aux_bn), adv.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer.aux_bn.moving_variance), adv.var(axis=0), rtol=1e-4
    )
    assert np.all(np.abs(_moving_mean(layer.main_bn) - _moving_mean(layer.aux_bn)) > 4.0)


def test_inference_uses_main_statistics(rng):
    model = _dual_model()
    layer = model.get_layer("dual")
    clean = rng.normal(2.0, 1.0, size=(256, 3)).astype("float32")
    adv = rng.normal(-3.0, 0.5, size=(256, 3)).astype("float32")
    model(clean, training=True)
    with use_auxiliary_bn(model):
        model(adv, training=True)

    x = rng.normal(size=(8, 3)).astype("float32")
    expected = (x - clean.mean(axis=0)) / np.sqrt(clean.var(axis=0) + 1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(model(x, training=False), expected, rtol=1e-4, atol=1e-4)
    # Inside the context, predict re-traces and uses the auxiliary statistics.
    with use_auxiliary_bn(model):
        aux = model.predict(x, verbose=0)
    expected_aux = (x - adv.mean(axis=0)) / np.sqrt(adv.var(axis=0) + 1e-5)
    np.testing.assert_allclose(aux, expected_aux, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    assert layer.use_auxiliary is False


def test_routing_inside_one_traced_function():
    model = _dual_model(channels=2)
    layer = model.get_layer("dual")
    layer.main_bn.moving_mean.assign([1.0, 1.0])
    layer.aux_bn.moving_mean.assign([-1.0, -1.0])

    @tf.function
    def step(x):
        main = model(x, training=False)
        with use_auxiliary_bn(model):
            aux = model(x, training=False)
        after = model(x, training=False)
        return main, aux, after

    main, aux, after = step(tf.zeros((1, 2)))
    np.testing.assert_allclose(main, [[-1.0, -1.0]], rtol=1e-4)
    np.testing.assert_allclose(aux, [[1.0, 1.0]], rtol=1e-4)
    np.testing.assert_allclose(after, main)


def _mirrored_dual_model(synchronized):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        inputs = keras.Input((2,))
        layer = DualBatchNormalization(momentum=0.0, synchronized=synchronized, name="dual")
        model = keras.Model(inputs, layer(inputs))
    return strategy, model, layer


def _per_replica(strategy, *arrays):
    dataset = tf.data.Dataset.from_tensor_slices(arrays).batch(len(arrays[0]))
    return next(iter(strategy.experimental_distribute_dataset(dataset)))


@pytest.mark.parametrize("synchronized", [False, True])
def test_routing_is_private_to_each_replica_under_mirrored_strategy(synchronized):
    # Replicas run in threads that switch at all-reduces (synchronized batch norm): a context
    # entered by one replica must not reroute another replica's main-branch pass.
    strategy, model, layer = _mirrored_dual_model(synchronized)
    clean = np.repeat(np.arange(5.0, 9.0, dtype="float32")[:, None], 2, axis=1)
    adv = clean - 12.0

    @tf.function
    def step(c, a):
        def replica_fn(c, a):
            with use_auxiliary_bn(model):
                model(a, training=True)
            model(c, training=True)

        strategy.run(replica_fn, args=(c, a))

    step(*_per_replica(strategy, clean, adv))
    main, aux = (
        [v.numpy() for v in strategy.experimental_local_results(branch.moving_mean.value)]
        for branch in (layer.main_bn, layer.aux_bn)
    )
    if synchronized:  # global batch statistics on every replica
        expected_main, expected_aux = [[6.5] * 2] * 2, [[-5.5] * 2] * 2
    else:  # each replica keeps its own half-batch statistics
        expected_main, expected_aux = [[5.5] * 2, [7.5] * 2], [[-6.5] * 2, [-4.5] * 2]
    np.testing.assert_allclose(main, expected_main, rtol=1e-5)
    np.testing.assert_allclose(aux, expected_aux, rtol=1e-5)


def test_context_outside_strategy_run_reaches_every_replica():
    strategy, model, layer = _mirrored_dual_model(False)
    layer.main_bn.moving_mean.assign([1.0, 1.0])
    layer.aux_bn.moving_mean.assign([-1.0, -1.0])

    @tf.function
    def step(x):
        return strategy.run(lambda x: model(x, training=False), args=(x,))

    (x,) = _per_replica(strategy, np.zeros((4, 2), dtype="float32"))
    with use_auxiliary_bn(model):
        outputs = strategy.experimental_local_results(step(x))
    for out in outputs:
        np.testing.assert_allclose(out, np.ones((2, 2)), rtol=1e-3)


def test_routing_reaches_nested_models_and_layers():
    inner = keras.Sequential([keras.Input((4,)), DualBatchNormalization(name="inner_dual")])
    denoise = tfadv.layers.NonLocalDenoising(dual_bn=True, name="denoise")
    inputs = keras.Input((4, 4, 4))
    x = denoise(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outer = keras.Model(inputs, inner(x))
    layers = [inner.get_layer("inner_dual"), denoise.bn]
    with use_auxiliary_bn(outer):
        assert all(layer.use_auxiliary for layer in layers)
        with use_auxiliary_bn(outer):  # nesting restores the enclosing state
            pass
        assert all(layer.use_auxiliary for layer in layers)
    assert not any(layer.use_auxiliary for layer in layers)


def test_routing_restored_after_an_exception():
    model = _dual_model()
    with pytest.raises(RuntimeError), use_auxiliary_bn(model):
        raise RuntimeError("boom")
    assert model.get_layer("dual").use_auxiliary is False


def test_use_auxiliary_bn_rejects_a_model_without_dual_bn():
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
    with pytest.raises(ValueError, match="DualBatchNormalization"), use_auxiliary_bn(model):
        pass


def _bn_model():
    inner = keras.Sequential(
        [keras.Input((4, 4, 8)), keras.layers.BatchNormalization(name="inner_bn")], name="inner"
    )
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="bn")(x)
    x = keras.layers.ReLU()(x)
    x = inner(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(5)(x))


def _randomise_bn_statistics(model, rng):
    for layer in tfadv.layers._utils.iter_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            shapes = [w.shape for w in layer.get_weights()]
            layer.set_weights([rng.uniform(0.5, 1.5, size=s).astype("float32") for s in shapes])


def test_convert_to_dual_bn_preserves_outputs_and_copies_weights(rng):
    model = _bn_model()
    _randomise_bn_statistics(model, rng)
    dual = convert_to_dual_bn(model)

    assert dual is not model
    assert not any(
        type(layer) is keras.layers.BatchNormalization and layer.name in ("bn", "inner_bn")
        for layer in dual.layers
    )
    dual_layers = [
        layer
        for layer in tfadv.layers._utils.iter_layers(dual)
        if isinstance(layer, DualBatchNormalization)
    ]
    assert sorted(layer.name for layer in dual_layers) == ["bn", "inner_bn"]
    bn = dual.get_layer("bn")
    assert bn.momentum == 0.9 and bn.epsilon == 1e-5
    original_bn = model.get_layer("bn").get_weights()
    for branch in (bn.main_bn, bn.aux_bn):
        for got, want in zip(branch.get_weights(), original_bn, strict=True):
            np.testing.assert_array_equal(got, want)

    x = rng.uniform(size=(4, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(dual(x, training=False), model(x, training=False), atol=1e-6)
    with use_auxiliary_bn(dual):
        np.testing.assert_allclose(dual(x, training=False), model(x, training=False), atol=1e-6)
    # A training step updates the same statistics in the original and in the main branch.
    np.testing.assert_allclose(dual(x, training=True), model(x, training=True), atol=1e-5)
    np.testing.assert_allclose(dual(x, training=False), model(x, training=False), atol=1e-5)
    # The original model is untouched.
    assert isinstance(model.get_layer("bn"), keras.layers.BatchNormalization)


def test_convert_to_dual_bn_sequential(rng):
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(4), keras.layers.BatchNormalization()]
    )
    _randomise_bn_statistics(model, rng)
    dual = convert_to_dual_bn(model)
    assert isinstance(dual, keras.Sequential)
    assert isinstance(dual.layers[-1], DualBatchNormalization)
    x = rng.normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(dual(x), model(x), atol=1e-6)


def test_convert_to_dual_bn_converts_denoising_blocks(rng):
    inputs = keras.Input((4, 4, 6))
    block = tfadv.layers.NonLocalDenoising(name="denoise")
    model = keras.Model(inputs, block(inputs))
    _randomise_bn_statistics(model, rng)
    x = rng.normal(size=(2, 4, 4, 6)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dual = convert_to_dual_bn(model)
    converted = dual.get_layer("denoise")
    assert converted.dual_bn and isinstance(converted.bn, DualBatchNormalization)
    np.testing.assert_array_equal(converted.theta.get_weights()[0], block.theta.get_weights()[0])
    np.testing.assert_allclose(dual(x, training=False), model(x, training=False), atol=1e-5)


def test_convert_to_dual_bn_warns_about_unreachable_batch_norms():
    class Wrapper(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.bn = keras.layers.BatchNormalization()

        def call(self, x):
            return self.bn(x)

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Wrapper()(inputs))
    with pytest.warns(UserWarning, match="left these BatchNormalization"):
        convert_to_dual_bn(model)


def test_convert_to_dual_bn_rejects_subclassed_models():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.bn = keras.layers.BatchNormalization()

        def call(self, x):
            return self.bn(x)

    with pytest.raises(ValueError, match="Functional or Sequential"):
        convert_to_dual_bn(Net())


def test_config_and_keras_round_trip(tmp_path, rng):
    layer = DualBatchNormalization(momentum=0.9, epsilon=1e-5, center=False, name="dual")
    config = layer.get_config()
    assert config["momentum"] == 0.9 and config["epsilon"] == 1e-5 and config["center"] is False
    clone = DualBatchNormalization.from_config(config)
    assert clone.get_config() == config

    model = _dual_model()
    model(rng.normal(2.0, size=(64, 3)).astype("float32"), training=True)
    with use_auxiliary_bn(model):
        model(rng.normal(-2.0, size=(64, 3)).astype("float32"), training=True)
    path = str(tmp_path / "dual.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    original, restored = model.get_layer("dual"), loaded.get_layer("dual")
    for branch in ("main_bn", "aux_bn"):
        for got, want in zip(
            getattr(restored, branch).get_weights(),
            getattr(original, branch).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(got, want)
    assert not np.allclose(_moving_mean(restored.main_bn), _moving_mean(restored.aux_bn))
