"""`tfadv table`: table configs (every file of recipes/tables/, found by glob) parse and validate,
bad rows fail before training with one line naming them, and the table is written from the rows."""

import ast
import csv
import glob
import json
import os
import shlex
import textwrap

import pytest

from tfadv.cli.main import SUBCOMMANDS, main
from tfadv.experiment import config as config_lib
from tfadv.experiment import table as table_lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLES = sorted(
    os.path.relpath(path, ROOT)
    for path in glob.glob(os.path.join(ROOT, "recipes", "tables", "*.py"))
)
RECIPE = os.path.join(ROOT, "recipes", "mnist", "pgd_at.py")


def test_the_seed_tables_are_found():
    assert len(TABLES) >= 8


@pytest.mark.parametrize("path", TABLES)
def test_table_config_parses_and_validates(path):
    table, rows = table_lib.load(os.path.join(ROOT, path))
    assert table.title and table.claim and table.workdir.startswith("artifacts/tables/")
    assert len(rows) >= 2  # a comparison (or a sweep of one row)
    assert len({entry.key for entry in rows}) == len(rows)
    for entry in rows:
        config = entry.config
        assert config.workdir == os.path.join(table.workdir, entry.key)
        # Randomised rows are evaluated as AutoAttack evaluates them ("rand"), the others "standard".
        assert config.evaluation.protocol in ("standard", "rand") and config.evaluation.eps == 0.3
        own = [o for o in entry.overrides if o.startswith("epochs=")]  # a row's own epochs
        assert config.epochs == (int(own[0].split("=")[1]) if own else table.common.epochs)
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    assert f"tfadv table --config {path}" in text  # the docstring gives the command
    config_arg, full = _full_budget_arguments(
        ast.get_docstring(ast.parse(text)), path
    )  # and the full-budget one, which must parse
    _, full_rows = table_lib.load(os.path.join(ROOT, config_arg), full)
    assert full_rows[0].config.epochs > rows[0].config.epochs
    assert full_rows[0].config.evaluation.limit == 5000
    _, smoke_rows = table_lib.load(os.path.join(ROOT, path), smoke=True)
    for entry in smoke_rows:
        assert entry.config.epochs == 1
        assert entry.config.workdir.startswith(table.workdir + "_smoke/")


SEED_TABLES = [path for path in TABLES if "awp_mart_ema" not in path]  # that one takes epochs


@pytest.mark.parametrize("path", SEED_TABLES)
def test_a_seed_table_takes_the_radius_as_its_argument(path):
    """`TABLE.py:0.1`: every row's training radius, the report's and every extra column's are the
    default's (l-inf 0.3, l2 2.0) scaled by 1/3, labels included; a bad radius is refused."""
    default_table, default_rows = table_lib.load(os.path.join(ROOT, path))
    table, rows = table_lib.load(os.path.join(ROOT, path) + ":0.1")
    assert len(rows) == len(default_rows)
    for entry, default in zip(rows, default_rows):
        config, before = entry.config, default.config
        assert config.evaluation.eps == 0.1
        assert config.attack.eps == pytest.approx(before.attack.eps / 3, abs=1e-4)
        assert config.attack.norm == before.attack.norm
        if config.method.name == "mat":
            assert config.method.knobs.l2_eps == pytest.approx(
                before.method.knobs.l2_eps / 3, abs=1e-4
            )
    assert set(table.evaluations) == set(default_table.evaluations)
    for name, column in table.evaluations.items():
        before = default_table.evaluations[name]
        assert column.eps == pytest.approx(before.eps / 3, abs=1e-4)
        if f"eps {before.eps:g}" in before.label:
            assert f"eps {column.eps:g}" in column.label
            assert f"eps {before.eps:g}" not in column.label
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    assert f"tfadv table --config {path}:0.1" in text
    for bad in ("x", "0", "1.5"):
        with pytest.raises(ValueError, match=f"Received: eps='{bad}'"):
            table_lib.load(os.path.join(ROOT, path) + ":" + bad)


def _full_budget_arguments(text, path):
    """The docstring's "Full budget" command (a backslash-continued line): its `--config` value
    (the path, with the file's argument after a colon where it takes one) and its overrides."""
    block = text.split("Full budget", 1)[1].split("\n\n", 2)[1]
    words = shlex.split(block.replace("\\\n", " "))
    assert words[:3] == ["tfadv", "table", "--config"] and words[3].split(":")[0] == path
    return words[3], words[4:]


def _write_table(tmp_path, rows, extra=""):
    """A table config in tmp_path whose rows use the repository's recipes (by absolute path)."""
    path = tmp_path / "tables" / "tiny.py"
    path.parent.mkdir(exist_ok=True)
    body = f"""
        from tfadv.experiment.table_config import base_config, evaluation, row


        def get_config():
            config = base_config()
            config.workdir = {str(tmp_path / "out")!r}
            config.title = "Tiny"
            config.claim = "A test claim (nobody, Table 0)."
            config.common = {{
                "epochs": 2,
                "data": {{"synthetic": True, "train_limit": 32, "validation_size": 16}},
                "evaluation": {{"protocol": "quick", "limit": 8, "checks": False, "pgd_steps": 0}},
                "export": {{"enabled": False}},
                "plot": False,
                "verbose": 0,
            }}
            config.rows = ({rows},)
    """
    path.write_text(textwrap.dedent(body) + textwrap.indent(textwrap.dedent(extra), "    ")
                    + "    return config\n")  # fmt: skip
    return str(path)


def test_common_row_overrides_and_smoke_merge_in_order(tmp_path):
    path = _write_table(
        tmp_path,
        f'row("a", "A", {RECIPE!r}), row("b", "B", {RECIPE!r}, "epochs=3", "data.train_limit=4")',
    )
    _, rows = table_lib.load(path)
    a, b = (entry.config for entry in rows)
    assert (a.epochs, a.data.train_limit, a.evaluation.protocol) == (2, 32, "quick")
    assert (b.epochs, b.data.train_limit) == (3, 4)  # the row's overrides win over `common`
    _, rows = table_lib.load(path, ["--config.common.epochs=5"], smoke=True)
    a, b = (entry.config for entry in rows)
    assert a.epochs == 1 and a.evaluation.limit == config_lib.SMOKE["evaluation"]["limit"]
    assert b.data.train_limit == 4  # and over --smoke, except a row's epochs: one in a smoke run
    assert b.epochs == 1
    assert a.workdir == str(tmp_path / "out_smoke" / "a")


def test_sweep_expands_every_row(tmp_path):
    extra = 'config.sweep = {"field": "attack.eps", "points": (0.1, 0.2)}\n'
    path = _write_table(tmp_path, f'row("a", "A", {RECIPE!r})', extra)
    _, rows = table_lib.load(path)
    assert [entry.key for entry in rows] == ["a_eps_0.1", "a_eps_0.2"]
    assert [entry.config.attack.eps for entry in rows] == [0.1, 0.2]


@pytest.mark.parametrize(
    "rows, extra, message",
    [
        ('row("a", "A", "mnist/nope.py")', "", "Row 'a' (mnist/nope.py): No recipe file"),
        (f'row("a", "A", {RECIPE!r}, "method.knobs.beta=6")', "", "Row 'a'"),
        (f'row("a", "A", {RECIPE!r}, "epochs=0")', "", "epochs"),
        (f'row("a", "A", {RECIPE!r}), row("a", "B", {RECIPE!r})', "", "no repeats"),
        (f'row("a/b", "A", {RECIPE!r})', "", "Row keys name folders"),
        (
            f'row("a", "A", {RECIPE!r})',
            'config.evaluations = {"x": evaluation("X", attack="nope", eps=0.3)}\n',
            "Evaluation 'x'",
        ),
        (
            f'row("a", "A", {RECIPE!r})',
            'config.evaluations = {"x": evaluation("X", attack="pgd", protocol="quick", eps=0.3)}\n',
            "exactly one of",
        ),
        (
            f'row("a", "A", {RECIPE!r})',
            'config.evaluations = {"x": evaluation("X", attack="pgd", eps=0.3, stepz=3)}\n',
            "Evaluation 'x'",
        ),
        (
            f'row("a", "A", {RECIPE!r})',
            'config.sweep = {"field": "attack.eps", "points": ()}\n',
            "A sweep needs both",
        ),
        (
            f'row("a", "A", {RECIPE!r})',
            'config.sweep = {"field": "attack.epz", "points": (0.1,)}\n',
            "attack.epz",
        ),
        (f'row("a", "A", {RECIPE!r})', 'config.common.evaluation.protocol = "nope"\n', "Row 'a'"),
        (
            f'row("a", "A", {RECIPE!r})',
            "config.common.data.trian_limit = 3\n",
            "Row 'a' (.*): `common.data.trian_limit` names no config field",
        ),
    ],
)
def test_bad_tables_fail_before_training_naming_the_culprit(tmp_path, rows, extra, message):
    path = _write_table(tmp_path, rows, extra)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        table_lib.load(path)
    assert not (tmp_path / "out").exists()


def test_smoke_refuses_what_the_full_table_refuses(tmp_path):
    """--smoke sets evaluation.limit (16) over `common`, but the full run's 0 is refused first."""
    path = _write_table(
        tmp_path, f'row("a", "A", {RECIPE!r})', "config.common.evaluation.limit = 0\n"
    )
    for smoke in (False, True):
        with pytest.raises(ValueError, match="Row 'a' .*evaluation.limit"):
            table_lib.load(path, smoke=smoke)


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert "tfadv.cli.table" in SUBCOMMANDS
    path = _write_table(tmp_path, 'row("a", "A", "mnist/nope.py")')
    assert main(["table", "--config", path]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("tfadv table: error: Row 'a'") and "\n" not in error
    path = _write_table(tmp_path, f'row("a", "A", {RECIPE!r})')
    assert main(["table", "--config", path, "--config.common.data.test_limit=3"]) == 2
    error = capsys.readouterr().err.strip()
    assert "table config has no config field 'test_limit'" in error and "\n" not in error
    # a table file's own argument (after the colon), refused by its get_config(): one line
    awp_table = os.path.join(ROOT, "recipes", "tables", "awp_mart_ema.py")
    assert main(["table", "--config", awp_table + ":x"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith("Received: awp_epochs='x'") and "\n" not in error
    assert "Traceback" not in error


def test_awp_table_gives_the_rows_equal_wall_time():
    """AWP's row trains N epochs, the others round(4N/3) (AWP costs 4/3 of TRADES per epoch);
    the epochs come from the file's argument, so --config.common.epochs is refused, not ignored."""
    path = os.path.join(ROOT, "recipes", "tables", "awp_mart_ema.py")
    cases = (("", 3, 4, 0.97), (":15", 15, 20, 0.995), (":1", 1, 1, 0.97), (":4", 4, 5, 0.995))
    for argument, awp, others, ema in cases:
        _, rows = table_lib.load(path + argument)
        epochs = {entry.key: entry.config.epochs for entry in rows}
        assert epochs == {"trades": others, "awp_trades": awp, "mart": others, "trades_ema": others}
        # the EMA's horizon (1 / (1 - momentum) steps) stays short of the row's optimizer steps
        momenta = {entry.key: entry.config.optimizer.ema_momentum for entry in rows}
        assert momenta["trades_ema"] == pytest.approx(ema)
        assert momenta["trades"] == 0.0
    with pytest.raises(ValueError, match="no config field 'epochs'"):
        table_lib.load(path, ["--config.common.epochs=20"])
    with pytest.raises(ValueError, match="Received: awp_epochs='0'"):
        table_lib.load(path + ":0")


def test_awp_table_sets_beta_in_every_trades_row():
    """`awp_mart_ema.py:N,BETA` puts BETA in the three TRADES rows (TRADES, its AWP and its EMA)
    and their labels; MART keeps its own beta 6; without it the rows keep the recipes' beta 1."""
    path = os.path.join(ROOT, "recipes", "tables", "awp_mart_ema.py")
    _, rows = table_lib.load(path + ":6,6")
    betas = {entry.key: entry.config.method.knobs.beta for entry in rows}
    assert betas == {"trades": 6.0, "awp_trades": 6.0, "mart": 6.0, "trades_ema": 6.0}
    labels = {entry.key: entry.label for entry in rows}
    assert labels["trades"] == "TRADES (beta 6)" and "beta 6" in labels["awp_trades"]
    _, rows = table_lib.load(path + ":6")
    betas = {entry.key: entry.config.method.knobs.beta for entry in rows}
    assert betas["trades"] == 1.0 and betas["trades_ema"] == 1.0 and betas["mart"] == 6.0
    for bad in ("x", "-1", "nan", "inf"):
        with pytest.raises(ValueError, match=f"Received: beta='{bad}'"):
            table_lib.load(path + ":6," + bad)


def _fake_finished_row(entry, clean, robust, variant="default"):
    """Writes what a finished `tfadv train` leaves (config, summary, history) for `entry`."""
    folder = entry.config.workdir
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(config_lib.to_plain(entry.config), handle)
    report = {
        "protocol": "quick",
        "protocol_version": "1.1",
        "accuracy_kind": "individual",
        "variant": variant,
        "eot_iter": 20 if variant == "rand" else 1,
        "eps": 0.3,
        "norm": "linf",
        "n_examples": 8,
        "clean_accuracy": clean,
        "robust_accuracy": robust,
        "attacks": [
            {"name": "PGD-20", "accuracy": robust + 0.125},
            {"name": "APGD-CE", "accuracy": robust},
        ],
        "seconds": 3.0,
    }
    summary = {"report": report, "epochs": 2, "best_epoch": 1, "monitor": "val_adv_accuracy"}
    summary["train_seconds"] = 12.0
    with open(os.path.join(folder, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle)
    with open(os.path.join(folder, "history.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([["epoch", "grad_evals", "val_adv_accuracy"], [1, 10, 0.5], [2, 8, 0.25]])


def test_finished_rows_are_reused_and_tabulated(tmp_path, capsys):
    path = _write_table(tmp_path, f'row("a", "PGD-AT", {RECIPE!r}), row("b", "Noisy", {RECIPE!r})',
                        "config.curves = True\n")  # fmt: skip
    _, rows = table_lib.load(path)
    _fake_finished_row(rows[0], 0.875, 0.5)
    _fake_finished_row(rows[1], 0.75, 0.25, variant="rand")
    assert table_lib.run_table(path, command="tfadv table --config tiny.py") == 0
    printed = capsys.readouterr().out
    assert printed.count("finished earlier, reused") == 2  # nothing was trained
    text = (tmp_path / "out" / "table.md").read_text()
    assert text.startswith("# Tiny\n\nCommand: `tfadv table --config tiny.py`\n\nBudget: ")
    assert "Claim: A test claim (nobody, Table 0)." in text
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == [
        "row", "clean", "PGD-20", "APGD-CE", "worst case (quick v1.1, l-inf eps 0.3)",
        "epochs / best", "grad evals / example / epoch", "train s", "eval s",
    ]  # fmt: skip
    assert len(lines) == 4  # header, rule, two rows
    assert [cell.strip() for cell in lines[3].strip("|").split("|")] == [
        "Noisy", "75.0%", "37.5%", "25.0%", "25.0% †", "2 / 1", "9.00", "12", "3",
    ]  # fmt: skip
    assert "† randomised model" in text and (tmp_path / "out" / "curves.png").exists()
    payload = json.loads((tmp_path / "out" / "table.json").read_text())
    assert [r["key"] for r in payload["rows"]] == ["a", "b"]
    assert payload["rows"][0]["grad_evals"] == 9.0 and payload["rows"][0]["robust"] == 0.5


@pytest.mark.slow
def test_smoke_table_end_to_end(tmp_path, capsys):
    """Two rows trained for real (synthetic digits), an extra evaluation, a sweep plot, resume."""
    extra = """
        config.evaluations = {"fgsm": evaluation("FGSM", attack="fgsm", eps=0.3)}
        config.sweep = {"field": "attack.eps", "points": (0.1, 0.3)}
    """
    path = _write_table(tmp_path, f'row("pgd", "PGD-AT", {RECIPE!r})', extra)
    assert main(["table", "--config", path, "--smoke"]) == 0
    out = tmp_path / "out_smoke"
    text = (out / "table.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert "attack.eps" in lines[0] and "FGSM" in lines[0] and len(lines) == 4
    assert (out / "sweep.png").exists() and (out / "pgd_eps_0.1" / "summary.json").exists()
    cache = json.loads((out / "pgd_eps_0.3" / table_lib.EVALUATIONS_FILE).read_text())
    assert 0.0 <= cache["fgsm"]["report"]["robust_accuracy"] <= 1.0
    capsys.readouterr()
    assert main(["table", "--config", path, "--smoke"]) == 0  # the rerun trains nothing
    assert capsys.readouterr().out.count("finished earlier, reused") == 2
