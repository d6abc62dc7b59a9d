"""What a finished run writes: the robustness report, per-example results, plot and exports."""

import csv
import json
import os

import numpy as np

from tfadv.attacks.pgd import PGD
from tfadv.evaluation.evaluate import evaluate as evaluate_robustness
from tfadv.experiment.run_state import write_text
from tfadv.export import to_onnx, to_saved_model, verify


def evaluate(config, classifier, test, workdir, say):
    """Runs the protocol (and the PGD comparison line); writes `report.txt|json`, `per_example.csv`.

    Returns `(report, pgd)`: the `RobustnessReport` of the protocol and of the PGD line (or `None`).
    """
    ev = config.evaluation
    x, y = test
    common = {"eps": ev.eps, "norm": ev.norm, "batch_size": ev.batch_size}
    report = evaluate_robustness(
        classifier, (x, y), protocol=ev.protocol, checks=ev.checks, seed=config.seed, **common
    )
    lines = [str(report)]
    pgd = None
    if ev.pgd_steps:
        attack = PGD(
            eps=ev.eps, step_size=ev.pgd_step_size, steps=ev.pgd_steps, norm=ev.norm, seed=0
        )
        pgd = evaluate_robustness(classifier, (x, y), protocol=[attack], checks=False, **common)
        lines.append(
            f"For comparison with a hand-written loop's number: {pgd.attacks[0]['name']} "
            f"({pgd.attacks[0]['budget']}) accuracy {pgd.robust_accuracy:.2%} "
            f"on {pgd.n_examples} test examples"
        )
    text = "\n".join(lines)
    say(text)
    write_text(workdir, "report.txt", text + "\n")
    payload = {"report": report.to_dict(), "pgd": None if pgd is None else pgd.to_dict()}
    write_text(workdir, "report.json", json.dumps(payload, indent=2) + "\n")
    predictions = np.argmax(classifier.predict(x, batch_size=ev.batch_size, verbose=0), axis=-1)
    with open(os.path.join(workdir, "per_example.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        header = ["index", "label", "prediction", "clean_correct", "robust"]
        writer.writerow(header + (["pgd_robust"] if pgd is not None else []))
        masks = [result.robust_mask for result in (report, pgd) if result is not None]
        for i in range(len(y)):
            row = [i, int(y[i]), int(predictions[i]), int(predictions[i] == y[i])]
            writer.writerow(row + [int(m[i]) if m is not None else "" for m in masks])
    return report, pgd


def write_history(state, workdir):
    """`history.csv`: one row of epoch logs per finished epoch (over every resumed run)."""
    keys = sorted({key for logs in state.history for key in logs})
    with open(os.path.join(workdir, "history.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", *keys])
        for epoch, logs in enumerate(state.history, 1):
            writer.writerow([epoch, *[logs.get(key, "") for key in keys]])


def plot(state, workdir, monitor, say):
    """`robust_accuracy.png`: validation (and training) robust accuracy per epoch."""
    try:  # matplotlib is optional
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say("plot skipped: matplotlib is not installed (pip install matplotlib)")
        return None
    epochs = np.arange(1, len(state.history) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (
        ("val_adv_accuracy", "validation, PGD"),
        ("adv_accuracy", "training, training attack"),
        ("val_clean_accuracy", "validation, clean"),
    ):
        values = [logs.get(key) for logs in state.history]
        if all(v is not None for v in values) and values:
            ax.plot(epochs, values, marker="o", label=label)
    if state.best_epoch is not None:
        ax.axvline(state.best_epoch, color="grey", linestyle="--", label=f"kept ({monitor})")
    ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0.0, 1.0))
    ax.grid(alpha=0.3)
    ax.legend()
    path = os.path.join(workdir, "robust_accuracy.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def export(config, classifier, test, workdir, say):
    """Saves `classifier.keras`; with `export.enabled`, SavedModel and ONNX with parity checks."""
    outputs = {"keras": os.path.join(workdir, "classifier.keras")}
    classifier.save(outputs["keras"])
    if not config.export.enabled:
        return outputs
    x, y = (part[: config.export.parity_examples] for part in test)
    saved = to_saved_model(classifier, os.path.join(workdir, "saved_model"))
    onnx_path = to_onnx(classifier, os.path.join(workdir, "model.onnx"))
    parity = {}
    for name, path in (("saved_model", saved), ("onnx", onnx_path)):
        report = verify(path, classifier, x, y)
        say(f"{name}: {report}")
        parity[name] = report.to_dict()
        if not report.passed:
            raise ValueError(
                f"The {name} export does not match the Keras model. Received: {report}"
            )
        outputs[name] = str(path)
    write_text(workdir, "parity.json", json.dumps(parity, indent=2, default=str) + "\n")
    return outputs
