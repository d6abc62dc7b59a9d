"""
Title: Recipes and seed tables from the command line
Author: tfadv
Description: Run a training recipe with `tfadv train`, override its fields, read its output folder, and reproduce a paper's table with `tfadv table`.
"""

"""
## Setup

Besides the library, tfadv ships an experiment layer: a *recipe* is an `ml_collections`
config file (`recipes/mnist/*.py`, `recipes/cifar10/*.py`) that names the model, the method,
the attack budget, the optimizer, the evaluation and the exports, and `tfadv train` runs it into
one output folder. A *table* config (`recipes/tables/*.py`) is one experiment of a paper: rows
of recipes with overrides, trained, evaluated and tabulated by `tfadv table`.

This guide calls the command line in-process through `tfadv.cli.main.main`, which takes the
same arguments as the `tfadv` command and returns its exit code; in a shell, type the same
words after `tfadv`. With `TFADV_EXAMPLE_SMOKE=1` every command gets `--smoke` (one epoch on a
few digits, what the test suite runs); without it the commands run their full budget (the
TRADES recipe's 15 epochs and the table's three rows take well over an hour on a laptop CPU).
"""

import json
import os
import tempfile

from tfadv.cli.main import main as tfadv_cli
from tfadv.evaluation import RobustnessReport

SMOKE = os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"
SMOKE_FLAG = ["--smoke"] if SMOKE else []
folder = tempfile.mkdtemp()


def tfadv(*args):
    """Runs `tfadv ARGS...` and stops the guide if the command fails."""
    print("$ tfadv", " ".join(args))
    code = tfadv_cli(list(args))
    if code != 0:
        raise SystemExit(f"`tfadv {' '.join(args)}` exited with {code}")


"""
## Train a recipe

`recipes/mnist/trades.py` is TRADES with beta 1 on the embedded MNIST digits (offline).
Any field of the config is overridden on the command line by its path, here the output folder
(`config.workdir`) and the method's `beta` knob; `tfadv train --help` lists every field with
its default and its domain. The run prints its training log, the robustness report of the kept
epoch and the parity checks of its exports.
"""

run = os.path.join(folder, "trades")
tfadv(
    "train",
    "--config",
    "recipes/mnist/trades.py",
    f"--config.workdir={run}",
    "--config.method.knobs.beta=6.0",
    *SMOKE_FLAG,
)

"""
## The run folder

One folder holds everything about the run: the resolved config and the command, the training
log and per-epoch history, TensorBoard events, resumable checkpoints (rerunning the same command
after an interruption resumes it; a changed config is refused), the report as text and JSON,
the robust-accuracy plot, and the exports (`.keras`, SavedModel, ONNX) with their parity
checks. `report.json` holds the final evaluation's `RobustnessReport`, under `"report"`.
"""

print(sorted(os.listdir(run)))
with open(os.path.join(run, "command.txt")) as file:
    print("command:", file.read().strip())
with open(os.path.join(run, "report.json")) as file:
    report = RobustnessReport.from_dict(json.load(file)["report"])
print(report.summary)

"""
## Bad input gets one line, not a traceback

Every field is checked before anything trains; a wrong value is answered with one line that
names the field by its path and quotes the value, and a non-zero exit code.
"""

code = tfadv_cli(
    ["train", "--config", "recipes/mnist/trades.py", "--config.attack.eps=-1", "--smoke"]
)
print("exit code:", code)

"""
## Reproduce a table

`recipes/tables/biparo_table1.py` trains with three attacks (l-inf PGD, l2 PGD, l-inf FGSM)
and evaluates every model under every attack plus the `"standard"` protocol. The table command
checks every row first, trains them one after the other into `WORKDIR/ROW` (resumable, row by
row), then writes `table.md` (the command, the budget, the paper's claim and the table),
`table.json` and the figures, and prints the table. The config's docstring gives its full-budget command.
"""

table = os.path.join(folder, "biparo_table1")
tfadv(
    "table", "--config", "recipes/tables/biparo_table1.py", f"--config.workdir={table}", *SMOKE_FLAG
)

print(sorted(os.listdir(table)))
with open(os.path.join(table, "table.json")) as file:
    rows = json.load(file)["rows"]
print(len(rows), "rows in table.json, with the fields", sorted(rows[0]))

"""
At smoke size the models are trained for one epoch on a few digits and the table says nothing
about the claim (the page itself says so: "not a result"). Run it at full budget to see; the
other seed tables are in `recipes/tables/`, and `recipes/README.md` lists every recipe.
"""
