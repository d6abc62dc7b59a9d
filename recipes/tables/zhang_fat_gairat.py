"""Zhang's tables on MNIST: PGD-AT, TRADES, FAT, FAT-TRADES, GAIRAT and GAIR-FAT side by side,
with TRADES-AWP, MART and TRADES with weight averaging.

The nine MNIST recipes (`mnist/pgd_at.py`, `trades.py` (beta 1), `fat.py` (tau 1), `fat_trades.py`
(beta 1, tau 1), `gairat.py` and `gair_fat.py` (tau 1, lambda -1), `awp_trades.py` (beta 1, gamma
5e-3), `mart.py` (beta 6) and `trades_ema.py` (beta 1)), with one training attack budget
(l-inf PGD-10 at eps 0.3, Madry's step 2.5 eps / 10), evaluated under the "standard" protocol (l-inf
eps 0.3) and under the slides' attacks: l-inf FGSM, PGD-20 and C&W-inf (PGD-30 on the CW margin);
with the training attack's gradient evaluations per example per epoch (FAT's saved
back-propagations) and the wall time of training and evaluation. GAIRAT and GAIR-FAT reweight from
epoch 2 (`begin_epoch=1`) at every budget here; their recipes start at epoch 8 of 15. The EMA row
averages with momentum 0.95 (a 20-step horizon, for the reduced budget's 64 optimizer steps; the
recipe's 0.995 would average mostly the initial weights there). Every row trains the same epochs
here; `awp_mart_ema.py` compares the last three with TRADES at equal wall time instead.

Reduced budget (the default; nine rows): 2 epochs on the first 2,000 training digits (200 more held
out for validation), epsilon ramped over the first epoch, evaluation on the first 100 test digits:

    tfadv table --config recipes/tables/zhang_fat_gairat.py

The same reduced budget at eps 0.1, where its models are robust (the file's argument is the l-inf
radius; measured: `docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/zhang_fat_gairat.py:0.1

Full budget (20 epochs on all 10,000 digits, 500 validation, a 5-epoch ramp, 5,000 test digits):

    tfadv table --config recipes/tables/zhang_fat_gairat.py --config.common.epochs=20 \\
        --config.common.data.train_limit=10000 --config.common.data.validation_size=500 \\
        --config.common.eps_schedule.ramp_epochs=5 --config.common.evaluation.limit=5000

Smoke run (one epoch on 128 digits per row; not a result):

    tfadv table --config recipes/tables/zhang_fat_gairat.py --smoke

Reference: Jingfeng Zhang, "Recent Advances and Opportunities in Adversarial Robustness" (slides,
2021): Zhang et al., "Attacks Which Do Not Kill Training Make Adversarial Learning Stronger", ICML
2020 (FAT, FAT for TRADES); Zhang et al., "Geometry-aware Instance-reweighted Adversarial
Training", ICLR 2021 (GAIRAT, GAIR-FAT).
"""

from tfadv.experiment.table_config import base_config, budget, evaluation, radii, row


def get_config(eps="0.3"):
    linf, _ = radii(eps)
    reweight = "method.knobs.begin_epoch=1"
    return base_config(
        workdir="artifacts/tables/zhang_fat_gairat",
        title=(
            "PGD-AT, TRADES, FAT, FAT-TRADES, GAIRAT, GAIR-FAT (Zhang's tables, on MNIST), with "
            "TRADES-AWP, MART and TRADES + EMA"
        ),
        claim=(
            "FAT keeps PGD-AT's robustness with better clean accuracy and fewer gradient "
            "evaluations, GAIRAT raises robustness at about the same clean accuracy, and GAIR-FAT "
            "improves both over PGD-AT (Zhang's slides, FAT Tables 1-2 and GAIRAT Table 1, "
            "CIFAR-10)."
        ),
        common=budget(epochs=2, eps=linf),
        rows=(
            row("pgd_at", "PGD-AT", "mnist/pgd_at.py"),
            row("trades", "TRADES (beta 1)", "mnist/trades.py"),
            row("fat", "FAT (tau 1)", "mnist/fat.py"),
            row("fat_trades", "FAT for TRADES (beta 1, tau 1)", "mnist/fat_trades.py"),
            row("gairat", "GAIRAT", "mnist/gairat.py", reweight),
            row("gair_fat", "GAIR-FAT (tau 1)", "mnist/gair_fat.py", reweight),
            row("awp_trades", "TRADES-AWP (beta 1, gamma 5e-3)", "mnist/awp_trades.py"),
            row("mart", "MART (beta 6)", "mnist/mart.py"),
            row(
                "trades_ema",
                "TRADES + EMA (beta 1, 0.95)",
                "mnist/trades_ema.py",
                "optimizer.ema_momentum=0.95",
            ),
        ),
        evaluations={
            "fgsm": evaluation("FGSM", attack="fgsm", eps=linf),
            "pgd20": evaluation("PGD-20", attack="pgd", eps=linf, steps=20),
            "cw": evaluation("C&W-inf (PGD-30)", attack="pgd", eps=linf, steps=30, loss="cw"),
        },
    )
