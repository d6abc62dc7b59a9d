"""`SearchSpace` validation and serialisation, the objective, and what `AdvHyperModel` builds."""

import json

import keras_tuner
import pytest

import tfadv
import tfadv.tuning
from tfadv.tuning import AdvHyperModel, SearchSpace


# ----------------------------------------------------------------------------------- bad spaces
@pytest.mark.parametrize(
    "knobs, kwargs, match",
    [
        ({"eps": {"min": 0.4, "max": 0.1}}, {}, r"empty range.*Received: eps=\{'min': 0.4"),
        ({"eps": {"min": 0.3, "max": 0.3}}, {}, r"one-point range.*Received: eps="),
        ({"eps": {"values": []}}, {}, r"empty choice.*Received: eps=\{'values': \[\]\}"),
        ({"beta": 6.0}, {}, r"Unknown knob for method 'pgdat'.*Received: beta=6.0"),
        ({"tau": 2}, {"method": "trades"}, r"Unknown knob for method 'trades'.*Received: tau=2"),
        ({}, {"method": "magic"}, r"Unknown method.*Received: method='magic'"),
        ({}, {"model": "no_such_net"}, r"Unknown model builder.*Received: model='no_such_net'"),
        ({"depth": 20}, {}, r"'compact_cnn' has no `depth`.*Received: depth=20"),
        ({"width": 2}, {"model": "small_cnn"}, r"no `width`.*Received: width=2"),
        ({"eps": -0.1}, {}, r"Received: eps=-0.1"),
        ({"eps": {"values": [0.1, -0.2]}}, {}, r"Received: eps=-0.2"),
        ({"clean_weight": 1.5}, {"method": "alp"}, r"Received: clean_weight=1.5"),
        ({"width": 1.5}, {}, r"integer.*Received: width=1.5"),
        ({"noise_stddev": {"min": 0.0, "max": 0.1, "sampling": "log"}}, {}, r"log scale"),
        ({"eps": {"low": 0.1, "high": 0.3}}, {}, r"Received: eps=\{'low'"),
        ({"eps": {"values": [0.1, 0.1]}}, {}, r"twice"),
        ({"pni": {"min": 0, "max": 1}}, {}, r"bool"),
    ],
)
def test_bad_spaces_raise_and_quote_the_value(knobs, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SearchSpace(knobs, **kwargs)


def test_method_names_and_knobs():
    assert SearchSpace(method="TRADES").method == "trades"
    assert SearchSpace(method="FastAT").method == "fast_at"
    assert set(SearchSpace.available_knobs("gairat")) >= {"eps", "lambda_", "begin_epoch"}
    assert "depth" in SearchSpace.available_knobs("pgdat", "wide_resnet")
    assert "width" not in SearchSpace.available_knobs("pgdat", "resnet")
    for method, knobs in tfadv.tuning.METHOD_KNOBS.items():  # every method's knobs are accepted
        model = "resnet" if method == "advprop" else "compact_cnn"
        values = {name: knob.default for name, knob in knobs.items() if knob.default is not None}
        SearchSpace(values, method=method, model=model)


def test_space_round_trips_and_declares_hyperparameters(tmp_path):
    space = SearchSpace(
        {
            "eps": {"values": [0.1, 0.3]},
            "beta": {"min": 0.5, "max": 6.0, "step": 0.5},
            "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
            "width": {"min": 1, "max": 2},
            "pni": {"values": [False, True]},
            "noise_stddev": 0.1,
        },
        method="trades",
    )
    assert SearchSpace.from_config(json.loads(json.dumps(space.get_config()))) == space
    assert SearchSpace.from_json(space.to_json(tmp_path / "space.json")) == space
    assert SearchSpace.from_json(str(tmp_path / "space.json")) == space
    hp = keras_tuner.HyperParameters()
    space.declare(hp)
    assert set(hp.values) == {"eps", "beta", "learning_rate", "width", "pni", "noise_stddev"}
    values = space.values(hp)
    assert values["noise_stddev"] == 0.1 and values["eps"] in (0.1, 0.3)
    assert 0.5 <= values["beta"] <= 6.0 and "depth" not in values  # compact_cnn has none
    defaults = SearchSpace().values()
    assert defaults["eps"] == 0.3 and defaults["learning_rate"] == 1e-3 and not defaults["pni"]


# ------------------------------------------------------------------------------------ objective
def test_objective_resolves():
    robust = tfadv.tuning.get_objective()
    assert (robust.name, robust.direction) == ("val_robust_accuracy", "max")
    weighted = tfadv.tuning.get_objective(0.25)
    assert (weighted.name, weighted.direction) == ("val_weighted_accuracy", "max")
    assert AdvHyperModel().objective.name == "val_robust_accuracy"
    assert AdvHyperModel(objective_clean_weight=0.5).objective.name == "val_weighted_accuracy"
    with pytest.raises(ValueError, match="Received: clean_weight=1.2"):
        tfadv.tuning.get_objective(1.2)


def test_weighted_accuracy_callback_writes_the_mix():
    callback = tfadv.tuning.WeightedAccuracy(clean_weight=0.25)
    logs = {"val_robust_accuracy": 0.4, "val_clean_accuracy": 0.8}
    callback.on_epoch_end(0, logs)
    assert logs["val_weighted_accuracy"] == pytest.approx(0.25 * 0.8 + 0.75 * 0.4)
    untouched = {"loss": 1.0}
    callback.on_epoch_end(0, untouched)
    assert "val_weighted_accuracy" not in untouched


# ------------------------------------------------------------------------------ the hypermodel
@pytest.mark.parametrize(
    "method, knobs, cls, attribute, expected",
    [
        ("pgdat", {"eps": 0.2}, "PGDAT", None, None),
        ("fast_at", {"alpha_ratio": 1.0}, "FastAT", "alpha_ratio", 1.0),
        ("trades", {"beta": 3.0}, "TRADES", "beta", 3.0),
        ("fat", {"tau": 2}, "FAT", "tau_schedule", 2),
        ("gairat", {"lambda_": 0.5, "begin_epoch": 1}, "GAIRAT", "begin_epoch", 1),
        ("alp", {"lambda_": 0.1}, "ALP", "lambda_", 0.1),
        ("clean_adv_mix", {"clean_weight": 0.3}, "CleanAdvMix", "clean_weight", 0.3),
        ("mat", {"l2_eps": 1.5}, "MAT", None, None),
        ("fat_trades", {"beta": 2.0, "tau": 1}, "FATTRADES", "beta", 2.0),
        ("gair_fat", {"tau": 1, "lambda_": -1.0}, "GAIRFAT", "tau_schedule", 1),
    ],
)
def test_build_makes_the_method_with_its_knobs(method, knobs, cls, attribute, expected):
    hypermodel = AdvHyperModel(SearchSpace(knobs, method=method), attack_steps=3)
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert type(model) is getattr(tfadv.methods, cls)
    assert model.optimizer is not None and model.optimizer.built
    if attribute is not None:
        assert getattr(model, attribute) == expected
    eps = knobs.get("eps", 0.3)
    assert model.attack.eps == pytest.approx(eps)
    assert model.eps_schedule.end == pytest.approx(eps)  # the warm-up ends at the trial's eps


def test_build_applies_model_knobs():
    space = SearchSpace({"width": 2, "noise_stddev": 0.1, "learning_rate": 0.01})
    model = AdvHyperModel(space, ramp_epochs=0).build(keras_tuner.HyperParameters())
    reference = tfadv.models.compact_cnn(width=2, noise_stddev=0.1)
    assert model.classifier.count_params() == reference.count_params()
    assert any(
        isinstance(layer, tfadv.layers.GaussianNoiseInjection) for layer in model.classifier.layers
    )
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert model.eps_schedule is None


def test_hypermodel_config_round_trip_and_errors():
    hypermodel = AdvHyperModel(
        SearchSpace({"eps": {"values": [0.1, 0.2]}}), eval_eps=0.2, eval_limit=100
    )
    config = json.loads(json.dumps(hypermodel.get_config()))
    assert AdvHyperModel.from_config(config).get_config() == config
    custom = AdvHyperModel(eval_protocol=[tfadv.attacks.PGD(eps=0.1, steps=2)])
    assert AdvHyperModel.from_config(custom.get_config()).eval_protocol[0].steps == 2
    with pytest.raises(ValueError, match="Received: eval_eps=-1"):
        AdvHyperModel(eval_eps=-1)
    with pytest.raises(ValueError, match="Received: protocol='nope'"):
        AdvHyperModel(eval_protocol="nope")
    with pytest.raises(TypeError, match="Received: space="):
        AdvHyperModel(space=[1, 2])
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    with pytest.raises(ValueError, match="Received: validation_data=None"):
        hypermodel.fit(hp, model, None, None, epochs=1)


def test_every_registered_method_is_reachable_from_tuning():
    import tfadv.methods

    for name, method in tfadv.methods.METHODS.items():
        model = "resnet" if method.builder_options.get("dual_bn") else "compact_cnn"
        space = SearchSpace({"eps": 0.1}, method=name, model=model)
        hypermodel = AdvHyperModel(space, input_shape=(8, 8, 1), num_classes=3, attack_steps=1)
        built = hypermodel.build(keras_tuner.HyperParameters())
        assert isinstance(built, method)
    with pytest.raises(
        ValueError, match=r"needs a model builder with `dual_bn`.*model='compact_cnn'"
    ):
        SearchSpace(method="advprop", model="compact_cnn")
