"""One front door per method, and the threat model the user gave (parametrised by the registry).

- A method's knobs are its constructor's arguments with the constructor's defaults: building it from
  its knobs with no values gives the same `get_config()` as calling the constructor with no values
  (the training attack aside, which the budget sets in both).
- Every method trains under the norm its budget names: for every method and every norm, the built
  training attack's norm and radius equal the budget's, or construction refuses, naming the method
  and the norm. Under l2 the training perturbations stay in the l2 ball.
"""

import keras
import numpy as np
import pytest

from tfadv.adv_model import AdvModel
from tfadv.attack_budget import AttackBudget
from tfadv.attacks.attack import Attack
from tfadv.attacks.threat_model import THREAT_MODELS
from tfadv.layers import DualBatchNormalization
from tfadv.methods import FAT, METHODS
from tfadv.utils.registry import Knob

SHAPE = (6, 6, 1)
NORMS = THREAT_MODELS.names()  # every registered norm


def _classifier(dual_bn=False):
    norm = DualBatchNormalization() if dual_bn else keras.layers.BatchNormalization()
    return keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Conv2D(3, 3), norm, keras.layers.Flatten()]
        + [keras.layers.Dense(3)]
    )


def _for(cls):
    return _classifier(dual_bn=bool(cls.builder_options.get("dual_bn")))


def _config(model):
    return _nameless(model.get_config())


def _nameless(value):
    # Keras numbers the names of models built in one process (`trades`, `trades_1`).
    if isinstance(value, dict):
        return {key: _nameless(item) for key, item in value.items() if key != "name"}
    return value


@pytest.mark.parametrize("name", METHODS.names())
def test_knob_defaults_are_the_constructors(name):
    cls = METHODS.get(name)
    classifier = _for(cls)
    from_knobs = cls.from_knobs(classifier)
    inner = getattr(from_knobs, "method", None)
    if isinstance(inner, AdvModel):  # a wrapper (AWP): the wrapped method is its budget part
        direct = cls(type(inner).from_knobs(classifier))
    else:
        # What the budget sets (the training attack, its seed), without any knob value.
        arguments = cls.knob_arguments(AttackBudget(), cls.resolve_knobs({}))
        budget_part = {key: value for key, value in arguments.items() if key not in cls.knobs}
        direct = cls(classifier, **budget_part)
    assert _config(from_knobs) == _config(direct)
    for knob_name, knob in cls.knobs.items():
        if knob_name in _config(direct):
            assert _config(direct)[knob_name] == _serialised(knob.default, direct, knob_name)


def _serialised(default, model, name):
    # A `None` default stands for the constructor's own choice (FAT's tau schedule, AWP's gamma).
    return _config(model)[name] if default is None else default


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", METHODS.names())
def test_training_attack_is_the_budgets(name, norm):
    cls = METHODS.get(name)
    budget = AttackBudget(eps=0.7 if norm == "l2" else 0.2, steps=3, seed=1, norm=norm)
    if norm not in cls.norms:
        with pytest.raises(ValueError, match=rf"{name}.*Received: attack.norm='{norm}'"):
            cls.from_knobs(_for(cls), budget=budget)
        return
    model = cls.from_knobs(_for(cls), budget=budget)
    attacks = model.training_attacks()
    assert all(isinstance(attack, Attack) for attack in attacks)
    if not attacks:  # trains on noisy copies (Gaussian augmentation): no attack, no budget
        return
    first = attacks[0]
    assert (first.norm, first.eps) == (norm, budget.eps)
    if hasattr(first, "steps"):
        assert first.steps == budget.steps


@pytest.mark.parametrize("name", ["trades", "mart", "fat", "fat_trades", "gairat", "gair_fat"])
def test_l2_training_perturbations_stay_in_the_l2_ball(name):
    cls = METHODS.get(name)
    eps = 0.5
    budget = AttackBudget(eps=eps, steps=5, step_size=0.4, seed=3, norm="l2")
    model = cls.from_knobs(_classifier(), budget=budget, **_never_stop(cls))
    x = np.random.default_rng(0).uniform(size=(8, *SHAPE)).astype("float32")
    y = np.arange(8) % 3
    adv = model.generate_adversarial(x, y, eps)
    delta = (np.asarray(adv.x_adv) - x).reshape(8, -1)
    l2 = np.linalg.norm(delta, axis=1)
    assert np.all(l2 <= eps + 1e-4), l2
    assert np.all(np.asarray(adv.x_adv) >= 0.0) and np.all(np.asarray(adv.x_adv) <= 1.0)
    # An l-inf attack at this radius would move most pixels by 0.4 or more (l2 far above 0.5).
    assert np.max(l2) > 0.25


def _never_stop(cls):
    return {"tau": 5} if "tau" in cls.knobs else {}


def test_mat_refuses_an_l2_budget_with_a_clear_message():
    with pytest.raises(ValueError, match=r"'mat'.*linf.*Received: attack.norm='l2'"):
        METHODS.get("mat").from_knobs(_classifier(), budget=AttackBudget(eps=2.0, norm="l2"))


def test_a_knob_declares_one_default():
    class Good(AdvModel):
        knobs = {"beta": Knob(float, help="weight", minimum=0.0)}

        def __init__(self, classifier, attack=None, *, beta=2.5, **kwargs):
            self.beta = beta
            super().__init__(classifier, attack, **kwargs)

    assert Good.knobs["beta"].default == 2.5
    with pytest.raises(TypeError, match=r"knob 'beta' is a constructor argument"):

        class Twice(AdvModel):
            knobs = {"beta": Knob(float, 1.0, "weight")}

            def __init__(self, classifier, attack=None, *, beta=2.5, **kwargs):
                super().__init__(classifier, attack, **kwargs)

    with pytest.raises(TypeError, match=r"knob 'gamma' declares no default"):

        class Missing(AdvModel):
            knobs = {"gamma": Knob(float, help="not an argument")}


def test_unknown_knob_is_refused_with_the_knob_list():
    with pytest.raises(ValueError, match=r"TRADES has no knob 'bta'.*\['beta'\].*Received: bta=1"):
        METHODS.get("trades").from_knobs(_classifier(), bta=1)


def test_fat_reads_configs_saved_with_the_former_argument_name():
    model = FAT(_classifier(), tau=2)
    config = model.get_config()
    config["tau_schedule"] = config.pop("tau")
    assert FAT.from_config(config).tau == 2
