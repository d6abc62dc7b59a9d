"""`tfadv export`: a trained `.keras` model to a SavedModel or ONNX file, with a parity check.

    tfadv export MODEL.keras --format saved_model|onnx --out DIR [--opset 17] [--version N]
        [--input-shape H,W,C] [--stochastic] [--no-verify] [--verify-examples 256]

By default the export is verified: the exported file and the Keras model are run on the embedded
MNIST test digits (28x28x1 models) or on uniform random images (other shapes), and on PGD
adversarial examples crafted on the Keras model; the parity report is printed and the exit code is 1
when parity fails.
"""

import os

import numpy as np

FORMATS = ("saved_model", "onnx")


def add_parser(subparsers):
    """Registers the `export` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="Export a .keras model to a SavedModel or ONNX file and verify parity.",
        description=(
            "Export a trained .keras classifier (an AdvModel exports its classifier) to a "
            "TF-Serving-style SavedModel folder or an ONNX file, then verify that the exported "
            "file gives the same logits, predictions and adversarial accuracy as the Keras model."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="path of the trained model, a .keras file")
    parser.add_argument(
        "--format", required=True, choices=FORMATS, help="the export format (required)"
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder: receives <version>/ (saved_model) or <model name>.onnx (onnx); "
        "a path ending in .onnx names the ONNX file itself",
    )
    parser.add_argument(
        "--opset", type=int, default=17, help="ONNX opset (onnx format only; default: 17)"
    )
    parser.add_argument(
        "--version",
        type=int,
        default=None,
        help="TF Serving version folder (saved_model format only; default: the next free number)",
    )
    parser.add_argument(
        "--input-shape",
        default=None,
        help="per-example image shape H,W,C for models without a fixed input shape, e.g. 32,32,3",
    )
    parser.add_argument(
        "--stochastic",
        action="store_true",
        help="keep noise layers sampling at inference (the parity check is then skipped)",
    )
    parser.add_argument(
        "--no-verify", dest="verify", action="store_false", help="skip the parity check"
    )
    parser.add_argument(
        "--verify-examples",
        type=int,
        default=256,
        help="number of images the parity check uses (default: 256)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Runs `tfadv export`; returns the exit code (1 when the parity check fails)."""
    import keras

    import tfadv  # noqa: F401  (registers tfadv's serialisable classes before loading)
    from tfadv import export
    from tfadv.export import _prepare

    if not os.path.isfile(args.model):
        raise FileNotFoundError(f"No model file at {args.model!r}. Received: MODEL={args.model!r}")
    if args.verify_examples < 1:
        raise ValueError(
            f"`--verify-examples` must be >= 1. Received: --verify-examples={args.verify_examples}"
        )
    input_shape = _parse_shape(args.input_shape)
    model = keras.saving.load_model(args.model, compile=False, safe_mode=True)

    if args.format == "saved_model":
        version = args.version if args.version is not None else _next_version(args.out)
        path = export.to_saved_model(
            model, args.out, version=version, stochastic=args.stochastic, input_shape=input_shape
        )
    else:
        out = args.out
        if not out.lower().endswith(".onnx"):
            stem = os.path.splitext(os.path.basename(args.model))[0] or "model"
            out = os.path.join(out, stem + ".onnx")
        path = export.to_onnx(
            model, out, opset=args.opset, stochastic=args.stochastic, input_shape=input_shape
        )
    print(f"Exported {args.model} ({args.format}) to {path}")

    if not args.verify:
        return 0
    if args.stochastic:
        print(
            "Parity check skipped: a --stochastic export samples fresh noise at every call, so its "
            "outputs cannot match the Keras model's. Export without --stochastic to verify the "
            "same layers deterministically."
        )
        return 0
    classifier = _prepare.unwrap(model)
    shape = _prepare.resolve_input_shape(classifier, input_shape)
    x, y, source = _verification_data(shape, args.verify_examples)
    if y is None:
        with _prepare.deployment_state(classifier, stochastic=False):
            logits = keras.ops.convert_to_numpy(_prepare.logits_fn(classifier)(x))
        y = np.argmax(logits, axis=-1)
        source += ", labelled with the Keras model's own predictions"
    attack = _default_attack(shape)
    against = "" if attack is None else f" and on {attack!r} adversarial examples"
    print(f"Verifying on {len(x)} {source}{against}.")
    report = export.verify(path, model, x, y, attack=attack)
    print(report)
    return 0 if report.passed else 1


def _parse_shape(text):
    if text is None:
        return None
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise ValueError(
            "`--input-shape` must be positive integers separated by commas, e.g. 32,32,3. "
            f"Received: --input-shape={text!r}"
        )
    return shape


def _next_version(base):
    """The next TF Serving version number under `base`: 1 + the highest numbered folder, or 1."""
    if not os.path.isdir(base):
        return 1
    versions = [int(name) for name in os.listdir(base) if name.isdigit()]
    return max(versions, default=0) + 1


def _verification_data(shape, count):
    """Embedded MNIST test digits for 28x28x1 models, else seeded uniform images in [0, 1]."""
    if tuple(shape) == (28, 28, 1):
        try:
            from tfadv.data import load_numpy

            x, y = load_numpy("embedded_mnist", split="test", limit=count)
            return x, y, "embedded MNIST test digits"
        except (ImportError, OSError, ValueError):
            pass
    x = np.random.default_rng(0).uniform(size=(count, *shape)).astype("float32")
    return x, None, f"uniform random images of shape {tuple(shape)}"


def _default_attack(shape):
    """A short PGD for robustness parity (eps 0.3 on MNIST-shaped inputs, 8/255 otherwise)."""
    try:
        from tfadv.attacks import PGD
    except ImportError:
        return None
    eps = 0.3 if tuple(shape) == (28, 28, 1) else 8.0 / 255.0
    return PGD(eps=eps, steps=5, seed=0)
