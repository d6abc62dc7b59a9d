"""`sweep`: accuracy against epsilon as a table, JSON and a PNG plot."""

import json

import pytest

import tfadv
import tfadv.evaluation
from tfadv.evaluation.sanity_checks import check_monotone


def test_sweep_table_json_and_plot(trained_cnn, tmp_path):
    model, x, y = trained_cnn
    json_path, png_path = tmp_path / "sweep.json", tmp_path / "sweep.png"
    result = tfadv.evaluation.sweep(
        model, (x[:32], y[:32]), [0.5, 0.0, 0.1], [tfadv.attacks.PGD(eps=0.1, steps=5, seed=0)],
        json_path=json_path, plot_path=png_path,
    )  # fmt: skip
    assert result.eps == [0.0, 0.1, 0.5]
    assert result.accuracy[0] == pytest.approx(result.clean_accuracy)
    assert result.accuracy == sorted(result.accuracy, reverse=True)
    assert result.accuracy[-1] <= 0.1
    assert result.per_attack == {"PGD": result.accuracy}
    assert result.flagged == []
    assert {f.name: f.raised for f in result.flags} == {
        "non_monotone_in_eps": False,
        "above_chance_at_large_eps": False,
    }
    table = str(result)
    assert "worst case" in table and "0.1" in table and "protocol 'custom'" in table
    assert json.loads(json_path.read_text())["eps"] == [0.0, 0.1, 0.5]
    assert tfadv.evaluation.SweepResult.from_json(json_path).to_dict() == result.to_dict()
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_monotonicity_flag():
    assert check_monotone([0.1, 0.2, 0.3], [0.6, 0.8, 0.1], n=100).raised
    assert not check_monotone([0.1, 0.2, 0.3], [0.6, 0.605, 0.1], n=100).raised


def test_sweep_bad_arguments(trained_cnn):
    model, x, y = trained_cnn
    with pytest.raises(ValueError, match=r"eps_list=\[\]"):
        tfadv.evaluation.sweep(model, (x, y), [])
    with pytest.raises(ValueError, match="eps=-0.1"):
        tfadv.evaluation.sweep(model, (x, y), [0.1, -0.1])
    with pytest.raises(ValueError, match="norm='l1'"):
        tfadv.evaluation.sweep(model, (x, y), [0.1], norm="l1")
