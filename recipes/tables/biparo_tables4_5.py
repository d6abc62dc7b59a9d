"""BIPARO Tables 4-5 on MNIST: noise injection at inference and PNI, attacked with EOT.

PGD-AT (`mnist/pgd_at.py`) of `compact_cnn`, of the same network with Gaussian noise (sigma 0.1)
added to its input in training and at inference (`mnist/noise_injection.py`), and of its parametric
noise injection version (`mnist/pni.py`: trainable-scale noise on the weights of every layer). The
two noisy models are randomised (marked with a dagger in the table), so every row is evaluated with
AutoAttack's "rand" version (APGD-CE and APGD-DLR with gradients averaged over 20 draws; each
correctness check is one forward pass, as AutoAttack counts it; on the deterministic PGD-AT row EOT
is idle and one gradient sample is taken). Extra columns: l2 at eps 2.0 under "rand" and l-inf
FGSM at eps 0.3 (no EOT: the report's attack, weak against randomness by construction).

Reduced budget (the default): 3 epochs on the first 2,000 training digits (200 more held out for
validation), epsilon ramped over the first epoch, evaluation on the first 100 test digits (EOT
multiplies the attacks' cost by 20):

    tfadv table --config recipes/tables/biparo_tables4_5.py

The same reduced budget at eps 0.1, where its models are robust (the file's argument is the l-inf
radius of training and evaluation and the l2 radii scale with it (x 20 / 3: 0.6667 for 2.0);
measured: `docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/biparo_tables4_5.py:0.1

Full budget (20 epochs on all 10,000 digits, 500 validation, a 5-epoch ramp, 5,000 test digits):

    tfadv table --config recipes/tables/biparo_tables4_5.py --config.common.epochs=20 \\
        --config.common.data.train_limit=10000 --config.common.data.validation_size=500 \\
        --config.common.eps_schedule.ramp_epochs=5 --config.common.evaluation.limit=5000

Smoke run (one epoch on 128 digits per row; not a result):

    tfadv table --config recipes/tables/biparo_tables4_5.py --smoke

Reference: BIPARO team, "Adversarial training for image classification", 2021, Tables 4 and 5;
He, Rakin, Fan, "Parametric Noise Injection", CVPR 2019; Athalye, Carlini, Wagner, ICML 2018 (EOT).
"""

from tfadv.experiment.table_config import base_config, budget, evaluation, radii, row


def get_config(eps="0.3"):
    linf, l2 = radii(eps)
    return base_config(
        workdir="artifacts/tables/biparo_tables4_5",
        title="Noise injection at inference and PNI, attacked with EOT (BIPARO Tables 4-5)",
        claim=(
            "Noise injection at inference raises adversarial accuracy (Table 4), and parametric "
            "noise injection raises it at a cost in clean accuracy (Table 5) (BIPARO report)."
        ),
        common=budget(eps=linf, evaluation={"protocol": "rand"}),
        rows=(
            row("pgd_at", "PGD-AT", "mnist/pgd_at.py"),
            row("noise", "PGD-AT + input noise 0.1", "mnist/noise_injection.py"),
            row("pni", "PGD-AT, PNI-W", "mnist/pni.py"),
        ),
        evaluations={
            "l2": evaluation(f"l2 rand eps {l2:g}", protocol="rand", eps=l2, norm="l2"),
            "fgsm_linf": evaluation(f"l-inf FGSM eps {linf:g} (no EOT)", attack="fgsm", eps=linf),
        },
    )
