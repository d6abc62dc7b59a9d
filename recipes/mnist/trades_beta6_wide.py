"""TRADES with beta 6 on a twice-as-wide `compact_cnn` (width 2): the most robust MNIST recipe measured here.

`recipes/mnist/trades_beta6.py` (TRADES, beta 6, 20 epochs with the epsilon ramped over the first
5, PGD-10 KL generation, Adam 1e-3 with cosine decay, batch 64, the epoch kept by validation PGD-10
accuracy, "quick" protocol) with `compact_cnn(width=2)`: conv3-64, pool, conv3-128, pool, dense
256, 1,682,954 parameters against 421,642. Capacity is Madry et al.'s MNIST lever: a wider network
keeps more clean accuracy under a strong training attack. An epoch costs about twice that of
width 1 on a CPU: 1,573 s of training here against 794 s for `trades_beta6.py` (20 epochs each,
`recipes/README.md`).

Command (from the repository root):

    tfadv train --config recipes/mnist/trades_beta6_wide.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/trades_beta6_wide.py --smoke

Measured numbers (with the command that made them): `docs/results/mnist-recipes.md`.

Reference: Zhang, Yu, Jiao, Xing, El Ghaoui, Jordan, "Theoretically Principled Trade-off between
Robustness and Accuracy", ICML 2019; Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep
Learning Models Resistant to Adversarial Attacks", ICLR 2018 (capacity).
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/trades_beta6_wide"
    config.method = method_config("trades", beta=6.0)
    config.model.kwargs.width = 2
    config.epochs = 20
    config.eps_schedule.ramp_epochs = 5.0
    return config
