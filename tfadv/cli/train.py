"""`tfadv train`: train a robust classifier, print its robustness table and export it.

The defaults are the main job of the README: PGD adversarial training of TRADES' SmallCNN on the embedded
MNIST digits (offline), evaluated on the embedded test digits, exported as `.keras` and SavedModel.
"""

import json
import os
import time

import keras
import numpy as np

METHOD_NAMES = ("pgdat", "fast_at", "trades", "alp", "mat", "clean_adv_mix", "fat", "gairat")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="Adversarially train a classifier on a dataset, evaluate it and export it.",
        description=__doc__,
    )
    parser.add_argument(
        "--data", default="embedded_mnist", help="dataset name (tfadv.data.DATASETS)"
    )
    parser.add_argument("--model", default="compact_cnn", help="tfadv.models builder name")
    parser.add_argument("--width", type=int, default=None, help="model width multiplier, if any")
    parser.add_argument("--method", default="pgdat", choices=METHOD_NAMES)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (peak)")
    parser.add_argument(
        "--eps", type=float, default=0.3, help="training and evaluation l-inf radius"
    )
    parser.add_argument(
        "--train-eps", type=float, default=None, help="training radius (default --eps)"
    )
    parser.add_argument("--steps", type=int, default=10, help="PGD steps during training")
    parser.add_argument("--step-size", type=float, default=None, help="default 2.5 * eps / steps")
    parser.add_argument("--ramp-epochs", type=float, default=5.0, help="epsilon warm-up length")
    parser.add_argument("--beta", type=float, default=1.0, help="TRADES beta (MNIST script: 1.0)")
    parser.add_argument("--tau", type=int, default=1, help="FAT tau")
    parser.add_argument("--limit", type=int, default=None, help="use only N training digits")
    parser.add_argument("--validation-size", type=int, default=500)
    parser.add_argument("--eval-limit", type=int, default=None, help="evaluate on N test digits")
    parser.add_argument(
        "--protocol",
        default="quick",
        help="evaluation protocol for the final table (quick|standard)",
    )
    parser.add_argument("--out", default="artifacts/mnist_robust", help="output folder")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel/ONNX export")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=2)
    parser.set_defaults(func=run)
    return parser


def build_method(args, classifier):
    """The `AdvModel` subclass for `--method`, with the training attack and the epsilon warm-up."""
    import tfadv

    train_eps = args.eps if args.train_eps is None else args.train_eps
    step_size = args.step_size if args.step_size is not None else 2.5 * train_eps / args.steps
    attack = tfadv.attacks.PGD(eps=train_eps, step_size=step_size, steps=args.steps)
    schedule = (
        tfadv.schedules.LinearRamp(0.0, train_eps, ramp_epochs=args.ramp_epochs)
        if args.ramp_epochs > 0
        else None
    )
    val_attack = tfadv.attacks.PGD(eps=args.eps, step_size=2.5 * args.eps / 10, steps=10, seed=0)
    common = {"eps_schedule": schedule, "eval_attack": val_attack}

    def early_stopped(tau, random_init="uniform", loss="ce"):
        return tfadv.attacks.EarlyStoppedPGD(
            eps=train_eps,
            step_size=step_size,
            steps=args.steps,
            tau=tau,
            random_init=random_init,
            omega=0.0,
            loss=loss,
        )

    m = args.method
    if m == "pgdat":
        return tfadv.methods.PGDAT(classifier, attack=attack, **common)
    if m == "fast_at":
        return tfadv.methods.FastAT(classifier, eps=train_eps, **common)
    if m == "alp":
        return tfadv.methods.ALP(classifier, attack=attack, **common)
    if m == "mat":
        return tfadv.methods.MAT(classifier, linf_attack=attack, **common)
    if m == "clean_adv_mix":
        return tfadv.methods.CleanAdvMix(classifier, attack=attack, mode="batches", **common)
    if m == "trades":
        kl_attack = early_stopped(args.steps, random_init="normal", loss="kl")
        return tfadv.methods.TRADES(classifier, attack=kl_attack, beta=args.beta, **common)
    if m == "fat":
        return tfadv.methods.FAT(
            classifier, attack=early_stopped(args.tau), tau_schedule=args.tau, **common
        )
    if m == "gairat":
        return tfadv.methods.GAIRAT(
            classifier, attack=early_stopped(args.steps), begin_epoch=args.epochs // 2, **common
        )
    raise ValueError(f"Unknown method. Received: method={m!r}")


def robustness_table(classifier, x, y, eps, protocol):
    """The named protocol's report, and a PGD-100 report for comparison with hand-written loops."""
    import tfadv

    report = tfadv.evaluation.evaluate(classifier, (x, y), eps=eps, norm="linf", protocol=protocol)
    pgd100 = tfadv.evaluation.evaluate(
        classifier,
        (x, y),
        eps=eps,
        norm="linf",
        protocol=[tfadv.attacks.PGD(eps=eps, step_size=0.01, steps=100, seed=0)],
        checks=False,
    )
    return report, pgd100


def check_args(args):
    from tfadv.utils import validation

    validation.check_eps(args.eps, "eps")
    if args.train_eps is not None:
        validation.check_eps(args.train_eps, "train_eps")
    validation.check_steps(args.epochs, "epochs")
    validation.check_steps(args.steps, "steps")
    validation.check_steps(args.batch_size, "batch_size")
    validation.check_number("lr", args.lr, minimum=0.0, strict=True)
    if args.step_size is not None:
        validation.check_number("step_size", args.step_size, minimum=0.0, strict=True)


def run(args):
    import tfadv

    check_args(args)
    builder = getattr(tfadv.models, args.model, None)
    if builder is None or args.model.startswith("_") or not callable(builder):
        raise ValueError(
            f"Unknown model builder; choose one of {sorted(tfadv.models.__all__)}. "
            f"Received: model={args.model!r}"
        )
    keras.utils.set_random_seed(args.seed)
    start = time.time()
    x_train, y_train = tfadv.data.load_numpy(
        args.data, "train", validation_size=args.validation_size, seed=args.seed, limit=args.limit
    )
    x_val, y_val = tfadv.data.load_numpy(
        args.data, "validation", validation_size=args.validation_size, seed=args.seed
    )
    x_test, y_test = tfadv.data.load_numpy(args.data, "test", limit=args.eval_limit)
    num_classes = int(max(y_train.max(), y_test.max()) + 1)
    kwargs = {} if args.width is None else {"width": args.width}
    classifier = builder(input_shape=x_train.shape[1:], num_classes=num_classes, **kwargs)
    model = build_method(args, classifier)
    steps_per_epoch = int(np.ceil(len(x_train) / args.batch_size))
    lr = keras.optimizers.schedules.CosineDecay(
        args.lr, decay_steps=args.epochs * steps_per_epoch, alpha=0.05
    )
    model.compile(optimizer=keras.optimizers.Adam(lr))
    os.makedirs(args.out, exist_ok=True)
    best_path = os.path.join(args.out, "best_adv_model.weights.h5")
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            best_path,
            monitor="val_adv_accuracy",
            mode="max",
            save_best_only=True,
            save_weights_only=True,
        ),
        keras.callbacks.BackupAndRestore(os.path.join(args.out, "backup")),
    ]
    print(
        f"tfadv train: {type(model).__name__} on {args.data} ({len(x_train)} training digits, "
        f"{len(x_val)} validation), model {args.model}, eps {args.eps}, PGD-{args.steps} training"
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        verbose=args.verbose,
    )
    train_seconds = time.time() - start
    best_epoch = int(np.argmax(history.history["val_adv_accuracy"]))
    model.load_weights(best_path)
    print(
        f"trained in {train_seconds:.0f} s; restored the epoch with the best validation PGD-10 "
        f"accuracy (epoch {best_epoch + 1}, {history.history['val_adv_accuracy'][best_epoch]:.4f})"
    )
    classifier = model.classifier
    report, pgd100 = robustness_table(classifier, x_test, y_test, args.eps, args.protocol)
    print(report)
    print(
        f"For comparison with a hand-written loop's number: {pgd100.attacks[0]['name']} "
        f"({pgd100.attacks[0]['budget']}) accuracy {pgd100.robust_accuracy:.2%} "
        f"on {pgd100.n_examples} test digits"
    )
    classifier_path = os.path.join(args.out, "classifier.keras")
    classifier.save(classifier_path)
    model.save(os.path.join(args.out, "adv_model.keras"))
    outputs = {"keras": classifier_path}
    if not args.no_export:
        saved = tfadv.export.to_saved_model(classifier, os.path.join(args.out, "saved_model"))
        onnx_path = tfadv.export.to_onnx(classifier, os.path.join(args.out, "model.onnx"))
        parity = tfadv.export.verify(onnx_path, classifier, x_test[:256])
        print(parity)
        outputs.update(saved_model=str(saved), onnx=str(onnx_path))
    summary = {
        "method": type(model).__name__,
        "train_seconds": round(train_seconds, 1),
        "best_epoch": best_epoch + 1,
        "report": report.to_dict(),
        "pgd100": pgd100.to_dict(),
        "outputs": outputs,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, default=str)
    print(f"total {time.time() - start:.0f} s; outputs: {json.dumps(outputs)}")
    return 0
