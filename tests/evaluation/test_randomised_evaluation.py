"""Randomised models scored as AutoAttack scores them: one draw decides, no switch, no compaction.

The model of issue 35: a fixed 2-class linear model whose clean logit margin is 0.742 towards the
label on every input, plus unit Gaussian noise on each logit (`GaussianNoiseInjection(1.0)` after
the logits). One draw is right with probability `Phi(0.742 / sqrt(2)) = 0.700`; a majority of 10
draws is right far more often.
"""

import numpy as np
import pytest

import tfadv
import tfadv.evaluation
from tests.backends.test_evaluation_any_backend import _grey, _grey_linear
from tfadv.evaluation import _utils, sanity_checks


def _linear(noise):
    """Logits `[0, a * (mean(x) - 0.5)]`: margin 0.742 on the grey images of `_grey`."""
    return _grey_linear(tfadv.layers.GaussianNoiseInjection(1.0, seed=7) if noise else None)


@pytest.fixture(scope="module")
def noisy():
    return _linear(noise=True)


@pytest.fixture(scope="module")
def eot_apgd():
    """One APGD with EOT for the module (compiled once per model)."""
    return tfadv.attacks.APGD(eps=0.05, steps=5, eot_iter=2, seed=0)


def _rand(model, n, **kwargs):
    x, y = _grey(n)
    options = dict(eps=0.01, protocol="rand", eot_iter=2, batch_size=n, checks=False)
    return tfadv.evaluation.evaluate(model, (x, y), **{**options, **kwargs})


def test_clean_accuracy_is_one_draw_not_a_vote(noisy):
    report = _rand(noisy, 2000)
    assert report.randomized and report.protocol == "rand"
    assert abs(report.clean_accuracy - 0.700) < 0.04, report.clean_accuracy  # 4 standard errors
    assert report.robust_accuracy <= report.clean_accuracy
    text = str(report)
    assert "one forward pass per example, as AutoAttack counts it" in text
    assert "averaged 2 gradient samples per step (EOT)" in text
    assert "majority vote" not in text and report.smoothed is None
    assert report.to_dict()["smoothed"] is None and "smoothed prediction" not in text


def test_draws_are_keyed_by_the_seed(noisy, eot_apgd):
    first, again = _rand(noisy, 200, protocol=[eot_apgd]), _rand(noisy, 200, protocol=[eot_apgd])
    other = _rand(noisy, 200, protocol=[eot_apgd], seed=1)
    assert first.per_example == again.per_example
    assert first.per_example["clean_correct"] != other.per_example["clean_correct"]


def test_smoothed_line_only_when_asked_and_never_the_headline(noisy, eot_apgd):
    plain = _rand(noisy, 400, protocol=[eot_apgd])
    report = _rand(noisy, 400, protocol=[eot_apgd], smoothed_draws=10)
    # The headline is the same one-draw evaluation, with or without the vote beside it.
    assert (report.clean_accuracy, report.robust_accuracy) == (
        plain.clean_accuracy,
        plain.robust_accuracy,
    )
    assert report.per_example == plain.per_example and report.summary == plain.summary
    smoothed = report.smoothed
    assert smoothed.draws == 10 and smoothed.clean_accuracy > 0.8 > report.clean_accuracy
    assert smoothed.robust_accuracy <= smoothed.clean_accuracy
    line = (
        f"smoothed prediction, 10 draws: clean {smoothed.clean_accuracy:.2%}, "
        f"robust {smoothed.robust_accuracy:.2%}"
    )
    assert line in str(report)
    data = report.to_dict()
    assert data["smoothed"] == {
        "draws": 10,
        "clean_accuracy": smoothed.clean_accuracy,
        "robust_accuracy": smoothed.robust_accuracy,
    }
    assert data["summary"]["clean_acc"] == round(100 * report.clean_accuracy, 2)
    assert tfadv.evaluation.RobustnessReport.from_json(report.to_json()) == report


def test_smoothed_draws_is_checked(noisy):
    x, y = _grey(4)
    with pytest.raises(ValueError, match="smoothed_draws=0"):
        tfadv.evaluation.evaluate(noisy, (x, y), smoothed_draws=0, checks=False)


def test_standard_runs_what_was_asked_and_advises_rand(noisy):
    x, y = _grey(8)
    report = tfadv.evaluation.evaluate(noisy, (x, y), eps=0.01, protocol="standard", checks=False)
    assert report.protocol == "standard" and report.variant == "default"
    assert report.summary["protocol"] == "standard"
    assert list(report.per_attack_accuracy) == ["APGD-CE", "APGD-T", "FAB-T", "Square"]
    assert report.eot_iter == 1 and all("EOT" not in budget for budget in report.budgets.values())
    # Every APGD example ran its whole budget: a misclassified iterate fooled one draw only.
    assert report.attacks[0]["config"]["stop_when_fooled"] is False
    flag = report.flag("randomized_model")
    assert flag.raised and 'Run protocol "rand"' in flag.explanation
    assert "majority vote" not in flag.explanation
    text = str(report)
    assert "protocol 'standard' v2.1," in text and "run protocol 'rand'" in text
    # A 2-class model has one target class.
    assert report.budgets["APGD-T"].startswith("1 target x 100 steps")
    assert report.budgets["FAB-T"].startswith("1 target x 100 steps")


def test_rand_on_a_deterministic_model_takes_one_gradient_sample():
    model = _linear(noise=False)
    x, y = _grey(16)
    report = tfadv.evaluation.evaluate(model, (x, y), eps=0.3, protocol="rand", checks=False)
    assert not report.randomized and report.eot_iter == 1
    assert all(a["config"]["eot_iter"] == 1 for a in report.attacks)
    assert all("EOT" not in budget for budget in report.budgets.values())
    assert "EOT is idle" in str(report) and "eot_iter 1, not 20" in str(report)
    flag = report.flag("randomized_model")
    assert flag.raised is False and "EOT idle" in flag.detail


def test_flags_are_worded_for_a_randomised_model():
    flags = [
        sanity_checks.SanityFlag("more_effort_raises_accuracy", True, "10 steps: 50%"),
        sanity_checks.SanityFlag("zero_gradients", False),
    ]
    worded = sanity_checks.for_randomised_model(flags)
    assert worded[0].explanation.startswith(
        "On a randomised model more effort can raise accuracy by chance"
    )
    assert worded[1].explanation == tfadv.evaluation.SANITY_CHECKS["zero_gradients"]
    assert "deterministic" in flags[0].explanation  # the default wording is unchanged
    restored = sanity_checks.SanityFlag.from_dict(worded[0].to_dict())
    assert restored == worded[0] and str(restored) == str(worded[0])


def test_apgd_with_eot_spends_its_whole_budget_on_every_example(noisy, eot_apgd):
    x, y = _grey(32)
    targeted = tfadv.attacks.APGDT(eps=0.3, steps=5, n_target_classes=9, eot_iter=2, seed=0)
    for attack in (eot_apgd, targeted):
        assert not attack.compacts
        result = attack.run(noisy, x, y, eps=0.3)
        # Start + 5 steps, 2 draws each, on every example (one target: 2 classes), though one
        # draw misclassifies many iterates at eps 0.3.
        np.testing.assert_array_equal(result.info["grad_evals"].numpy(), (1 + 5) * 2)
    assert tfadv.attacks.APGD(eps=0.3, steps=5).compacts  # one sample per step: compaction
    full = tfadv.attacks.APGD(eps=0.3, steps=5, stop_when_fooled=False, seed=0)
    assert not full.compacts and full.get_config()["stop_when_fooled"] is False
    np.testing.assert_array_equal(full.run(noisy, x, y).info["grad_evals"].numpy(), 6.0)


def test_keyed_noise_restores_the_model_state(noisy):
    states = _utils.noise_states(noisy)
    assert len(states) == 1
    before = states[0].numpy().copy()
    x, _ = _grey(4)
    with _utils.keyed_noise(states, 0, "a"):
        first = noisy(x).numpy()
    with _utils.keyed_noise(states, 0, "a"):
        again = noisy(x).numpy()
    with _utils.keyed_noise(states, 0, "b"):
        other = noisy(x).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    np.testing.assert_array_equal(states[0].numpy(), before)
    assert _utils.noise_states(_linear(noise=False)) == []
