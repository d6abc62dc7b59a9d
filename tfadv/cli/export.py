"""`tfadv export`: a trained `.keras` model to a SavedModel or ONNX file, with a parity check.

    tfadv export MODEL.keras --format saved_model|onnx --out DIR [--opset 17] [--version N]
        [--input-shape H,W,C] [--stochastic] [--custom-objects MODULE] [--no-verify]
        [--verify-examples 256]

By default the export is verified: the exported file and the Keras model are run on the embedded
MNIST test digits (28x28x1 models) or on uniform random images (other shapes), and on PGD
adversarial examples crafted on the Keras model; the parity report is printed and the exit code is 1
when parity fails. Nothing is written until the arguments, the output folder and the model (it must
output logits, not softmax probabilities) are checked.
"""

import argparse
import os

import numpy as np

from tfadv.attacks import PGD
from tfadv.cli.evaluate import add_custom_objects_argument, import_custom_objects
from tfadv.data import load_numpy
from tfadv.evaluation.loading import load_keras_model
from tfadv.export import _prepare, to_onnx, to_saved_model, verify
from tfadv.export.onnx import check_opset
from tfadv.export.saved_model import next_version
from tfadv.utils import validation

FORMATS = ("saved_model", "onnx")


def add_parser(subparsers):
    """Registers the `export` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="Export a .keras model to a SavedModel or ONNX file and verify parity.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="path of the trained model, a .keras file")
    parser.add_argument("--format", required=True, choices=FORMATS, help="the export format")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder: receives <version>/ (saved_model) or <model name>.onnx (onnx); "
        "a path ending in .onnx names the ONNX file itself",
    )
    for flag, kind, default, text in (
        ("--opset", int, 17, "ONNX opset (onnx format only; default: 17)"),
        ("--version", int, None, "TF Serving version (saved_model only; default: the next free)"),
        ("--input-shape", str, None, "image shape H,W,C of a model without a fixed input shape"),
        ("--verify-examples", int, 256, "images the parity check uses (default: 256)"),
    ):
        parser.add_argument(flag, type=kind, default=default, help=text)
    parser.add_argument(
        "--stochastic",
        action="store_true",
        help="keep noise layers sampling at inference (the parity check is then skipped)",
    )
    parser.add_argument(
        "--no-verify", dest="verify", action="store_false", help="skip the parity check"
    )
    add_custom_objects_argument(parser)
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Runs `tfadv export`; returns the exit code (1 when the parity check fails)."""
    if args.verify_examples < 1:
        raise ValueError(
            f"`--verify-examples` must be >= 1. Received: --verify-examples={args.verify_examples}"
        )
    input_shape = _parse_shape(args.input_shape)
    onnx_file = args.format == "onnx" and args.out.lower().endswith(".onnx")
    folder = (os.path.dirname(args.out) or ".") if onnx_file else args.out
    _prepare.check_writable(folder, "--out", received=args.out)
    if args.format == "onnx":
        check_opset(args.opset)
    import_custom_objects(args.custom_objects)
    model = load_keras_model(args.model)
    classifier = _prepare.unwrap(model)
    shape = _prepare.resolve_input_shape(classifier, input_shape)
    x, y, source = _verification_data(shape, args.verify_examples)
    with _prepare.deployment_state(classifier, stochastic=False):
        logits = _prepare.call_logits(classifier, x)
    if validation.logits_look_like_probabilities(logits):
        raise ValueError(
            f"`MODEL` must output logits, but {args.model!r} outputs probabilities (non-negative "
            "rows summing to 1: a final softmax), which would be exported as its 'logits' and "
            "cannot be attacked by the parity check. Remove the final softmax activation and save "
            f"the model again. Received: MODEL={args.model!r}"
        )

    if args.format == "saved_model":
        version = args.version if args.version is not None else next_version(args.out)
        path = to_saved_model(
            model, args.out, version=version, stochastic=args.stochastic, input_shape=input_shape
        )
    else:
        out = args.out
        if not onnx_file:
            stem = os.path.splitext(os.path.basename(args.model))[0] or "model"
            out = os.path.join(out, stem + ".onnx")
        path = to_onnx(
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
    if y is None:
        y = np.argmax(logits, axis=-1)
        source += ", labelled with the Keras model's own predictions"
    attack = PGD(eps=0.3 if tuple(shape) == (28, 28, 1) else 8.0 / 255.0, steps=5, seed=0)
    print(f"Verifying on {len(x)} {source} and on {attack!r} adversarial examples.")
    report = verify(path, model, x, y, attack=attack)
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


def _verification_data(shape, count):
    """Embedded MNIST test digits for 28x28x1 models, else seeded uniform images in [0, 1]."""
    if tuple(shape) == (28, 28, 1):
        x, y = load_numpy("embedded_mnist", split="test", limit=count)
        return x, y, "embedded MNIST test digits"
    x = np.random.default_rng(0).uniform(size=(count, *shape)).astype("float32")
    return x, None, f"uniform random images of shape {tuple(shape)}"
