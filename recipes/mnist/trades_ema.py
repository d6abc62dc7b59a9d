"""TRADES (Zhang et al. 2019) with weight averaging on MNIST.

TRADES as in `recipes/mnist/trades.py` (beta 1.0), with the exponential moving average of the
weights kept by the optimizer (`optimizer.ema_momentum` 0.995, Gowal et al.'s decay): validation
scores the averaged weights, the kept epoch is chosen on them, and the evaluated and exported
classifier is the average of that epoch. The checkpoints hold the raw weights with the average, so
an interrupted run resumes both.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/trades_ema.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/trades_ema.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Zhang, Yu, Jiao, Xing, El Ghaoui, Jordan, "Theoretically Principled Trade-off between
Robustness and Accuracy", ICML 2019; Gowal, Qin, Uesato, Mann, Kohli, "Uncovering the Limits of
Adversarial Training against Norm-Bounded Adversarial Examples", arXiv:2010.03593 (EMA decay
0.995).
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/trades_ema"
    config.method = method_config("trades", beta=1.0)
    config.optimizer.ema_momentum = 0.995
    return config
