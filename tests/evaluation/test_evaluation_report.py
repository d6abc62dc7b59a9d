"""`evaluate` and `RobustnessReport`: worst case, sanity flags, EOT, JSON, errors."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
import tfadv.evaluation
from tests.evaluation.conftest import AlwaysNoise, RoundInputs

EPS = 0.1


@pytest.fixture(scope="module")
def plain_report(trained_cnn):
    model, x, y = trained_cnn
    return tfadv.evaluation.evaluate(
        model, (x[:64], y[:64]), eps=EPS, protocol="quick", check_examples=64, seed=0
    )


def test_plain_model_is_not_flagged(plain_report):
    assert plain_report.flagged == [], str(plain_report)
    names = [flag.name for flag in plain_report.flags]
    assert names == list(tfadv.evaluation.SANITY_CHECKS)
    assert all(flag.raised is False for flag in plain_report.flags)


def test_worst_case_no_higher_than_any_attack(plain_report):
    report = plain_report
    assert report.accuracy_kind == "individual"
    assert list(report.per_attack_accuracy) == ["PGD-20", "APGD-CE"]
    for accuracy in report.per_attack_accuracy.values():
        assert report.robust_accuracy <= accuracy
    assert report.robust_accuracy <= report.clean_accuracy
    assert report.robust_accuracy < report.clean_accuracy  # a plain model is not robust
    assert report.robust_mask.mean() == pytest.approx(report.robust_accuracy)
    assert report.n_examples == 64


def test_cascade_accuracies_are_cumulative(trained_cnn):
    model, x, y = trained_cnn
    protocol = tfadv.evaluation.Protocol(
        "mini-standard",
        "0.1",
        "a small AutoAttack-like cascade for tests",
        [
            ("APGD-CE", lambda eps, norm, seed, eot: tfadv.attacks.APGD(eps=eps, steps=10)),
            ("APGD-T", lambda eps, norm, seed, eot: tfadv.attacks.APGDT(eps=eps, steps=10,
                                                                        n_target_classes=3)),
            ("Square", lambda eps, norm, seed, eot: tfadv.attacks.Square(eps=eps, n_queries=50)),
        ],
        cascade=True,
    )  # fmt: skip
    report = tfadv.evaluation.evaluate(model, (x[:48], y[:48]), eps=EPS, protocol=protocol,
                                       checks=False)  # fmt: skip
    accuracies = list(report.per_attack_accuracy.values())
    assert report.accuracy_kind == "cumulative"
    assert accuracies == sorted(accuracies, reverse=True)
    assert report.robust_accuracy == accuracies[-1]
    attacked = [a["examples_attacked"] for a in report.attacks]
    assert attacked == sorted(attacked, reverse=True)  # later attacks see only robust examples
    assert report.protocol == "mini-standard" and report.protocol_version == "0.1"


def test_json_round_trip(plain_report, tmp_path):
    path = tmp_path / "report.json"
    text = plain_report.to_json(path)
    loaded = tfadv.evaluation.RobustnessReport.from_json(path)
    assert loaded == plain_report
    assert tfadv.evaluation.RobustnessReport.from_json(text) == plain_report
    data = json.loads(path.read_text())
    assert data["protocol"] == "quick" and data["protocol_version"] == "1.0"
    assert data["eps"] == EPS and data["norm"] == "linf" and data["n_examples"] == 64
    assert data["attacks"][0]["budget"].startswith("20 steps")
    assert data["attacks"][0]["config"]["steps"] == 20
    assert {f["name"] for f in data["flags"]} == set(tfadv.evaluation.SANITY_CHECKS)
    assert str(loaded) == str(plain_report)


def test_table_names_protocol_budgets_and_flags(plain_report):
    table = str(plain_report)
    for text in ("protocol 'quick' v1.0", "linf eps=0.1", "64 examples", "PGD-20", "APGD-CE",
                 "20 steps", "clean", "worst case", "zero_gradients", "individual"):  # fmt: skip
        assert text in table, table


def _masked(kind, model):
    if kind == "rounding":
        return keras.Sequential([keras.Input((28, 28, 1)), RoundInputs(), model])
    # A saturated head: logits x 1000 make the softmax one-hot and its gradient exactly zero.
    return keras.Sequential([keras.Input((28, 28, 1)), model, keras.layers.Rescaling(1000.0)])


@pytest.mark.parametrize("kind", ["rounding", "saturated"])
def test_gradient_masked_model_is_flagged(trained_cnn, kind):
    model, x, y = trained_cnn
    masked = _masked(kind, model)
    report = tfadv.evaluation.evaluate(
        masked, (x[:64], y[:64]), eps=EPS, protocol=[tfadv.attacks.PGD(eps=EPS, steps=5)],
        check_examples=64,
    )  # fmt: skip
    assert "zero_gradients" in report.flagged, str(report)
    assert report.flag("zero_gradients").raised
    assert "[FLAG] zero_gradients" in str(report)


def test_randomized_model_is_attacked_with_eot(trained_cnn):
    model, x, y = trained_cnn
    noisy = keras.Sequential([keras.Input((28, 28, 1)), AlwaysNoise(0.05), model])
    report = tfadv.evaluation.evaluate(
        noisy, (x[:24], y[:24]), eps=EPS, protocol="quick", eot_iter=2, checks=False
    )
    assert report.randomized and report.eot_iter == 2 and report.votes == 10
    assert report.variant == "rand"
    assert report.flag("randomized_model").raised
    assert list(report.per_attack_accuracy) == ["APGD-CE", "APGD-DLR"]
    assert all(a["config"]["eot_iter"] == 2 for a in report.attacks)
    assert all("EOT 2" in budget for budget in report.budgets.values())
    assert "EOT over 2 gradient samples" in str(report)


def test_probabilities_are_flagged_and_attacked_as_log_probabilities(trained_cnn):
    model, x, y = trained_cnn
    softmax = keras.Sequential([keras.Input((28, 28, 1)), model, keras.layers.Softmax()])
    report = tfadv.evaluation.evaluate(
        softmax, (x[:32], y[:32]), eps=EPS, protocol=[tfadv.attacks.PGD(eps=EPS, steps=3)],
        checks=False,
    )  # fmt: skip
    assert report.flagged == ["probabilities_not_logits"]
    assert report.robust_accuracy < report.clean_accuracy


def test_adv_model_and_dataset_inputs(trained_cnn):
    model, x, y = trained_cnn
    adv_model = tfadv.AdvModel(model, attack=tfadv.attacks.FGSM(eps=EPS))
    dataset = tf.data.Dataset.from_tensor_slices((x[:40], y[:40])).batch(16)
    attack = tfadv.attacks.PGD(eps=EPS, steps=3, seed=0)
    from_dataset = tfadv.evaluation.evaluate(adv_model, dataset, eps=EPS, protocol=[attack],
                                             checks=False)  # fmt: skip
    from_arrays = tfadv.evaluation.evaluate(model, (x[:40], y[:40]), eps=EPS, protocol=[attack],
                                            checks=False)  # fmt: skip
    assert from_dataset.n_examples == 40
    assert from_dataset.clean_accuracy == from_arrays.clean_accuracy
    assert from_dataset.robust_accuracy == from_arrays.robust_accuracy
    assert from_dataset.protocol == "custom" and from_dataset.protocol_version is None


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    x = np.random.default_rng(0).random((8, 4, 4, 1)).astype("float32")
    return model, x, np.arange(8) % 3


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"eps": -1}, ValueError, "eps=-1"),
        ({"norm": "l3"}, ValueError, "norm='l3'"),
        ({"protocol": "strong"}, ValueError, "protocol='strong'"),
        ({"protocol": []}, ValueError, "protocol=[]"),
        ({"protocol": ["PGD"]}, TypeError, "item 'PGD'"),
        ({"batch_size": 0}, ValueError, "batch_size=0"),
        ({"eot_iter": 0}, ValueError, "eot_iter=0"),
        ({"check_examples": 0}, ValueError, "check_examples=0"),
        ({"randomized": "yes"}, TypeError, "randomized='yes'"),
        ({"verbose": 2}, ValueError, "verbose=2"),
        ({"protocol": [tfadv.attacks.PGD(norm="l2")]}, ValueError, "norm='l2'"),
    ],
)
def test_bad_arguments_quote_the_received_value(tiny, kwargs, error, message):
    model, x, y = tiny
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
        tfadv.evaluation.evaluate(model, (x, y), **{"checks": False, **kwargs})


def test_bad_data_quotes_the_received_value(tiny):
    model, x, y = tiny
    with pytest.raises(TypeError, match="data of type str"):
        tfadv.evaluation.evaluate(model, "mnist")
    with pytest.raises(ValueError, match=r"\[0, 1\].*Received: x="):
        tfadv.evaluation.evaluate(model, (x * 255, y))
    with pytest.raises(ValueError, match="max=7"):
        tfadv.evaluation.evaluate(model, (x, np.arange(8)), checks=False)
    with pytest.raises(ValueError, match="len\\(x\\)=8, len\\(y\\)=3"):
        tfadv.evaluation.evaluate(model, (x, y[:3]))
