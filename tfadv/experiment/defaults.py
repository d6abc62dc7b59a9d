"""The default experiment: the README's main job (TRADES, beta 6, of `compact_cnn` on embedded MNIST).

An `ml_collections` config file: `get_config()` returns every field a recipe may set, with the
main job's values, and `tfadv train` with no `--config` runs it. Recipes under `recipes/` start from
it and change what their experiment changes; any field is overridden on the command line:

    tfadv train --config recipes/mnist/trades.py --config.epochs=10 --config.method.knobs.beta=6

Fields:

- `workdir`: the output folder (config, log, TensorBoard events, checkpoints, report, plot,
  exports).
- `seed`: seeds Keras, the validation split and the attacks.
- `data`: `name` (`tfadv.data.DATASETS`), `validation_size` (held out from the training split),
  `train_limit` / `test_limit` (first N examples), `augment` (random crop and flip:
  `augment_padding` pixels of zero padding, 4, and `augment_flip`, True, as for CIFAR; for digits
  padding 2 and no flip give random shifts of up to 2 pixels; `augment_rotation`, degrees, and
  `augment_zoom`, a fraction, both 0 (off), add `tfadv.data.random_affine`'s random rotation and
  scaling, the classic augmentation for digits),
  `download` (let TensorFlow Datasets download), `synthetic` (uniform random images of the
  dataset's shape and classes, for smoke runs where the data is not on disk).
- `model`: `name` (`tfadv.models.MODELS`), `kwargs` (builder arguments, e.g. `width`), `init` (a
  `.keras` classifier to start from instead of building one).
- `method`: `name` (`tfadv.methods.METHODS`) and `knobs` (its registry knobs). A method named on
  the command line starts from its own knobs' defaults, to which the command line's
  `--config.method.knobs.*` apply: `--config.method.name=mart --config.method.knobs.beta=3`.
- `attack`: the training attack's budget (`tfadv.AttackBudget`: `eps`, `steps`, `step_size`
  (unset: Madry's `2.5 * eps / steps`, 0.075 here), `norm`).
- `eps_schedule`: `kind` (`"constant"` or `"linear_ramp"`) and `ramp_epochs`.
- `optimizer`: `name` (`"adam"`, `"adamw"`, `"sgd"`), `learning_rate`, `momentum`, `nesterov`,
  `weight_decay`, `ema_momentum` (weight averaging: 0 is off; `m` in (0, 1), e.g. 0.995, keeps
  the exponential moving average `a = m * a + (1 - m) * w` of the weights after every step, with
  which validation scores each epoch and which is the evaluated and exported classifier; the
  checkpoints hold the raw weights and the average, so a resumed run continues both).
- `lr_schedule`: `name` (`"constant"`, `"cosine"`, `"piecewise"`), `alpha` (cosine's final
  fraction), `warmup_epochs` (linear warm-up of the cosine), `boundaries` (epochs) and `factors`
  (multipliers after each boundary) for `"piecewise"`.
- `epochs`, `batch_size` (the GLOBAL batch: split over the replicas of `distribution`, so one
  device and eight see the same batches), `verbose` (Keras progress output: 0, 1 or 2).
- `distribution`: `strategy` (`tfadv.distribute.STRATEGIES`: `"default"` one device,
  `"mirrored"` every local GPU, `"multi_worker"` the machines in `TF_CONFIG`, `"tpu"`) and `tpu`
  (the TPU name or address for `"tpu"`; `""`: the local TPU VM). `tfadv train --strategy NAME`
  sets `strategy`.
- `validation`: the PGD that scores each epoch (`steps`, `step_size`, at `evaluation.eps`) and
  `monitor`, the score that picks the kept epoch (`"val_adv_accuracy"`, `"val_clean_accuracy"`
  or `"last"`).
- `evaluation`: the final robustness report (`protocol`, `eps`, `norm`, `limit` test examples,
  `batch_size`, `checks`: its sanity checks) and a PGD-`pgd_steps` line (0, the default, skips
  it; 100 with `pgd_step_size` 0.01 is the line hand-written loops report) for comparison with
  hand-written loops.
- `export`: `enabled` (SavedModel and ONNX with their parity check; the `.keras` classifier is
  always saved) and `parity_examples`.
- `plot`: the robust-accuracy-per-epoch plot (needs matplotlib).
- `smoke`: fields that `--smoke` sets on top of its own shrinking (e.g. a smaller network).

Main job: TRADES with beta 6 (Zhang et al. 2019), 15 epochs: what fits the README's command
(install, training, report and exports) in 15 minutes on the project's 2-core development machine
with the highest "quick" worst case measured (85.34% against PGD-AT's 81.94% at the same budget,
for 1.6 points of clean accuracy); the 20-epoch run is `recipes/mnist/trades_beta6.py`, PGD-AT is
`recipes/mnist/pgd_at.py`. Measured numbers: `recipes/README.md`.
"""

import ml_collections
from ml_collections import config_dict


def get_config():
    """The main job's config (every field a recipe may set)."""
    config = ml_collections.ConfigDict()
    config.workdir = "artifacts/mnist_robust"
    config.seed = 0
    config.data = ml_collections.ConfigDict(
        {
            "name": "embedded_mnist",
            "validation_size": 500,
            "train_limit": config_dict.placeholder(int),
            "test_limit": config_dict.placeholder(int),
            "augment": False,
            "augment_padding": 4,
            "augment_flip": True,
            "augment_rotation": 0.0,
            "augment_zoom": 0.0,
            "download": False,
            "synthetic": False,
        }
    )
    config.model = ml_collections.ConfigDict(
        {"name": "compact_cnn", "kwargs": ml_collections.ConfigDict({"width": 1}), "init": ""}
    )
    # `method_config("trades", beta=6.0)`, written out (config.py reads this file).
    config.method = ml_collections.ConfigDict(
        {"name": "trades", "knobs": ml_collections.ConfigDict({"beta": 6.0})}
    )
    config.attack = ml_collections.ConfigDict(
        {"eps": 0.3, "steps": 10, "step_size": config_dict.placeholder(float), "norm": "linf"}
    )
    config.eps_schedule = ml_collections.ConfigDict({"kind": "linear_ramp", "ramp_epochs": 4.0})
    config.optimizer = ml_collections.ConfigDict(
        {
            "name": "adam",
            "learning_rate": 1e-3,
            "momentum": 0.9,
            "nesterov": False,
            "weight_decay": 0.0,
            "ema_momentum": 0.0,
        }
    )
    config.lr_schedule = ml_collections.ConfigDict(
        {"name": "cosine", "alpha": 0.05, "warmup_epochs": 0.0, "boundaries": (), "factors": ()}
    )
    config.epochs = 15
    config.batch_size = 64
    config.verbose = 2
    config.distribution = ml_collections.ConfigDict({"strategy": "default", "tpu": ""})
    config.validation = ml_collections.ConfigDict(
        {"steps": 10, "step_size": config_dict.placeholder(float), "monitor": "val_adv_accuracy"}
    )
    config.evaluation = ml_collections.ConfigDict(
        {
            "protocol": "quick",
            "eps": 0.3,
            "norm": "linf",
            "limit": config_dict.placeholder(int),
            "batch_size": 256,
            "checks": True,
            "pgd_steps": 0,
            "pgd_step_size": 0.01,
        }
    )
    config.export = ml_collections.ConfigDict({"enabled": True, "parity_examples": 256})
    config.plot = True
    config.smoke = ml_collections.ConfigDict()
    return config
