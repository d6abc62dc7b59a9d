"""BIPARO Table 3 on MNIST: capacity, by width and by depth, at one training budget.

PGD-AT (`mnist/pgd_at.py`: l-inf PGD-10 at eps 0.3) of `compact_cnn` at width 1 and 2 (wider:
twice the channels and units, 0.42M and 1.68M parameters) and of batch-normalised ResNets of depth
8 and 14 (deeper), with the same epochs, data and optimizer, each evaluated under the "standard"
protocol (l-inf eps 0.3) and under l-inf PGD-40, l2 PGD-40 (eps 2.0) and l-inf FGSM. The report
trained its three networks with MAT-Rand; PGD-AT keeps the comparison about capacity alone (Madry et al.'s
claim, and Xie and Yuille's on depth).

Reduced budget (the default): 4 epochs on the first 2,000 training digits (200 more held out
for validation), epsilon ramped over the first epoch, evaluation on the first 100 test digits; the
ResNets need that many steps (why: `clean_share_bn.py`, the same budget):

    tfadv table --config recipes/tables/biparo_table3.py

The same reduced budget at eps 0.1, where its models are robust (the file's argument is the l-inf
radius of training and evaluation and the l2 radii scale with it (x 20 / 3: 0.6667 for 2.0);
measured: `docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/biparo_table3.py:0.1

Full budget (20 epochs on all 10,000 digits, 500 validation, a 5-epoch ramp, 5,000 test digits):

    tfadv table --config recipes/tables/biparo_table3.py --config.common.epochs=20 \\
        --config.common.data.train_limit=10000 --config.common.data.validation_size=500 \\
        --config.common.eps_schedule.ramp_epochs=5 --config.common.evaluation.limit=5000

Smoke run (one epoch on 128 digits per row; not a result):

    tfadv table --config recipes/tables/biparo_table3.py --smoke

Reference: BIPARO team, "Adversarial training for image classification", 2021, Table 3 (CIFAR-10,
ResNet-20 / Wide ResNet-18 / VGG-11); Madry et al., ICLR 2018 (capacity); Xie and Yuille,
"Intriguing Properties of Adversarial Training at Scale", ICLR 2020 (depth).
"""

from tfadv.experiment.table_config import base_config, budget, first_order_evaluations, radii, row


def get_config(eps="0.3"):
    linf, l2 = radii(eps)
    resnet = "model.name=resnet"
    return base_config(
        workdir="artifacts/tables/biparo_table3",
        title="Capacity: width and depth at one training budget (BIPARO Table 3, on MNIST)",
        claim=(
            "More capacity improves robustness and clean accuracy, and for a given capacity wider "
            "networks are more robust than deeper ones (BIPARO report, Table 3); deeper networks "
            "are more robust (Xie and Yuille, ICLR 2020)."
        ),
        common=budget(epochs=4, train_limit=2000, eps=linf),
        rows=(
            row("cnn_w1", "compact_cnn, width 1", "mnist/pgd_at.py"),
            row(
                "cnn_w2", "compact_cnn, width 2 (wider)", "mnist/pgd_at.py", "model.kwargs.width=2"
            ),
            row("resnet8", "ResNet-8", "mnist/pgd_at.py", resnet, "model.kwargs={'depth': 8}"),
            row(
                "resnet14",
                "ResNet-14 (deeper)",
                "mnist/pgd_at.py",
                resnet,
                "model.kwargs={'depth': 14}",
            ),
        ),
        evaluations=first_order_evaluations(linf, l2),
    )
