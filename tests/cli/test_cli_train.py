"""`tfadv train` end to end on a few embedded digits: trains, reports, saves and exports."""

import json

import keras
import pytest

from tfadv.cli.main import main


def test_train_reports_and_exports(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--model",
            "compact_cnn",
            "--limit",
            "256",
            "--validation-size",
            "128",
            "--epochs",
            "2",
            "--steps",
            "2",
            "--ramp-epochs",
            "1",
            "--eval-limit",
            "64",
            "--out",
            str(out),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Robustness report: protocol 'quick'" in printed
    assert "PGD" in printed and "APGD" in printed  # every robust number names its attack
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "PGDAT"
    assert 0.0 <= summary["report"]["robust_accuracy"] <= summary["report"]["clean_accuracy"]
    classifier = keras.saving.load_model(out / "classifier.keras", safe_mode=True)
    assert classifier.output_shape == (None, 10)
    assert (out / "model.onnx").exists()
    assert (out / "saved_model" / "1" / "saved_model.pb").exists()
    assert "parity" in printed.lower()


def test_train_rejects_bad_arguments(capsys):
    assert main(["train", "--model", "no_such_model", "--limit", "64", "--no-export"]) == 2
    assert "model='no_such_model'" in capsys.readouterr().err
    assert main(["train", "--eps", "-1", "--limit", "64", "--no-export"]) == 2
    assert "eps=-1" in capsys.readouterr().err


def test_unknown_method_is_rejected_by_argparse():
    with pytest.raises(SystemExit):
        main(["train", "--method", "magic"])
