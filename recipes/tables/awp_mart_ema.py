"""TRADES-AWP, MART and TRADES with weight averaging against TRADES, at one budget (issue 14).

`compact_cnn` on the embedded MNIST at l-inf eps 0.3, four rows trained for the same epochs on the
same digits: TRADES (`mnist/trades.py`, beta 1.0), TRADES inside adversarial weight perturbation
(`mnist/awp_trades.py`, gamma 5e-3), MART (`mnist/mart.py`, beta 6.0) and TRADES with an EMA of the
weights (`mnist/trades_ema.py`). AWP adds one forward-backward pass per step (its weight
perturbation), MART and the EMA cost what TRADES costs; the table's train seconds show how equal
the wall times were. At the reduced budget (96 optimizer steps) the EMA momentum is 0.97 rather
than the recipe's 0.995, whose 200-step horizon would average mostly the initial weights.

Reduced budget (the default): 3 epochs on the first 2,000 training digits (200 more held out for
validation), epsilon ramped over the first epoch, "standard" protocol on the first 100 test digits:

    tfadv table --config recipes/tables/awp_mart_ema.py

Full budget (20 epochs on all 10,000 digits, 500 validation, a 5-epoch ramp, 5,000 test digits):

    tfadv table --config recipes/tables/awp_mart_ema.py --config.common.epochs=20 \\
        --config.common.data.train_limit=10000 --config.common.data.validation_size=500 \\
        --config.common.eps_schedule.ramp_epochs=5 --config.common.evaluation.limit=5000

Smoke run (one epoch on 128 digits per row; not a result):

    tfadv table --config recipes/tables/awp_mart_ema.py --smoke

Reference: Wu, Xia, Wang, "Adversarial Weight Perturbation Helps Robust Generalization", NeurIPS
2020; Wang, Zou, Yi, Bailey, Ma, Gu, "Improving Adversarial Robustness Requires Revisiting
Misclassified Examples", ICLR 2020; Gowal et al., "Uncovering the Limits of Adversarial Training
against Norm-Bounded Adversarial Examples", arXiv:2010.03593 (weight averaging).
"""

from tfadv.experiment.table_config import base_config, budget, row


def get_config():
    return base_config(
        workdir="artifacts/tables/awp_mart_ema",
        title="TRADES-AWP, MART and TRADES + EMA against TRADES (on MNIST)",
        claim=(
            "Adversarial weight perturbation, MART and weight averaging each raise worst-case "
            "robust accuracy over TRADES (Wu et al. 2020; Wang et al. 2020; Gowal et al. 2020)."
        ),
        common=budget(),
        rows=(
            row("trades", "TRADES (beta 1)", "mnist/trades.py"),
            row("awp_trades", "TRADES-AWP (gamma 5e-3)", "mnist/awp_trades.py"),
            row("mart", "MART (beta 6)", "mnist/mart.py"),
            row(
                "trades_ema",
                "TRADES + EMA (0.97)",
                "mnist/trades_ema.py",
                "optimizer.ema_momentum=0.97",
            ),
        ),
    )
