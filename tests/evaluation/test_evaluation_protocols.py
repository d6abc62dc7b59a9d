"""The named protocols are AutoAttack's versions: attacks, order and budgets (autoattack.py)."""

import pytest

import tfadv
from tfadv.evaluation.protocols import describe_budget


def _attacks(name, **kwargs):
    protocol = tfadv.evaluation.get_protocol(name)
    return protocol, protocol.attacks(0.3, "linf", **kwargs)


def test_standard_is_autoattack_standard():
    protocol, attacks = _attacks("standard")
    assert protocol.version == "2.1" and protocol.cascade
    assert [label for label, _ in attacks] == ["APGD-CE", "APGD-T", "FAB-T", "Square"]
    apgd, apgd_t, fab_t, square = (attack for _, attack in attacks)
    assert (apgd.steps, apgd.restarts, apgd.loss) == (100, 1, "ce")
    assert (apgd_t.steps, apgd_t.restarts, apgd_t.n_target_classes) == (100, 1, 9)
    assert isinstance(fab_t, tfadv.attacks.FABT) and fab_t.targeted
    assert (fab_t.steps, fab_t.restarts, fab_t.n_target_classes) == (100, 1, 9)
    assert (fab_t.alpha_max, fab_t.eta, fab_t.beta) == (0.1, 1.05, 0.9)
    assert (square.n_queries, square.p_init, square.restarts) == (5000, 0.8, 1)
    assert describe_budget(fab_t) == "9 targets x 100 steps, 1 restart, minimum norm, targeted"
    # The targets really used: min(9, classes - 1).
    assert describe_budget(fab_t, 2).startswith("1 target x 100 steps,")
    assert describe_budget(apgd_t, 5).startswith("4 targets x 100 steps,")
    assert describe_budget(apgd_t, 10).startswith("9 targets x 100 steps,")
    assert "min(9, classes - 1)" in protocol.description and "9 targets" not in protocol.description


def test_plus_is_autoattack_plus():
    protocol, attacks = _attacks("plus")
    labels = [label for label, _ in attacks]
    assert labels == ["APGD-CE", "APGD-DLR", "FAB", "Square", "APGD-T", "FAB-T"]
    by_label = dict(attacks)
    assert by_label["APGD-CE"].restarts == 5 and by_label["APGD-DLR"].restarts == 5
    assert by_label["APGD-DLR"].loss == "dlr"
    assert not by_label["FAB"].targeted and by_label["FAB"].restarts == 5
    assert by_label["FAB-T"].targeted and by_label["FAB-T"].restarts == 1
    assert by_label["APGD-T"].n_target_classes == 9 and by_label["FAB-T"].n_target_classes == 9
    assert by_label["Square"].n_queries == 5000


@pytest.mark.parametrize("randomized", [False, True])
def test_rand_is_apgd_ce_and_dlr_with_eot(randomized):
    protocol, attacks = _attacks("rand", randomized=randomized, eot_iter=20)
    assert [label for label, _ in attacks] == ["APGD-CE", "APGD-DLR"]
    assert all(attack.eot_iter == 20 and attack.restarts == 1 for _, attack in attacks)
    # EOT: every example runs its whole budget (a misclassified iterate fooled one draw).
    assert all(not attack.compacts for _, attack in attacks)


@pytest.mark.parametrize("name", ["quick", "standard", "plus"])
def test_named_protocols_keep_their_attacks_on_randomised_models(name):
    """No automatic switch: a randomised model gets the attacks the name promises, and its APGD
    attacks run every example for the whole budget."""
    _, plain = _attacks(name, randomized=False, eot_iter=20)
    _, randomised = _attacks(name, randomized=True, eot_iter=20)
    assert [label for label, _ in randomised] == [label for label, _ in plain]
    for (_, a), (_, b) in zip(plain, randomised, strict=True):
        assert type(a) is type(b) and getattr(b, "eot_iter", 1) == 1
        if isinstance(a, tfadv.attacks.APGD):
            assert a.compacts and not b.compacts
            assert {**a.get_config(), "stop_when_fooled": False} == b.get_config()
        else:
            assert a.get_config() == b.get_config()


def test_protocol_names_match_the_cli():
    from tfadv.cli.evaluate import PROTOCOL_NAMES

    assert set(PROTOCOL_NAMES) == set(tfadv.evaluation.PROTOCOLS)


def test_l2_protocols_build_l2_attacks():
    attacks = tfadv.evaluation.get_protocol("plus").attacks(0.5, "l2")
    assert all(attack.norm == "l2" and attack.eps == 0.5 for _, attack in attacks)
