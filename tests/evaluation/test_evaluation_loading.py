"""`load_model` and `tfadv evaluate` on what `tfadv export` writes: SavedModel and ONNX."""

import argparse

import numpy as np
import pytest

import tfadv
import tfadv.cli.evaluate
import tfadv.cli.main
from tfadv.evaluation import OnnxClassifier, SavedModelClassifier, load_model

EPS = 0.1


@pytest.fixture(scope="module")
def exports(trained_cnn, tmp_path_factory):
    model, _, _ = trained_cnn
    root = tmp_path_factory.mktemp("exports")
    keras_path = root / "cnn.keras"
    model.save(keras_path)
    base = root / "serving"
    folder = tfadv.export.to_saved_model(model, base)
    onnx_path = tfadv.export.to_onnx(model, root / "cnn.onnx")
    return {"keras": str(keras_path), "base": str(base), "folder": folder, "onnx": onnx_path}


def test_every_format_loads_as_the_same_classifier(trained_cnn, exports):
    model, x, _ = trained_cnn
    expected = model(x[:16]).numpy()
    for key in ("keras", "base", "folder", "onnx"):
        loaded = load_model(exports[key])
        np.testing.assert_allclose(np.asarray(loaded(x[:16])), expected, atol=1e-4)
    assert isinstance(load_model(exports["base"]), SavedModelClassifier)
    assert isinstance(load_model(exports["onnx"]), OnnxClassifier)


def test_gradient_attacks_run_through_the_saved_model(trained_cnn, exports):
    model, x, y = trained_cnn
    # Also what `tfadv evaluate` reads: the served model is attacked like the Keras one.
    served = load_model(exports["folder"])
    attack = tfadv.attacks.APGD(eps=EPS, steps=5, seed=0)
    np.testing.assert_allclose(
        attack(served, x[:16], y[:16]).numpy(), attack(model, x[:16], y[:16]).numpy(), atol=1e-5
    )


@pytest.mark.slow
def test_onnx_is_attacked_black_box_and_by_transfer(trained_cnn, exports):
    model, x, y = trained_cnn
    protocol = [tfadv.attacks.PGD(eps=EPS, steps=3), tfadv.attacks.Square(eps=EPS, n_queries=30)]
    report = tfadv.evaluation.evaluate(
        exports["onnx"], (x[:16], y[:16]), eps=EPS, protocol=protocol, surrogate=model,
        check_examples=16, seed=0,
    )  # fmt: skip
    assert report.variant == "black-box"
    assert list(report.per_attack_accuracy) == ["Square", "Transfer"]  # no gradient attack
    assert report.attacks[1]["config"]["surrogate"] == model.name
    assert report.robust_accuracy < report.clean_accuracy  # transfer from the same weights works
    assert report.flag("zero_gradients").raised is None  # gradient checks cannot run
    assert report.to_json()  # the surrogate does not break JSON


def test_a_file_that_is_not_a_model_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "weights.keras"
    bad.write_text("not a zip")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    empty = tmp_path / "empty"
    empty.mkdir()
    for path in (bad, text, empty):
        with pytest.raises(ValueError, match=str(path)):
            load_model(path)
    with pytest.raises(ValueError, match="is not a complete .keras file"):
        load_model(bad)  # a .keras file is a zip archive: this one is cut or another kind of file
    for path in (bad, text, empty, tmp_path / "missing.onnx"):
        assert tfadv.cli.main.main(["evaluate", str(path), "--limit", "4"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(path) in err[0] and err[0].startswith("tfadv evaluate: error")


def test_cli_evaluates_a_saved_model_folder(exports, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="tfadv")
    tfadv.cli.evaluate.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["evaluate", exports["base"], "--limit", "8", "--eps", "0.1",
                              "--protocol", "quick", "--no-checks", "--quiet"])  # fmt: skip
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "protocol 'quick' v1.1" in out and "worst case" in out
