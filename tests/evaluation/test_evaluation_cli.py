"""`tfadv evaluate MODEL ...` on a tiny saved model."""

import argparse
import json

import pytest

import tfadv
import tfadv.cli.evaluate
import tfadv.cli.main


def _run(argv):
    parser = argparse.ArgumentParser(prog="tfadv")
    tfadv.cli.evaluate.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def saved_model(trained_cnn, tmp_path_factory):
    model, _, _ = trained_cnn
    path = tmp_path_factory.mktemp("cli") / "cnn.keras"
    model.save(path)
    return str(path)


def test_cli_evaluate_prints_report_and_writes_json(saved_model, tmp_path, capsys):
    out = tmp_path / "report.json"
    argv = ["evaluate", saved_model, "--data", "embedded_mnist", "--split", "test", "--limit",
            "16", "--eps", "0.1", "--norm", "linf", "--protocol", "quick", "--json", str(out),
            "--no-checks"]  # fmt: skip
    assert _run(argv) == 0
    printed = capsys.readouterr()
    assert "protocol 'quick' v1.1" in printed.out and "worst case" in printed.out
    assert "example" in printed.out  # the progress bar
    report = json.loads(out.read_text())
    assert report["n_examples"] == 16 and report["protocol"] == "quick" and report["eps"] == 0.1


def test_cli_is_registered_and_reports_errors(tmp_path):
    assert "tfadv.cli.evaluate" in tfadv.cli.main.SUBCOMMANDS
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        _run(["evaluate", str(tmp_path / "nope.keras")])
    with pytest.raises(SystemExit):
        _run(["evaluate", "m.keras", "--protocol", "strong"])


def test_cli_start_evaluates_a_slice_of_the_split(saved_model, tmp_path, capsys):
    import numpy as np

    out = tmp_path / "slice.json"
    argv = ["evaluate", saved_model, "--start", "4990", "--limit", "20", "--eps", "0.1",
            "--protocol", "quick", "--json", str(out), "--no-checks"]  # fmt: skip
    assert _run(argv) == 0
    assert "(4990 to 4999)" in capsys.readouterr().err
    report = json.loads(out.read_text())
    _, y = tfadv.data.load_numpy("embedded_mnist", split="test")
    assert report["n_examples"] == 10  # the split ends at 4,999; the run says how many it took
    np.testing.assert_array_equal(report["per_example"]["label"], y[4990:])


@pytest.mark.parametrize("start", ["-1", "5000"])
def test_cli_start_outside_the_split_names_the_value(saved_model, start):
    with pytest.raises(ValueError, match=f"Received: --start={start}"):
        _run(["evaluate", saved_model, "--start", start, "--limit", "4", "--quiet"])


def test_cli_smoothed_draws_reach_evaluate(saved_model, monkeypatch, capsys):
    seen = {}

    def fake_evaluate(model, data, **options):
        seen.update(options)
        raise ValueError("stop here")

    monkeypatch.setattr(tfadv.cli.evaluate, "evaluate", fake_evaluate)
    base = ["evaluate", saved_model, "--limit", "4", "--protocol", "rand"]
    assert tfadv.cli.main.main([*base, "--smoothed-draws", "5"]) == 2
    assert seen["smoothed_draws"] == 5 and seen["protocol"] == "rand"
    assert tfadv.cli.main.main(base) == 2
    assert seen["smoothed_draws"] is None  # off unless asked: never the headline
