"""TRADES-AWP, MART and TRADES with weight averaging against TRADES, at equal wall time (issue 14).

`compact_cnn` on the embedded MNIST at l-inf eps 0.3, four rows on the same digits: TRADES
(`mnist/trades.py`, beta 1.0), TRADES inside adversarial weight perturbation
(`mnist/awp_trades.py`, gamma 5e-3), MART (`mnist/mart.py`, beta 6.0) and TRADES with an EMA of the
weights (`mnist/trades_ema.py`). AWP adds one forward-backward pass per step (its weight
perturbation; measured 1.33x TRADES' training time at equal epochs), MART and the EMA cost what
TRADES costs. For equal wall time the AWP row trains N epochs and the three others round(4 N / 3);
N is the file's argument (`awp_mart_ema.py:N`, default 3), and the rows' epochs come from it, not
from `--config.common.epochs`. An optional second argument sets beta in the three TRADES rows
(`awp_mart_ema.py:6,6`; default 1.0, TRADES' MNIST value): at 6 they regularise as hard as MART's
beta 6, so the table compares the methods rather than the strength of their regularisers. The
table's train seconds show how equal the wall times were. At N <= 3 (the reduced budget: 96 to
128 optimizer steps) the EMA momentum is 0.97 rather than the recipe's 0.995, whose 200-step
horizon would average mostly the initial weights; from N = 4 on (at least 5 epochs, 140+ steps on
2,000 digits, 740+ on 10,000) the row keeps the recipe's 0.995.

Reduced budget (the default): AWP 3 epochs, the others 4, on the first 2,000 training digits (200
more held out for validation), epsilon ramped over the first epoch, "standard" protocol on the first
100 test digits:

    tfadv table --config recipes/tables/awp_mart_ema.py

At this budget no row is robust at eps 0.3; at eps 0.1 they are (the command measured in
`docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/awp_mart_ema.py --config.common.attack.eps=0.1 \\
        --config.common.evaluation.eps=0.1

At eps 0.3 on all 10,000 digits, AWP 6 epochs and the others 8, a 3-epoch ramp, "standard" on
500 test digits (71 minutes here; measured in `docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/awp_mart_ema.py:6 \\
        --config.common.data.train_limit=10000 --config.common.data.validation_size=500 \\
        --config.common.eps_schedule.ramp_epochs=3 --config.common.evaluation.limit=500

The same with every TRADES row at beta 6, MART's strength (measured in
`docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/awp_mart_ema.py:6,6 \\
        --config.common.data.train_limit=10000 --config.common.data.validation_size=500 \\
        --config.common.eps_schedule.ramp_epochs=3 --config.common.evaluation.limit=500

Full budget (AWP 15 epochs, the others 20, on all 10,000 digits, 500 validation, a 5-epoch ramp,
5,000 test digits):

    tfadv table --config recipes/tables/awp_mart_ema.py:15 \\
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


def get_config(argument="3"):
    epochs_text, _, beta_text = str(argument).partition(",")
    if not epochs_text.isdigit() or int(epochs_text) < 1:
        raise ValueError(
            "The file's argument is the AWP row's epochs, an integer >= 1, optionally followed by "
            f"TRADES' beta (awp_mart_ema.py:3 or awp_mart_ema.py:6,6). Received: awp_epochs={epochs_text!r}"
        )
    beta = 1.0
    if beta_text:
        try:
            beta = float(beta_text)
        except ValueError:
            beta = -1.0
        if not beta >= 0 or beta != beta or beta == float("inf"):
            raise ValueError(
                "TRADES' beta after the comma must be a finite number >= 0 (awp_mart_ema.py:6,6). "
                f"Received: beta={beta_text!r}"
            )
    awp = int(epochs_text)
    others = f"epochs={round(4 * awp / 3)}"
    ema = 0.97 if awp <= 3 else 0.995
    trades_beta = (f"method.knobs.beta={beta!r}",) if beta_text else ()  # 1.0: the recipes' own
    common = budget()
    del common["epochs"]  # every row sets its own (equal wall time), so none is in common
    return base_config(
        workdir="artifacts/tables/awp_mart_ema",
        title="TRADES-AWP, MART and TRADES + EMA against TRADES at equal wall time (on MNIST)",
        claim=(
            "Adversarial weight perturbation, MART and weight averaging each raise worst-case "
            "robust accuracy over TRADES (Wu et al. 2020; Wang et al. 2020; Gowal et al. 2020)."
        ),
        common=common,
        rows=(
            row("trades", f"TRADES (beta {beta:g})", "mnist/trades.py", others, *trades_beta),
            row(
                "awp_trades",
                f"TRADES-AWP (beta {beta:g}, gamma 5e-3)",
                "mnist/awp_trades.py",
                f"epochs={awp}",
                *trades_beta,
            ),
            row("mart", "MART (beta 6)", "mnist/mart.py", others),
            row(
                "trades_ema",
                f"TRADES + EMA (beta {beta:g}, {ema:g})",
                "mnist/trades_ema.py",
                others,
                f"optimizer.ema_momentum={ema:g}",
                *trades_beta,
            ),
        ),
    )
