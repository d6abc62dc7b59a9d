"""The compact CNN builder: shapes, parameter counts, options, errors, serialisation."""

import keras
import numpy as np
import pytest

import tfadv


@pytest.mark.parametrize(
    "kwargs, params",
    [({}, 421_642), ({"width": 2}, 1_682_954), ({"input_shape": (32, 32, 3)}, 545_098)],
)
def test_parameter_counts(kwargs, params):
    assert tfadv.models.compact_cnn(**kwargs).count_params() == params


def test_logits_out_and_options(tmp_path):
    model = tfadv.models.compact_cnn(num_classes=7, mean=[0.5], std=[0.25], pni=True)
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    out = model(x)
    assert out.shape == (3, 7) and out.dtype == "float32"
    assert any(isinstance(layer, tfadv.layers.NoisyConv2D) for layer in model.layers)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.count_params() == model.count_params()


@pytest.mark.parametrize(
    "kwargs, message", [({"width": 0}, "width=0"), ({"num_classes": 0}, "num_classes=0")]
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tfadv.models.compact_cnn(**kwargs)
