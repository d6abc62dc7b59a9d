"""`evaluate(..., strategy=...)`: the one-device batches dealt to the replicas (two logical CPUs,
configured by the root conftest) and, in a slow test, to two workers on loopback; every example's
verdict equals the one device's for the same seed, a randomised model's included.

Run as a script (`python test_evaluation_strategy.py INDEX PORTS_JSON OUT_DIR`), the file is one
worker of the multi-worker test.
"""

import json
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.distribution._cluster import run_two_workers
from tests.evaluation.conftest import AlwaysNoise
from tfadv.attacks.apgd import APGD
from tfadv.attacks.pgd import PGD
from tfadv.cli.main import main
from tfadv.data import load_numpy
from tfadv.evaluation import distributed, evaluate
from tfadv.evaluation.protocols import Protocol

N = 64


def nearest_mean_classifier():
    """A linear model with no training: logits `x . m_c - |m_c|^2 / 2` for the mean `m_c` of
    class `c` over 2,000 training digits (81% on the first 64 test digits)."""
    x, y = load_numpy("embedded_mnist", split="train", limit=2000)
    means = np.stack([x[y == c].reshape(-1, 784).mean(0) for c in range(10)]).astype("float32")
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.set_weights([means.T, -0.5 * (means**2).sum(1)])
    return model


def digits():
    return load_numpy("embedded_mnist", split="test", limit=N)


def cascade():
    """A short PGD (random start), then APGD-CE on the examples still robust. Under l2, the norm
    of each breaking perturbation depends on the random draws: a fingerprint of the batches."""
    return Protocol(
        "cascade",
        "0",
        "PGD, 2 steps, then APGD-CE, 10 steps, on the rest.",
        [
            (
                "PGD",
                lambda eps, norm, seed, eot: PGD(
                    eps=eps, norm=norm, steps=2, step_size=eps / 4, seed=seed
                ),
            ),
            ("APGD", lambda eps, norm, seed, eot: APGD(eps=eps, norm=norm, steps=10, seed=seed)),
        ],
        cascade=True,
    )


def two_cpus():
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


@pytest.mark.parametrize(
    ("protocol", "norm", "eps"), [("quick", "linf", 0.08), ("cascade", "l2", 1.5)]
)
def test_two_replicas_give_the_verdicts_of_one_device(protocol, norm, eps):
    model, (x, y) = nearest_mean_classifier(), digits()
    protocol = cascade() if protocol == "cascade" else protocol
    options = dict(eps=eps, norm=norm, protocol=protocol, checks=False, seed=3)
    one = evaluate(model, (x, y), batch_size=8, **options)
    two = evaluate(model, (x, y), batch_size=8, strategy=two_cpus(), **options)
    # Not vacuous: the attacks break some examples and fail on others.
    assert 0 < one.robust_accuracy < one.clean_accuracy
    np.testing.assert_array_equal(two.robust_mask, one.robust_mask)
    assert two.per_example == one.per_example  # first breaking attack and its perturbation norm
    assert two.per_attack_accuracy == one.per_attack_accuracy
    assert [a["examples_attacked"] for a in two.attacks] == [
        a["examples_attacked"] for a in one.attacks
    ]
    if norm == "l2":  # the fingerprint tells other batches apart (other draws, other norms)
        other = evaluate(model, (x, y), batch_size=16, **options)
        assert other.per_example["perturbation_norm"] != one.per_example["perturbation_norm"]


def test_batches_are_dealt_whole_to_the_replicas_in_order():
    replicas = distributed.resolve_strategy(two_cpus())
    assert replicas.num_replicas == 2 and not replicas.multi_worker
    batches = [np.arange(3 * i, 3 * i + 3) for i in range(5)]
    seen = list(distributed.run_batches(replicas, lambda b: (b, tf.constant(0.0).device), batches))
    assert [batch.tolist() for batch, _ in seen] == [b.tolist() for b in batches]
    for i, (batch, (same, device)) in enumerate(seen):
        assert same is batch and device.endswith(f"CPU:{i % 2}")


def test_an_error_on_a_replica_reaches_the_caller():
    def attack_batch(batch):
        if batch[0] == 6:
            raise ValueError("batch 2 failed")
        return batch

    batches = [np.arange(3 * i, 3 * i + 3) for i in range(4)]
    replicas = distributed.resolve_strategy(two_cpus())
    with pytest.raises(ValueError, match="batch 2 failed"):
        list(distributed.run_batches(replicas, attack_batch, batches))


def test_strategy_argument_is_checked():
    assert distributed.resolve_strategy(None) is None
    assert distributed.resolve_strategy(tf.distribute.get_strategy()) is None  # the default
    assert distributed.resolve_strategy("default") is None
    model, data = nearest_mean_classifier(), digits()
    with pytest.raises(ValueError, match="Received: strategy='tpu'"):
        evaluate(model, data, strategy="tpu")
    with pytest.raises(TypeError, match="Received: strategy=2"):
        evaluate(model, data, strategy=2)


def test_cli_strategy_is_checked_in_one_line(capsys):
    assert main(["evaluate", "m.keras", "--strategy", "tpu"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfadv evaluate: error: `--strategy` must be")
    assert lines[0].endswith("Received: --strategy=tpu")


# ---------------------------------------------------------------------------------- two workers


@pytest.mark.slow
def test_two_workers_give_the_verdicts_of_one_device(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
    run_two_workers(__file__, tmp_path, env={"PYTHONPATH": path})  # (the script imports `tests`)
    model, (x, y) = nearest_mean_classifier(), digits()
    one = evaluate(model, (x, y), protocol=cascade(), **_WORKER_OPTIONS)
    assert 0 < one.robust_accuracy < one.clean_accuracy
    for i in range(2):
        report = json.loads((tmp_path / f"worker{i}.json").read_text())
        assert report["per_example"] == json.loads(json.dumps(one.per_example))
        assert [a["accuracy"] for a in report["attacks"]] == [a["accuracy"] for a in one.attacks]


_WORKER_OPTIONS = dict(eps=1.5, norm="l2", batch_size=8, checks=False, seed=3)


def _worker(index, ports, out_dir):
    """One worker: joins the loopback cluster, evaluates with the strategy, writes its report."""
    os.environ["TF_CONFIG"] = json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
            "task": {"type": "worker", "index": index},
        }
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # first, before any other op
    replicas = distributed.resolve_strategy(strategy)
    assert replicas.multi_worker and replicas.replica_ids == (index,), replicas
    model, data = nearest_mean_classifier(), digits()
    report = evaluate(model, data, protocol=cascade(), strategy=strategy, **_WORKER_OPTIONS)
    report.to_json(os.path.join(out_dir, f"worker{index}.json"))


if __name__ == "__main__":
    _worker(int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3])


def test_a_randomised_model_gets_the_verdicts_of_one_device():
    """Its draws are keyed by the batch (`_utils.keyed_noise`), so dealing whole batches keeps
    them: the replicas take turns on the model's shared seed generators."""
    linear = nearest_mean_classifier()
    model = keras.Sequential([keras.Input((28, 28, 1)), AlwaysNoise(0.3), linear])
    options = dict(eps=0.08, protocol="quick", batch_size=8, checks=False, seed=3)
    one = evaluate(model, digits(), **options)
    two = evaluate(model, digits(), strategy=two_cpus(), **options)
    assert one.randomized and 0 < one.robust_accuracy < one.clean_accuracy
    assert two.per_example == one.per_example
