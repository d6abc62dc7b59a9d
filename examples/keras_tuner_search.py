"""
Title: A Keras Tuner search over epsilon and width
Author: tfadv
Description: Search PGD-AT's training radius and the network's width for robust accuracy with `tfadv.tuning.tune` (Keras Tuner's oracles), read the best trial, and run the same search with `tfadv tune`.
"""

"""
## Setup

Which training epsilon, and how wide a network? Both change robust accuracy, and neither can be
read off the clean accuracy. tfadv's tuning layer answers such questions with
[Keras Tuner](https://keras.io/keras_tuner/)'s oracles: a search is a *recipe* (the config file
`tfadv train` runs, see the guide on recipes) with a `search` section, and every trial is a full
`tfadv train` run of the recipe with the trial's values set. The oracle (grid, random, Bayesian or
Hyperband) proposes the values; each trial's score is the run's **validation robust accuracy**
(`val_adv_accuracy`: PGD at `evaluation.eps` on the held-out digits), which the search maximises.

`tfadv.tuning` imports `keras_tuner`, so it is imported explicitly (`import tfadv` does not
import it).

This guide reads one environment variable: with `TFADV_EXAMPLE_SMOKE=1` the search runs as
`tfadv tune --smoke` does (two trials of one epoch on 128 digits, 2-step attacks, 16 test digits;
seconds, what the test suite runs); otherwise at its real size (six trials, each 4 epochs of PGD-AT
on 3,000 digits, then every trial's classifier attacked on 500 test digits; an estimated 10 to 15
minutes on a laptop CPU, from `recipes/tuning/mnist_tune.py`: the same budget at width 1 measured
four trials in 4 minutes on a 2-core machine, and width 2 costs about twice as much per epoch).
"""

import json
import os
import tempfile

import keras

import tfadv
import tfadv.experiment
import tfadv.tuning
from tfadv.cli.main import main as tfadv_cli

SMOKE = os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"
folder = tempfile.mkdtemp()

"""
## The search is a recipe with a `search` section

The recipe below is PGD-AT (10-step PGD, the radius ramped up over the first epoch, Adam 1e-3) of
`tfadv.models.compact_cnn` on 3,000 embedded MNIST digits for 4 epochs, scored each epoch by
PGD-10 at eps 0.3 on 300 held-out digits. `validation.monitor = "last"` scores (and keeps) each
trial's last epoch, so that every trial gets the same training.

The `search` section names:

- `tuner`: the Keras Tuner oracle, by name (`tfadv.tuning.TUNERS`: `random`, `bayesian`,
  `hyperband`, `grid`);
- `max_trials`: the most trials;
- `space`: the searched config fields, by path with `__` for the dots. Any field a run reads can
  be searched: here the training radius `attack.eps` and the builder's argument
  `model.kwargs.width` (`compact_cnn(width=2)` doubles every layer). A field is searched over a
  choice, `{"values": (...)}`, or a range, `{"min": a, "max": b}` with an optional `"step"` and
  `"sampling": "log"` (`tfadv.tuning.Dimension`). Every value is checked, as a run's config is,
  before the first trial;
- `test_eps` (optional): after the search, every trial's classifier is attacked at these test
  radii (the `"quick"` protocol on `evaluation.limit` test digits), which shows how the choice
  holds up at radii other than the one it was scored at.

A grid search over 3 radii and 2 widths is 6 trials. The `smoke` section holds the fields that
`--smoke` sets on top of its own (one epoch on 128 digits, 16 test digits): here 2-step attacks and
one test radius.
"""

RECIPE = '''"""PGD-AT on MNIST: which training eps and compact_cnn width, for robustness at 0.3?"""

import ml_collections

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()
    config.workdir = "artifacts/mnist_eps_width"
    config.method = method_config("pgdat")
    config.model.name = "compact_cnn"
    config.data.train_limit = 3000
    config.data.validation_size = 300
    config.attack.steps = 10
    config.eps_schedule.ramp_epochs = 1.0
    config.lr_schedule.name = "constant"
    config.epochs = 4
    config.validation.monitor = "last"
    config.evaluation.eps = 0.3
    config.evaluation.limit = 500
    config.evaluation.checks = False
    config.export.enabled = False
    config.plot = False
    with config.unlocked():
        config.search = ml_collections.ConfigDict(
            {
                "tuner": "grid",
                "max_trials": 6,
                "space": ml_collections.ConfigDict(
                    {
                        "attack__eps": {"values": (0.1, 0.2, 0.3)},
                        "model__kwargs__width": {"values": (1, 2)},
                    }
                ),
                "test_eps": (0.1, 0.2, 0.3),
                "test_limit": ml_collections.config_dict.placeholder(int),
            }
        )
    config.smoke = ml_collections.ConfigDict(
        {
            "attack": {"steps": 2},
            "validation": {"steps": 2},
            "search": {"test_eps": (0.3,)},
        }
    )
    return config
'''

recipe = os.path.join(folder, "mnist_eps_width.py")
with open(recipe, "w", encoding="utf-8") as file:
    file.write(RECIPE)

"""
## Run the search from Python

`tfadv.experiment.parse` reads the recipe with `--config.FIELD=VALUE` overrides (here the output
folder) and, with `smoke=True`, shrinks it as `--smoke` does. `tfadv.tuning.tune` then runs the
search: each trial trains into `WORKDIR/trials/ID` and prints its score. With `smoke=True` it
runs at most two trials.
"""

workdir = os.path.join(folder, "search")
config, _ = tfadv.experiment.parse(recipe, [f"--config.workdir={workdir}"], smoke=SMOKE)
print(config.search)
code = tfadv.tuning.tune(config, smoke=SMOKE)
print("tune returned", code)

"""
## Read the best trial

The search folder holds the trials table (`trials.txt|csv|json`: every trial's values, its
validation robust accuracy and its test report), `best.json` (the trial with the highest
`val_adv_accuracy`, and where its classifier is), `test_eps.txt|json` (every trial's classifier
at each test radius) and one `tfadv train` run folder per trial.

The best trial's classifier is a plain Keras model.
"""

print(sorted(os.listdir(workdir)))
with open(os.path.join(workdir, "best.json")) as file:
    best = json.load(file)
print(
    f"best trial {best['trial']}: attack.eps={best['attack.eps']}, "
    f"width={best['model.kwargs.width']}, val_adv_accuracy={best['val_adv_accuracy']:.3f}, "
    f"test robust accuracy={best['test_robust_accuracy']}"
)
classifier = keras.saving.load_model(os.path.join(best["run_folder"], "classifier.keras"))
print(f"its classifier: {classifier.name}, {classifier.count_params():,} parameters")

with open(os.path.join(workdir, "test_eps.json")) as file:
    matrix = json.load(file)
for row in matrix["rows"]:
    accuracy = ", ".join(f"{e:g}: {a:.3f}" for e, a in zip(matrix["test_eps"], row["accuracy"]))
    print(
        f"trial {row['trial']} (eps {row['attack.eps']}, width {row['model.kwargs.width']}): "
        f"clean {row['clean_accuracy']:.3f}; robust at {accuracy}"
    )

"""
At smoke size two barely trained models are compared and the numbers mean nothing. At the real
size, `recipes/tuning/mnist_tune.py` (the same budget, width 1 only, eps 0.1 to 0.4) found that
training at eps 0.3 is best at test eps 0.3 (0.546 robust accuracy against 0.044 when trained at
0.2); the width axis asks whether the wider network turns the same budget into more robustness.

## The same search from the command line

`tfadv tune --config RECIPE` is the same call: the same overrides, `--smoke`, and `--overwrite` to
start afresh. Run on a folder that holds the search, it resumes it: finished trials are not
trained again (an interrupted trial resumes from its last epoch), and the tables are rewritten.
Here it finds every trial finished and only rewrites the tables. A changed recipe is refused (a
larger `search.max_trials` extends the search instead).

In a shell, type the same words after `tfadv`; this guide calls the command in-process through
`tfadv.cli.main.main`, which takes the same arguments and returns the exit code.
"""

argv = ["tune", "--config", recipe, f"--config.workdir={workdir}"]
argv += ["--smoke"] if SMOKE else []
print("$ tfadv", " ".join(argv))
code = tfadv_cli(argv)
if code != 0:
    raise SystemExit(f"`tfadv {' '.join(argv)}` exited with {code}")

"""
The search's own pick is the best validation robust accuracy at one radius, on 300 held-out
digits: check it on the test set before trusting it, with the full `"standard"` protocol
(`tfadv evaluate WORKDIR/trials/ID/classifier.keras --protocol standard`, see the guide on
evaluating any model). `recipes/tuning/mnist_tune.py` is the measured search this guide
extends.
"""
