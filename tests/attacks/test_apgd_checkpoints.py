"""APGD's step-halving decisions against a transcription of AutoAttack's `check_oscillation`.

The reference (fra31/auto-attack, `autoattack/autopgd_base.py`, `APGDAttack.attack_single_run`)
stores the loss after step `i` in `loss_steps[i]`, a zero-initialised `(n_iter, batch)` buffer that
does not hold the starting loss, and at a checkpoint calls
`check_oscillation(loss_steps, i, k, loss_best, k3=thr_decr)`, which counts
`x[j - c] > x[j - c - 1]` for `c = 0 .. k - 1`. At the first checkpoint (`j = k - 1`) the last
comparison reads `x[-1]`, the buffer's last row: still 0 when `n_iter >= 2`. Below, the same
bookkeeping (`counter3`, `k`, `size_decr`, `n_iter_min`, `loss_best_last_check`,
`reduced_last_check`) in NumPy, driven by fixed loss traces, against tfadv's `checkpoint_decision`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfadv
from tfadv.attacks import apgd as apgd_module
from tfadv.attacks.apgd import checkpoint_decision, checkpoint_schedule
from tfadv.evaluation.protocols import PROTOCOLS

N = 100
FIRST_CHECKPOINT = 21  # 0-based iteration of the first checkpoint: int(0.22 * 100) - 1


# ------------------------------------------------------------------- transcription of the reference
def check_oscillation(x, j, k, k3):
    """`APGDAttack.check_oscillation`: per column, whether at most `k * k3` of the last `k` steps
    rose. Python's negative indexing reads the buffer's last row for `j - c - 1 == -1`."""
    t = np.zeros(x.shape[1], np.float32)
    for c in range(k):
        t += (x[j - c] > x[j - c - 1]).astype(np.float32)
    return t <= k * k3


def reference_decisions(start, trace, rho=0.75, rule="autoattack"):
    """Step-halving decisions `(n_iter, batch)` of `attack_single_run` (l-inf / l2 branch) for
    the loss trace `trace[i]` (loss after step `i`) from the starting loss `start`.

    `rule="autoattack"` is the reference's buffer; `rule="paper"` puts the starting loss in the
    buffer ahead of the first step (Algorithm 1 of the paper: the first step is compared with the
    starting point).
    """
    n_iter, batch = trace.shape
    n_iter_2 = max(int(0.22 * n_iter), 1)
    n_iter_min = max(int(0.06 * n_iter), 1)
    size_decr = max(int(0.03 * n_iter), 1)
    offset = 0 if rule == "autoattack" else 1
    loss_steps = np.zeros([n_iter + offset, batch], np.float32)
    if offset:
        loss_steps[0] = start
    loss_best = start.copy()
    loss_best_last_check = loss_best.copy()
    reduced_last_check = np.ones(batch, np.float32)
    decisions = np.zeros([n_iter, batch], bool)
    k, counter3 = n_iter_2, 0
    for i in range(n_iter):
        y1 = trace[i]
        loss_steps[i + offset] = y1
        loss_best = np.where(y1 > loss_best, y1, loss_best)
        counter3 += 1
        if counter3 == k:
            fl_oscillation = check_oscillation(loss_steps, i + offset, k, rho).astype(np.float32)
            fl_reduce_no_impr = (1.0 - reduced_last_check) * (loss_best_last_check >= loss_best)
            fl_oscillation = np.maximum(fl_oscillation, fl_reduce_no_impr)
            reduced_last_check = fl_oscillation.copy()
            loss_best_last_check = loss_best.copy()
            decisions[i] = fl_oscillation > 0
            k = max(k - size_decr, n_iter_min)
            counter3 = 0
    return decisions


# ------------------------------------------------------------------------------ tfadv's decisions
def tfadv_decisions(start, trace, rho=0.75, rule="autoattack"):
    """`checkpoint_decision` run on the trace as `APGD`'s loop runs it."""
    n_iter, batch = trace.shape
    is_checkpoint, window = checkpoint_schedule(n_iter)
    is_checkpoint, window = tf.constant(is_checkpoint), tf.constant(window)
    loss_prev = loss_best = loss_best_ck = tf.constant(start)
    n_increase = tf.zeros([batch])
    reduced_ck = tf.ones([batch], tf.bool)
    decisions = []
    for i in range(n_iter):
        loss = tf.constant(trace[i])
        loss_best = tf.where(loss > loss_best, loss, loss_best)
        reduce, n_increase, loss_best_ck, reduced_ck = checkpoint_decision(
            tf.constant(i), loss, loss_prev, loss_best, n_increase, loss_best_ck, reduced_ck,
            is_checkpoint=is_checkpoint, window=window, rho=rho, rule=rule,
        )  # fmt: skip
        loss_prev = loss
        decisions.append(reduce.numpy())
    return np.stack(decisions)


# -------------------------------------------------------------------------------------- traces
def walk(start, first, pattern, up, down, n_iter=N):
    """A trace: `first` after step 0, then `+up` for each "U" and `-down` for each "D" of the
    (cycled) pattern."""
    values, value = [first], first
    while len(values) < n_iter:
        value += up if pattern[(len(values) - 1) % len(pattern)] == "U" else -down
        values.append(value)
    return start, np.asarray(values, np.float32)


# Steps 1 .. 21 (the 21 comparisons of the first window besides the first step's) rise 16 times:
# with the first step's comparison, 17 > 0.75 * 22 = 16.5 (kept) or 16 (halved).
BORDER = "UUUUD" * 4 + "D" + "UUUUD" * 20

HAND_TRACES = {
    "monotone increase": walk(0.5, 0.51, "U", 0.01, 0.0),
    "oscillating": walk(1.0, 1.1, "DU", 0.1, 0.1),
    "flat": walk(1.0, 1.0, "U", 0.0, 0.0),
    "ce first step up": walk(2.0, 2.1, BORDER, 0.01, 0.02),
    # Cross-entropy whose first step goes down: the reference counts it as an increase (>= 0).
    "ce first step down, borderline": walk(2.0, 1.9, BORDER, 0.01, 0.02),
    # DLR (negative while correctly classified) whose first step goes up: the reference counts
    # no increase (< 0).
    "dlr first step up, borderline": walk(-0.9, -0.8, BORDER, 0.001, 0.002),
    "dlr first step down": walk(-0.9, -0.95, BORDER, 0.001, 0.002),
    # DLR is positive once misclassified (the reference then compares as for cross-entropy).
    "dlr positive, first step down, borderline": walk(0.1, 0.05, BORDER, 0.001, 0.002),
}


def hand_traces():
    names = list(HAND_TRACES)
    start = np.asarray([HAND_TRACES[name][0] for name in names], np.float32)
    trace = np.stack([HAND_TRACES[name][1] for name in names], axis=1)
    return names, start, trace


def random_traces(n_iter, batch=64, seed=0):
    """Random walks that rise 3 times in 4 on average (near the threshold `rho = 0.75`), half
    positive (cross-entropy-like), half negative (DLR-like), some with ties."""
    rng = np.random.default_rng(seed)
    moves = np.where(rng.random([n_iter, batch]) < 0.75, 1.0, -1.0) * rng.random([n_iter, batch])
    moves[rng.random([n_iter, batch]) < 0.05] = 0.0
    start = rng.random(batch)
    trace = start + 0.1 * np.cumsum(moves, axis=0)
    trace[:, batch // 2 :] -= 10.0
    start[batch // 2 :] -= 10.0
    return start.astype(np.float32), trace.astype(np.float32)


# -------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("rule", ["autoattack", "paper"])
def test_hand_traces_match_the_transcription(rule):
    names, start, trace = hand_traces()
    expected = reference_decisions(start, trace, rule=rule)
    got = tfadv_decisions(start, trace, rule=rule)
    for column, name in enumerate(names):
        np.testing.assert_array_equal(got[:, column], expected[:, column], err_msg=name)
    # Decisions come only at the reference's checkpoints: after 22, 41, 57, 70, 80, 87, 93, 99.
    checkpoints = np.flatnonzero(checkpoint_schedule(N)[0])
    np.testing.assert_array_equal(checkpoints + 1, [22, 41, 57, 70, 80, 87, 93, 99])
    assert not got[np.setdiff1d(np.arange(N), checkpoints)].any()


def test_hand_traces_decisions():
    names, start, trace = hand_traces()
    autoattack = tfadv_decisions(start, trace, rule="autoattack")
    paper = tfadv_decisions(start, trace, rule="paper")
    by_name = {name: (autoattack[:, c], paper[:, c]) for c, name in enumerate(names)}
    checkpoints = np.flatnonzero(checkpoint_schedule(N)[0])

    # A loss that always rises never halves; one that never rises halves at every checkpoint.
    assert not by_name["monotone increase"][0].any() and not by_name["monotone increase"][1].any()
    for name in ("flat", "oscillating"):
        for decisions in by_name[name]:
            np.testing.assert_array_equal(np.flatnonzero(decisions), checkpoints, err_msg=name)

    # The difference, at iteration 21 only where the first step's comparison decides.
    for name in ("ce first step down, borderline", "dlr positive, first step down, borderline"):
        aa, pa = by_name[name]
        assert not aa[FIRST_CHECKPOINT] and pa[FIRST_CHECKPOINT], name  # 17 increases vs 16
    aa, pa = by_name["dlr first step up, borderline"]
    assert aa[FIRST_CHECKPOINT] and not pa[FIRST_CHECKPOINT]  # 16 increases vs 17
    for name in ("ce first step up", "dlr first step down"):
        aa, pa = by_name[name]
        assert aa[FIRST_CHECKPOINT] == pa[FIRST_CHECKPOINT], name
    # Later windows never reach back to the first step: the counts agree there, and a decision
    # can differ later only through "not halved last time and no improvement since".
    for name in names:
        aa, pa = by_name[name]
        if aa[FIRST_CHECKPOINT] == pa[FIRST_CHECKPOINT]:
            np.testing.assert_array_equal(aa, pa, err_msg=name)


@pytest.mark.parametrize("n_iter", [1, 2, 5, 10, 37, 100])
@pytest.mark.parametrize("rule", ["autoattack", "paper"])
def test_random_traces_match_the_transcription(n_iter, rule):
    start, trace = random_traces(n_iter, seed=n_iter)
    np.testing.assert_array_equal(
        tfadv_decisions(start, trace, rule=rule), reference_decisions(start, trace, rule=rule)
    )


def test_random_traces_rules_differ_at_the_first_checkpoint_only_through_it():
    start, trace = random_traces(N, batch=512, seed=1)
    autoattack = tfadv_decisions(start, trace, rule="autoattack")
    paper = tfadv_decisions(start, trace, rule="paper")
    differ = autoattack[FIRST_CHECKPOINT] != paper[FIRST_CHECKPOINT]
    assert differ.any()
    np.testing.assert_array_equal(autoattack[:, ~differ], paper[:, ~differ])


def test_bad_rule_is_refused():
    with pytest.raises(ValueError, match="checkpoint_rule='fra31'"):
        tfadv.attacks.APGD(checkpoint_rule="fra31")
    with pytest.raises(ValueError, match="checkpoint_rule='Paper'"):
        tfadv.attacks.APGDT(checkpoint_rule="Paper")
    is_checkpoint, window = checkpoint_schedule(5)
    with pytest.raises(ValueError, match="rule='fra31'"):
        checkpoint_decision(
            0, *[tf.zeros([1])] * 5, tf.ones([1], tf.bool),
            is_checkpoint=is_checkpoint, window=window, rho=0.75, rule="fra31",
        )  # fmt: skip


def test_rule_default_and_config_round_trip():
    assert tfadv.attacks.APGD().checkpoint_rule == "autoattack"
    assert tfadv.attacks.APGDT().checkpoint_rule == "autoattack"
    for attack in (
        tfadv.attacks.APGD(steps=7, checkpoint_rule="paper"),
        tfadv.attacks.APGDT(steps=7, checkpoint_rule="paper"),
    ):
        config = attack.get_config()
        assert config["checkpoint_rule"] == "paper"
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(attack)
        )
        assert restored.checkpoint_rule == "paper" and restored.get_config() == config


@pytest.mark.parametrize("name", ["standard", "plus", "rand"])
def test_autoattack_protocols_use_autoattack_checkpoints(name):
    protocol = PROTOCOLS[name]
    for randomized in (False, True):
        attacks = protocol.attacks(0.3, "linf", randomized=randomized)
        apgd = [attack for _, attack in attacks if isinstance(attack, tfadv.attacks.APGD)]
        assert apgd
        assert all(attack.checkpoint_rule == "autoattack" for attack in apgd)


@pytest.mark.parametrize("rule", ["autoattack", "paper"])
def test_attack_loop_uses_its_rule(rule, monkeypatch):
    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs["rule"])
        return checkpoint_decision(*args, **kwargs)

    monkeypatch.setattr(apgd_module, "checkpoint_decision", spy)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    x = np.random.default_rng(0).uniform(0.2, 0.8, size=(4, 4)).astype("float32")
    y = np.zeros(4, np.int32)
    attack = tfadv.attacks.APGD(eps=0.05, steps=2, checkpoint_rule=rule, seed=0)
    x_adv = attack(model, x, y)
    assert seen and set(seen) == {rule}
    assert np.abs(x_adv.numpy() - x).max() <= 0.05 + 1e-6
