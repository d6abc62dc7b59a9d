"""`search.space`: every bad entry is refused before any trial, in one line naming its path and
value; good entries become Keras Tuner hyperparameters and config values."""

import keras_tuner
import ml_collections
import pytest

from tfadv.experiment.schema import BY_PATH, base_config, method_config
from tfadv.tuning import TUNERS
from tfadv.tuning.space import Dimension, parse_space, with_values


def config_with(space):
    config = base_config()
    config.method = method_config("trades")
    with config.unlocked():
        config.search = ml_collections.ConfigDict(
            {"tuner": "grid", "max_trials": 2, "space": ml_collections.ConfigDict(space)}
        )
    config.lock()
    return config


@pytest.mark.parametrize(
    "key, spec, expected",
    [
        ("attack__epss", {"values": (0.1,)}, "names no config field"),
        ("attack", {"values": (0.1,)}, "names no config field"),  # a section
        ("workdir", {"values": ("a", "b")}, "names no config field"),
        ("attack__eps", {"value": (0.1,)}, "must be {'values'"),
        ("attack__eps", {"min": 0.1}, "must be {'values'"),
        ("attack__eps", {"values": ()}, "at least one value"),
        ("attack__eps", {"values": ("big",)}, "values of the field's type (float)"),
        ("attack__steps", {"values": (1.5,)}, "values of the field's type (int)"),
        ("attack__eps", {"values": (0.1, 0.1)}, "lists a value twice"),
        ("attack__norm", {"min": 1, "max": 2}, "is a str field"),
        ("attack__eps", {"min": 0.3, "max": 0.1}, "min < max"),
        ("attack__steps", {"min": 1, "max": 5.5}, "as ints"),
        ("optimizer__learning_rate", {"min": 0.0, "max": 0.1, "sampling": "log"}, "log scale"),
        ("attack__eps", {"min": 0.1, "max": 0.3, "sampling": "cubic"}, "'sampling' in"),
        ("attack__eps", {"min": 0.1, "max": 0.3, "step": 0.0}, "'step' > 0"),
        ("attack__eps", {"values": (-0.1, 0.2)}, "holds a value the run refuses"),
        ("method__knobs__beta", {"min": -1.0, "max": 6.0}, "holds a value the run refuses"),
    ],
)
def test_bad_space_entry_is_one_line_naming_path_and_value(key, spec, expected):
    path = key.replace("__", ".")
    with pytest.raises((ValueError, TypeError)) as info:
        parse_space(config_with({key: spec}))
    message = str(info.value)
    assert "\n" not in message
    assert expected in message
    assert f"`search.space.{path}`" in message
    assert f"Received: search.space.{path}={dict(sorted(spec.items()))!r}" in message


def test_empty_space_is_refused():
    with pytest.raises(ValueError, match="`search.space` is empty"):
        parse_space(config_with({}))


def test_space_becomes_hyperparameters_and_config_values():
    config = config_with(
        {
            "attack__eps": {"values": (0.1, 0.2)},
            "model__kwargs__width": {"min": 1, "max": 3},
            "optimizer__learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
            "method__knobs__beta": {"min": 1, "max": 6, "step": 2.5},  # ints for a float field
            "data__augment": {"values": (False, True)},
        }
    )
    dimensions = {d.path: d for d in parse_space(config)}
    assert dimensions["attack.eps"] == Dimension("attack.eps", float, values=(0.1, 0.2))
    assert dimensions["model.kwargs.width"] == Dimension("model.kwargs.width", int, min=1, max=3)
    assert dimensions["optimizer.learning_rate"].sampling == "log"
    hp = keras_tuner.HyperParameters()
    for dimension in dimensions.values():
        dimension.declare(hp)
    kinds = {p.name: type(p).__name__ for p in hp.space}
    assert kinds == {
        "attack.eps": "Choice",
        "model.kwargs.width": "Int",
        "optimizer.learning_rate": "Float",
        "method.knobs.beta": "Float",
        "data.augment": "Choice",
    }
    values = {path: d.value(hp.values) for path, d in dimensions.items()}
    assert values["data.augment"] is False  # Keras Tuner holds it as 0
    trial = with_values(config, {**values, "attack.eps": 0.2, "workdir": "out/trials/0"})
    assert (trial.attack.eps, trial.model.kwargs.width, trial.workdir) == (0.2, 1, "out/trials/0")
    assert "search" not in trial and "search" in config  # the trial is a plain run's config


def test_the_schema_lists_the_tuners_the_search_builds():
    assert tuple(TUNERS.names()) == tuple(BY_PATH["search.tuner"].choices)
