"""Model builders: output shapes, exact parameter counts, argument validation, normalisation."""

import keras
import numpy as np
import pytest

import tfadv
from tfadv import models
from tfadv.models.wide_resnet import _blocks_per_stage


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# name -> (builder, kwargs, input shape, trainable, count_params()). Build only: no training.
PARAMETER_COUNTS = {
    # Reference sizes (the papers' and reference codes' numbers).
    "small_cnn": (models.small_cnn, {}, (28, 28, 1), 312_202, 312_202),
    "madry_cnn": (models.madry_cnn, {}, (28, 28, 1), 3_274_634, 3_274_634),
    "resnet20": (models.resnet, {"depth": 20}, (32, 32, 3), 269_722, 271_098),
    "resnet56": (models.resnet, {"depth": 56}, (32, 32, 3), 853_018, 857_082),
    "resnet110": (models.resnet, {"depth": 110}, (32, 32, 3), 1_727_962, 1_736_058),
    "wrn28_10": (
        models.wide_resnet,
        {"depth": 28, "width": 10},
        (32, 32, 3),
        36_479_194,
        36_497_146,
    ),
    "wrn34_10": (
        models.wide_resnet,
        {"depth": 34, "width": 10},
        (32, 32, 3),
        46_160_474,
        46_182_906,
    ),
    "preact_resnet18": (models.preact_resnet18, {}, (32, 32, 3), 11_172_170, 11_179_978),
    "vgg11": (models.vgg11, {}, (32, 32, 3), 9_231_114, 9_236_618),
    # Small sizes.
    "small_cnn_cifar": (
        models.small_cnn,
        {"input_shape": (32, 32, 3)},
        (32, 32, 3),
        427_978,
        427_978,
    ),
    "madry_cnn_cifar": (
        models.madry_cnn,
        {"input_shape": (32, 32, 3)},
        (32, 32, 3),
        4_259_274,
        4_259_274,
    ),
    "resnet8": (models.resnet, {"depth": 8}, (32, 32, 3), 75_290, 75_770),
    "resnet20_projection": (
        models.resnet,
        {"depth": 20, "shortcut": "projection"},
        (32, 32, 3),
        272_474,
        274_042,
    ),
    "wrn10_1": (models.wide_resnet, {"depth": 10, "width": 1}, (32, 32, 3), 77_850, 78_330),
    "wrn16_2": (models.wide_resnet, {"depth": 16, "width": 2}, (32, 32, 3), 691_674, 693_498),
    "preact_resnet18_w8": (models.preact_resnet18, {"width": 8}, (32, 32, 3), 176_178, 177_154),
    "vgg11_w8": (models.vgg11, {"width": 8}, (32, 32, 3), 145_898, 146_586),
}


# Building the largest reference models takes seconds each: the slow tier (`-m slow`).
LARGE = ("resnet56", "resnet110", "wrn28_10", "wrn34_10")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n in LARGE else n
        for n in sorted(PARAMETER_COUNTS)
    ],
)
def test_parameter_counts(name):
    builder, kwargs, input_shape, trainable, total = PARAMETER_COUNTS[name]
    model = builder(**kwargs)
    assert model.input_shape == (None, *input_shape)
    assert model.output_shape == (None, 10)
    assert _trainable(model) == trainable
    assert model.count_params() == total


def test_wrn_32_10_is_madrys_counting_of_wrn_34_10():
    # Madry et al., FAT and GAIRAT count depth as 6n + 2: WRN-32-10 has WRN-34-10's 5 blocks per
    # stage (building it again would only repeat the WRN-34-10 count above).
    assert _blocks_per_stage(32) == _blocks_per_stage(34) == 5
    assert _blocks_per_stage(28) == 4 and _blocks_per_stage(10) == 1
    model = models.wide_resnet(32, 1)
    assert len([w for w in model.weights if w.path.endswith("conv2/kernel")]) == 15
    assert _trainable(model) == _trainable(models.wide_resnet(34, 1))


# Tiny members of every family, run forward.
TINY = {
    "small_cnn": lambda **kw: models.small_cnn(**kw),
    "madry_cnn": lambda **kw: models.madry_cnn(**kw),
    "resnet8": lambda **kw: models.resnet(8, **kw),
    "wrn10_1": lambda **kw: models.wide_resnet(10, 1, **kw),
    "preact_resnet18_w4": lambda **kw: models.preact_resnet18(width=4, **kw),
    "vgg11_w4": lambda **kw: models.vgg11(width=4, **kw),
}


def _images(model, batch=2):
    shape = model.input_shape[1:]
    return np.random.default_rng(0).uniform(size=(batch, *shape)).astype("float32")


@pytest.mark.parametrize("name", sorted(TINY))
def test_forward_outputs_float32_logits(name):
    model = TINY[name](num_classes=7)
    x = _images(model, batch=3)
    for training in (False, True):
        logits = model(x, training=training)
        assert logits.shape == (3, 7)
        assert logits.dtype == "float32"
    assert model.layers[-1].name == "logits"
    assert not any(
        getattr(layer, "activation", None) is keras.activations.softmax for layer in model.layers
    )


def test_other_input_shapes():
    assert models.resnet(8, input_shape=(64, 48, 1)).output_shape == (None, 10)
    assert models.wide_resnet(10, 1, input_shape=(None, None, 3))(
        np.zeros((1, 20, 24, 3))
    ).shape == (
        1,
        10,
    )
    assert models.preact_resnet18(width=2, input_shape=(16, 16, 3)).output_shape == (None, 10)
    assert models.vgg11(width=2, input_shape=(64, 64, 3), num_classes=3).output_shape == (None, 3)


@pytest.mark.parametrize("name", ["small_cnn", "resnet8"])  # one and three channels
def test_in_model_normalisation(name):
    channels = TINY[name]().input_shape[-1]
    mean = [0.3, 0.5, 0.4][:channels]
    std = [0.2, 0.25, 0.3][:channels]
    keras.utils.set_random_seed(1)
    normalised = TINY[name](mean=mean, std=std)
    keras.utils.set_random_seed(1)
    plain = TINY[name]()
    plain.set_weights(normalised.get_weights())  # Normalization holds no weights
    assert normalised.get_layer("normalization") is not None
    x = _images(plain)
    expected = plain((x - np.array(mean)) / np.array(std), training=False)
    np.testing.assert_allclose(normalised(x, training=False), expected, rtol=1e-4, atol=1e-4)


def test_normalisation_with_scalar_or_single_statistic():
    model = models.resnet(8, mean=0.5)
    layer = model.get_layer("normalization")
    np.testing.assert_allclose(np.ravel(layer.mean), [0.5, 0.5, 0.5])
    np.testing.assert_allclose(np.ravel(layer.variance), [1.0, 1.0, 1.0])


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: models.resnet(7), ValueError, "Received: depth=7"),
        (lambda: models.resnet(21), ValueError, "Received: depth=21"),
        (lambda: models.resnet(20.5), ValueError, "Received: depth=20.5"),
        (lambda: models.resnet(20, shortcut="B"), ValueError, "Received: shortcut='B'"),
        (lambda: models.wide_resnet(30, 10), ValueError, "Received: depth=30"),
        (lambda: models.wide_resnet(28, 0), ValueError, "Received: width=0"),
        (lambda: models.wide_resnet(28, 10, dropout_rate=1.0), ValueError, "dropout_rate=1.0"),
        (lambda: models.small_cnn(num_classes=0), ValueError, "Received: num_classes=0"),
        (lambda: models.small_cnn(input_shape=(28, 28)), ValueError, "Received: input_shape="),
        (lambda: models.small_cnn(input_shape=(8, 8, 1)), ValueError, "at least 16x16"),
        (lambda: models.vgg11(input_shape=(28, 28, 1)), ValueError, "at least 32x32"),
        (lambda: models.resnet(8, mean=[0.1, 0.2]), ValueError, r"Received: mean=\[0.1, 0.2\]"),
        (lambda: models.resnet(8, std=0.0), ValueError, "Received: std=0.0"),
        (lambda: models.resnet(8, noise_stddev=-1), ValueError, "Received: noise_stddev=-1"),
        (lambda: models.resnet(8, pni_alpha_shape="x"), ValueError, "pni_alpha_shape='x'"),
        (lambda: models.resnet(8, dual_bn=1), TypeError, "Received: dual_bn=1"),
        (lambda: models.resnet(8, denoise_blocks="all"), ValueError, "needs `denoise=True`"),
        (
            lambda: models.resnet(8, denoise=True, denoise_blocks=(3,)),
            ValueError,
            r"Received: denoise_blocks=\(3,\)",
        ),
        (
            lambda: models.wide_resnet(10, 1, denoise=True, denoise_blocks="some"),
            ValueError,
            "Received: denoise_blocks='some'",
        ),
    ],
)
def test_invalid_arguments(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_hyperparameters_are_keyword_only():
    with pytest.raises(TypeError):
        models.resnet(20, (32, 32, 3))
    with pytest.raises(TypeError):
        models.wide_resnet(28, 10, (32, 32, 3))
    with pytest.raises(TypeError):
        models.small_cnn((28, 28, 1))


def test_public_api():
    assert set(models.__all__) == {
        "compact_cnn",
        "small_cnn",
        "madry_cnn",
        "resnet",
        "preact_resnet18",
        "wide_resnet",
        "vgg11",
    }
    assert tfadv.models.resnet is models.resnet
