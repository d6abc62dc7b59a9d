"""Classify images with ONNX Runtime, from a tfadv ONNX export alone.

The deployment side needs neither TensorFlow nor tfadv: only NumPy and ONNX Runtime
(`pip install numpy onnxruntime`). The exported graph takes `images`, float32 `(batch, H, W, C)` in
[0, 1], and returns `logits` and `probabilities`.

    python export/serve_onnx.py MODEL.onnx IMAGES.npy [MORE.npy ...] [--top-k 3] [--labels
        names.txt] [--batch-size 64] [--json]

Each `.npy` file holds one image `(H, W, C)` / `(H, W)` or a batch `(N, H, W, C)` / `(N, H, W)`;
`.npz` files are read array by array. uint8 pixels are divided by 255; float pixels must already lie
in [0, 1]. `--labels` names the classes, one per line. Prints one line per image (or JSON lines with
`--json`) and exits with status 2 on bad input.
"""

import argparse
import json
import sys

import numpy as np
import onnxruntime


def load_session(model_path):
    """An ONNX Runtime session on the CPU, with the input's name and per-example shape."""
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    model_input = session.get_inputs()[0]
    shape = tuple(d if isinstance(d, int) else None for d in model_input.shape[1:])
    return session, model_input.name, shape


def read_images(paths, shape):
    """Reads `.npy` / `.npz` files into one float32 batch shaped `(N, *shape)` in [0, 1]."""
    names, batches = [], []
    for path in paths:
        if path.endswith(".npz"):
            with np.load(path) as archive:
                arrays = [(f"{path}[{key}]", archive[key]) for key in archive.files]
        else:
            arrays = [(path, np.load(path, allow_pickle=False))]
        for name, array in arrays:
            batch = to_batch(array, shape, name)
            batches.append(batch)
            names.extend(name if len(batch) == 1 else f"{name}[{i}]" for i in range(len(batch)))
    return names, np.concatenate(batches).astype(np.float32)


def to_batch(array, shape, name):
    """One image or a batch, made float32 `(N, *shape)` in [0, 1]."""
    rank = len(shape)
    if array.ndim == rank - 1 and shape[-1] == 1:  # a grayscale image without its channel axis
        array = array[..., None]
    elif array.ndim == rank and shape[-1] == 1 and array.shape[-1] != 1:  # a batch of those
        array = array[..., None]
    if array.ndim == rank:
        array = array[None]
    expected = tuple(d for d in shape)
    if array.ndim != rank + 1 or any(
        e is not None and e != d for e, d in zip(expected, array.shape[1:], strict=True)
    ):
        raise ValueError(
            f"{name}: expected images of shape {expected} (or a batch of them), got {array.shape}"
        )
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name}: expected uint8 or float pixels, got {array.dtype}")
    if array.size and (np.nanmin(array) < 0.0 or np.nanmax(array) > 1.0 or np.isnan(array).any()):
        raise ValueError(
            f"{name}: float pixels must lie in [0, 1] (divide uint8 pixels by 255), got "
            f"min={np.nanmin(array):.3g}, max={np.nanmax(array):.3g}"
        )
    return array.astype(np.float32)


def classify(session, input_name, images, batch_size=64):
    """Returns the `probabilities` for a float32 batch, run `batch_size` images at a time."""
    outputs = [o.name for o in session.get_outputs()]
    name = "probabilities" if "probabilities" in outputs else outputs[0]
    results = [
        session.run([name], {input_name: images[i : i + batch_size]})[0]
        for i in range(0, len(images), batch_size)
    ]
    probabilities = np.concatenate(results)
    if name != "probabilities":  # a plain logits model: apply the softmax here
        shifted = probabilities - probabilities.max(axis=-1, keepdims=True)
        probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
    return probabilities


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the .onnx file written by `tfadv export --format onnx`")
    parser.add_argument("images", nargs="+", help=".npy or .npz files of images")
    parser.add_argument("--top-k", type=int, default=1, help="classes to print per image")
    parser.add_argument("--labels", help="a text file of class names, one per line")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    args = parser.parse_args(argv)

    session, input_name, shape = load_session(args.model)
    try:
        names, images = read_images(args.images, shape)
    except (OSError, ValueError) as error:
        print(f"serve_onnx: error: {error}", file=sys.stderr)
        return 2
    labels = None
    if args.labels:
        with open(args.labels, encoding="utf-8") as f:
            labels = [line.strip() for line in f if line.strip()]

    probabilities = classify(session, input_name, images, max(1, args.batch_size))
    top_k = max(1, min(args.top_k, probabilities.shape[-1]))
    for name, row in zip(names, probabilities, strict=True):
        best = np.argsort(-row)[:top_k]
        classes = [labels[i] if labels and i < len(labels) else str(int(i)) for i in best]
        if args.json:
            record = {
                "image": name,
                "class": classes[0],
                "index": int(best[0]),
                "top_k": [
                    {"class": c, "index": int(i), "probability": float(row[i])}
                    for c, i in zip(classes, best, strict=True)
                ],
            }
            print(json.dumps(record))
        else:
            ranked = ", ".join(f"{c} ({row[i]:.3f})" for c, i in zip(classes, best, strict=True))
            print(f"{name}: {ranked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
