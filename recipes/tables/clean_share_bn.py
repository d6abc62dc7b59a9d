"""Clean share and batch norm on MNIST (Xie and Yuille; AdvProp), on a batch-normalised ResNet-8.

Four trainings of one ResNet-8 (batch norm after every convolution), all with l-inf PGD-10 at eps
0.3: 100% adversarial batches (`mnist/pgd_at.py`); 100% adversarial + 100% clean, the two in one
batch through a single set of batch norms, loss `0.5 CE(clean) + 0.5 CE(adv)`
(`mnist/clean_adv_mix.py`, mode "weighted"); 95% adversarial + 5% clean batches (the same recipe,
mode "batches"); and AdvProp (`mnist/advprop.py`: the same loss, the adversarial half through
auxiliary batch norms, the clean ones kept for inference). "AdvProp with a single batch norm" is the
second row: AdvProp's objective without the auxiliary batch norms (the one difference left is that
the clean and adversarial halves are normalised together rather than one after the other), so it
is not trained twice. Evaluated under the "standard" protocol (l-inf eps 0.3) and under l-inf
PGD-40, l2 PGD-40 (eps 2.0) and l-inf FGSM.

Reduced budget (the default; a ResNet epoch costs 5 to 9 times a compact_cnn one): 4 epochs on
the first 2,000 training digits (200 more held out for validation), epsilon ramped over the first
epoch, evaluation on the first 100 test digits. Less does not train a batch-normalised ResNet: with
2 epochs on 1,000 digits (32 steps) its batch-norm moving statistics still lagged its weights, and
at inference both ResNets predicted one class (14% on the test digits, 9% on the validation ones),
although their training-mode accuracy was rising (`docs/lab-notes/run-log.md`):

    tfadv table --config recipes/tables/clean_share_bn.py

The same reduced budget at eps 0.1, where its models are robust (the file's argument is the l-inf
radius of training and evaluation and the l2 radii scale with it (x 20 / 3: 0.6667 for 2.0);
measured: `docs/results/seed-tables.md`):

    tfadv table --config recipes/tables/clean_share_bn.py:0.1

Full budget (20 epochs on all 10,000 digits, 500 validation, a 5-epoch ramp, 5,000 test digits):

    tfadv table --config recipes/tables/clean_share_bn.py --config.common.epochs=20 \\
        --config.common.data.train_limit=10000 --config.common.data.validation_size=500 \\
        --config.common.eps_schedule.ramp_epochs=5 --config.common.evaluation.limit=5000

Smoke run (one epoch on 128 digits per row; not a result):

    tfadv table --config recipes/tables/clean_share_bn.py --smoke

Reference: Xie and Yuille, "Intriguing Properties of Adversarial Training at Scale", ICLR 2020;
Xie, Tan, Gong, Wang, Yuille, Le, "Adversarial Examples Improve Image Recognition", CVPR 2020
(AdvProp); BIPARO team, 2021, Section 3.3 (95% adversarial + 5% clean batches).
"""

from tfadv.experiment.table_config import base_config, budget, first_order_evaluations, radii, row


def get_config(eps="0.3"):
    linf, l2 = radii(eps)
    resnet = ("model.name=resnet", "model.kwargs={'depth': 8}")
    return base_config(
        workdir="artifacts/tables/clean_share_bn",
        title="Clean share and batch norm (Xie and Yuille; AdvProp), ResNet-8 on MNIST",
        claim=(
            "Removing clean images from training raises robustness, because one batch norm must "
            "serve two domains (Xie and Yuille, ICLR 2020, Section 3); with an auxiliary batch "
            "norm for the adversarial images, they improve clean accuracy (AdvProp, CVPR 2020)."
        ),
        common=budget(epochs=4, train_limit=2000, eps=linf),
        rows=(
            row("adv100", "100% adversarial", "mnist/pgd_at.py", *resnet),
            row(
                "adv100_clean100",
                "100% adv + 100% clean, one BN (= AdvProp with a single BN)",
                "mnist/clean_adv_mix.py",
                *resnet,
                "method.knobs.mode=weighted",
                "method.knobs.clean_weight=0.5",
            ),
            row(
                "adv95_clean5",
                "95% adversarial + 5% clean batches",
                "mnist/clean_adv_mix.py",
                *resnet,
                "method.knobs.mode=batches",
                "method.knobs.clean_fraction=0.05",
            ),
            row("advprop", "AdvProp (auxiliary BN for adversarial)", "mnist/advprop.py"),
        ),
        evaluations=first_order_evaluations(linf, l2),
    )
