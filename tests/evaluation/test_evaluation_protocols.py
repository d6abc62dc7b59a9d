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
    _, standard_rand = _attacks("standard", randomized=True, eot_iter=20)
    assert [a.get_config() for _, a in standard_rand] == [a.get_config() for _, a in attacks]


def test_protocol_names_match_the_cli():
    from tfadv.cli.evaluate import PROTOCOL_NAMES

    assert set(PROTOCOL_NAMES) == set(tfadv.evaluation.PROTOCOLS)


def test_l2_protocols_build_l2_attacks():
    attacks = tfadv.evaluation.get_protocol("plus").attacks(0.5, "l2")
    assert all(attack.norm == "l2" and attack.eps == 0.5 for _, attack in attacks)
