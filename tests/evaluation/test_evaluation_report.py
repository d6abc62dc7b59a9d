"""`evaluate` and `RobustnessReport`: worst case, sanity flags, EOT, JSON, errors."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
import tfadv.evaluation
from tests.evaluation.conftest import AlwaysNoise, RoundInputs, StopInputGradient
from tfadv.evaluation import _utils, adaptive_checks

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
    no_surrogate = plain_report.flag("transfer_beats_protocol")
    assert no_surrogate.raised is None and "surrogate" in no_surrogate.detail
    assert all(flag.raised is False for flag in plain_report.flags if flag is not no_surrogate)


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
    assert data["protocol"] == "quick" and data["protocol_version"] == "1.1"
    assert data["eps"] == EPS and data["norm"] == "linf" and data["n_examples"] == 64
    assert data["attacks"][0]["budget"].startswith("20 steps")
    assert data["attacks"][0]["config"]["steps"] == 20
    assert {f["name"] for f in data["flags"]} == set(tfadv.evaluation.SANITY_CHECKS)
    assert str(loaded) == str(plain_report)
    np.testing.assert_array_equal(loaded.robust_mask, plain_report.robust_mask)
    assert data["summary"] == {
        "clean_acc": round(100 * plain_report.clean_accuracy, 2),
        "autoattack_acc": round(100 * plain_report.robust_accuracy, 2),
        "eps": EPS,
        "norm": "Linf",
        "n_examples": 64,
        "protocol": "quick",
        "protocol_version": "1.1",
        "variant": "default",
    }


def test_per_example_results_name_the_breaking_attack_and_its_norm(plain_report, trained_cnn):
    _, _, y = trained_cnn
    per = plain_report.per_example
    assert per["label"] == [int(v) for v in y[:64]]
    broken = [b is not None for b in per["broken_by"]]
    for correct, by, size in zip(per["clean_correct"], per["broken_by"],
                                 per["perturbation_norm"], strict=True):  # fmt: skip
        assert (by is None) == (size is None)
        if by is not None:
            assert correct and by in ("PGD-20", "APGD-CE") and 0.0 < size <= EPS + 1e-6
    robust = np.array(per["clean_correct"]) & ~np.array(broken)
    assert robust.mean() == pytest.approx(plain_report.robust_accuracy)
    assert sum(plain_report.broken_by.values()) == sum(broken)
    assert np.sum(per["clean_correct"]) / 64 == pytest.approx(plain_report.clean_accuracy)


def test_table_names_protocol_budgets_and_flags(plain_report):
    table = str(plain_report)
    for text in ("protocol 'quick' v1.1", "linf eps=0.1", "64 examples", "PGD-20", "APGD-CE",
                 "20 steps", "clean", "worst case", "zero_gradients", "individual"):  # fmt: skip
        assert text in table, table


def _masked(kind, model):
    if kind == "rounding":
        return keras.Sequential([keras.Input((28, 28, 1)), RoundInputs(), model])
    # A saturated head: logits x 1000 make the softmax one-hot and its gradient exactly zero.
    return keras.Sequential([keras.Input((28, 28, 1)), model, keras.layers.Rescaling(1000.0)])


@pytest.mark.parametrize(
    "kind", [pytest.param("rounding", marks=pytest.mark.slow), "saturated"]
)  # one masking in the default tier, both with -m slow
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
    if kind == "saturated":  # logit scaling (GAIRAT's failure): PGD on logits / T undoes it
        assert "scaled_logits_beat_protocol" in report.flagged, str(report)


def test_transfer_from_a_surrogate_beats_a_protocol_blind_to_gradients(trained_cnn):
    model, x, y = trained_cnn
    blind = keras.Sequential([keras.Input((28, 28, 1)), StopInputGradient(), model])
    xs, ys = x[:32], y[:32]
    predictor = _utils.Predictor(blind, 32)
    robust = predictor.correct(xs, ys)  # as if the protocol had broken nothing
    common = dict(eps=EPS, norm="linf", seed=0)
    flag = adaptive_checks.transfer_check(model, predictor, xs, ys, robust, **common)
    assert flag.name == "transfer_beats_protocol" and flag.raised, flag
    # PGD on scaled logits still sees no gradient: only the transfer attack finds the weakness.
    assert not adaptive_checks.scaled_logits_check(
        blind, predictor, xs, ys, robust, **common
    ).raised
    none = adaptive_checks.transfer_check(None, predictor, xs, ys, robust, **common)
    assert none.raised is None


@pytest.mark.slow
def test_trained_surrogate_imitates_the_target(trained_cnn):
    model, x, _ = trained_cnn
    predictor = _utils.Predictor(model, 128)
    surrogate = adaptive_checks.train_surrogate(predictor, x, epochs=10)
    agreement = np.mean(surrogate.predict(x, verbose=0).argmax(1) == predictor.predictions(x))
    assert agreement > 0.8, agreement


def test_randomized_model_is_attacked_with_eot(trained_cnn):
    model, x, y = trained_cnn
    noisy = keras.Sequential([keras.Input((28, 28, 1)), AlwaysNoise(0.05), model])
    report = tfadv.evaluation.evaluate(
        noisy, (x[:24], y[:24]), eps=EPS, protocol="rand", eot_iter=2, checks=False
    )
    assert report.randomized and report.eot_iter == 2 and report.smoothed is None
    assert report.protocol == "rand" and report.variant == "default"
    flag = report.flag("randomized_model")
    assert flag.raised and "averaged 2 gradient samples" in flag.explanation
    assert list(report.per_attack_accuracy) == ["APGD-CE", "APGD-DLR"]
    assert all(a["config"]["eot_iter"] == 2 for a in report.attacks)
    assert all("EOT 2" in budget for budget in report.budgets.values())
    assert "averaged 2 gradient samples per step (EOT)" in str(report)


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
    with pytest.raises(ValueError, match=r"same number.*x with shape \(8, .*y with shape \(3,\)"):
        tfadv.evaluation.evaluate(model, (x, y[:3]))


def test_predictor_traces_once_for_every_batch_size(trained_cnn):
    """The evaluation's batched predictions: batches of any size (the last one, the examples left
    after an attack) reuse one trace, and agree with the model's own predictions."""
    model, x, _ = trained_cnn
    traces = []

    def counting(images, training=False):
        traces.append(images.shape.as_list())
        return model(images, training=training)

    predictor = _utils.Predictor(counting, 7)
    for n in (20, 13, 7, 1):
        np.testing.assert_allclose(
            predictor.logits(x[:n]), model.predict(x[:n], verbose=0), rtol=1e-5, atol=1e-5
        )
    assert traces == [[None, 28, 28, 1]]
