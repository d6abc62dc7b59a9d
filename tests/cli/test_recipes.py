"""Every recipe under recipes/ (found by glob, so new recipes enrol): parses, validates, builds;
under `--smoke` it trains, evaluates and writes its folder."""

import glob
import json
import os

import pytest

from tfadv.cli.main import main
from tfadv.experiment import build, method_config, parse
from tfadv.experiment.checks import check_config
from tfadv.methods import METHODS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = sorted(
    os.path.relpath(path, ROOT)
    for path in glob.glob(os.path.join(ROOT, "recipes", "*", "*.py"))
    # Keras Tuner scripts and table configs (tests/cli/test_table.py) are not recipes.
    if os.path.basename(os.path.dirname(path)) not in ("tuning", "tables")
)


def test_recipes_are_found():
    names = {os.path.basename(path) for path in RECIPES}
    assert {"default.py", "trades.py", "advprop.py", "pni.py", "trades_wrn34.py"} <= names
    assert len(RECIPES) >= 18


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_validates_and_builds(recipe):
    config, _ = parse(os.path.join(ROOT, recipe))
    plan = check_config(config)
    assert METHODS.get(config.method.name) is plan.method
    assert config.workdir.startswith("artifacts/")
    text = open(os.path.join(ROOT, recipe), encoding="utf-8").read()
    assert f"tfadv train --config {recipe}" in text  # the docstring gives the exact command
    smoke, _ = parse(os.path.join(ROOT, recipe), smoke=True)
    assert smoke.epochs == 1 and smoke.workdir == config.workdir + "_smoke"
    plan = check_config(smoke)
    data = build.load_data(smoke)
    classifier = build.build_classifier(smoke, plan, data.shape, data.classes)
    model = build.build_method(smoke, plan, classifier)
    assert isinstance(model, plan.method)
    assert classifier.output_shape == (None, data.classes)


def test_default_recipe_is_the_main_job():
    recipe, _ = parse(os.path.join(ROOT, "recipes", "mnist", "default.py"))
    default, _ = parse(None)
    assert recipe.to_dict() == default.to_dict()
    assert (default.method.name, default.model.name, default.epochs) == (
        "trades",
        "compact_cnn",
        15,
    )
    assert default.method.to_dict() == method_config("trades", beta=6.0).to_dict()
    assert (default.attack.eps, default.attack.steps, default.batch_size) == (0.3, 10, 64)
    budget = check_config(default).budget
    assert budget.step_size == pytest.approx(0.075)
    assert default.data.validation_size == 500 and default.evaluation.protocol == "quick"


def test_a_method_named_on_the_command_line_starts_from_its_own_knobs():
    # The default's TRADES knobs do not follow a switch to another method.
    config, overridden = parse(None, ["--config.method.name=advprop"])
    assert config.method.to_dict() == method_config("advprop").to_dict()
    assert overridden == ["method.name"]
    # Knobs given with the switch apply to the new method (in either argument form).
    config, _ = parse(None, ["--config.method.name=awp", "--config.method.knobs.gamma", "0.01"])
    assert config.method.to_dict() == method_config("awp", gamma=0.01).to_dict()
    # Without a switch, a knob override keeps the recipe's other knobs.
    path = os.path.join(ROOT, "recipes", "mnist", "awp_trades.py")
    recipe, _ = parse(path)
    config, _ = parse(path, ["--config.method.knobs.gamma=0.02"])
    assert config.method.knobs.gamma == 0.02
    assert config.method.knobs.beta == recipe.method.knobs.beta
    with pytest.raises(ValueError, match="no config field 'gamma'.*knobs.gamma=1"):
        parse(None, ["--config.method.name=mart", "--config.method.knobs.gamma=1"])
    with pytest.raises(ValueError, match=r"method\.name='nosuch'"):
        parse(None, ["--config.method.name=nosuch"])


def test_advprop_recipe_gets_dual_batch_norm():
    config, _ = parse(os.path.join(ROOT, "recipes", "mnist", "advprop.py"))
    assert check_config(config).model_kwargs["dual_bn"] is True


def _smoke_args(recipe, workdir, export):
    args = ["train", "--config", os.path.join(ROOT, recipe), "--smoke"]
    args += [f"--config.workdir={workdir}", "--config.evaluation.limit=8"]
    if not export:
        args += ["--config.export.enabled=False", "--config.evaluation.checks=False"]
        args += ["--config.evaluation.pgd_steps=0", "--config.plot=False"]
    return args


def test_default_recipe_smoke_run_writes_the_folder(tmp_path, capsys):
    """The CI run of the main job: one folder with everything the run produced."""
    out = tmp_path / "run"
    pgd_line = ["--config.evaluation.pgd_steps=3"]  # the optional PGD-N line (off by default)
    assert main(_smoke_args("recipes/mnist/default.py", out, export=True) + pgd_line) == 0
    printed = capsys.readouterr().out
    assert "Robustness report: protocol 'quick'" in printed and "PGD" in printed
    assert "hand-written loop's number: PGD (3 steps" in printed
    for name in (
        "config.json",
        "train.log",
        "history.csv",
        "report.txt",
        "report.json",
        "per_example.csv",
        "robust_accuracy.png",
        "classifier.keras",
        "model.onnx",
        "parity.json",
        "summary.json",
        "checkpoints/state.json",
    ):
        assert (out / name).exists(), name
    assert (out / "saved_model" / "1" / "saved_model.pb").exists()
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    summary = json.loads((out / "summary.json").read_text())
    report = summary["report"]
    assert 0.0 <= report["robust_accuracy"] <= report["clean_accuracy"] <= 1.0
    assert summary["best_epoch"] == 1 and summary["epochs"] == 1
    assert summary["pgd"]["attacks"][0]["config"]["steps"] == 3
    rows = (out / "per_example.csv").read_text().splitlines()
    assert len(rows) == 1 + report["n_examples"]
    robust = sum(int(row.split(",")[4]) for row in rows[1:])
    assert robust / report["n_examples"] == pytest.approx(report["robust_accuracy"])
    assert "Robustness report" in (out / "train.log").read_text()
    assert json.loads((out / "config.json").read_text())["epochs"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_smoke_run(recipe, tmp_path):
    out = tmp_path / "run"
    assert main(_smoke_args(recipe, out, export=False)) == 0
    summary = json.loads((out / "summary.json").read_text())
    config, _ = parse(os.path.join(ROOT, recipe))
    assert summary["method"] == METHODS.get(config.method.name).__name__
    assert summary["epochs"] == 1 and (out / "classifier.keras").exists()
