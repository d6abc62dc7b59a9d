"""What `tfadv table` writes: `table.md` (command, budget and claim first), `table.json`, plots."""

import csv
import json
import os

from tfadv.experiment.run_state import write_json_atomic

#: The file in each row's folder that caches the table's extra evaluations.
EVALUATIONS_FILE = "table_evaluations.json"

NORMS = {"linf": "l-inf", "l2": "l2"}


def read_json(path):
    """The JSON in `path`, or `None` when there is none."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _history(folder):
    path = os.path.join(folder, "history.csv")
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _column(history, name):
    values = [row.get(name, "") for row in history]
    return [float(v) for v in values] if values and all(v != "" for v in values) else []


def collect(entry):
    """One row's numbers, read from its folder (`summary.json`, `history.csv`, evaluations)."""
    folder = entry["config"].workdir
    summary = read_json(os.path.join(folder, "summary.json"))
    report = summary["report"]
    history = _history(folder)
    grad_evals = _column(history, "grad_evals")
    evaluations = {
        key: {
            "label": item["spec"]["label"],
            "robust_accuracy": item["report"]["robust_accuracy"],
            "seconds": item["report"]["seconds"],
            "variant": item["report"]["variant"],
        }
        for key, item in (read_json(os.path.join(folder, EVALUATIONS_FILE)) or {}).items()
    }
    return {
        "key": entry["key"],
        "label": entry["label"],
        "recipe": entry["recipe"],
        "overrides": list(entry["overrides"]),
        "value": entry["value"],
        "base": entry["base"],
        "clean": report["clean_accuracy"],
        "robust": report["robust_accuracy"],
        "attacks": {attack["name"]: attack["accuracy"] for attack in report["attacks"]},
        "protocol": report["protocol"],
        "protocol_version": report["protocol_version"],
        "accuracy_kind": report["accuracy_kind"],
        "variant": report["variant"],
        "eot_iter": report["eot_iter"],
        "eps": report["eps"],
        "norm": report["norm"],
        "n_examples": report["n_examples"],
        "evaluations": evaluations,
        "epochs": summary["epochs"],
        "best_epoch": summary["best_epoch"],
        "monitor": summary["monitor"],
        "grad_evals": sum(grad_evals) / len(grad_evals) if grad_evals else None,
        "train_seconds": summary["train_seconds"],
        "eval_seconds": report["seconds"] + sum(e["seconds"] for e in evaluations.values()),
        "val_adv_accuracy": _column(history, "val_adv_accuracy"),
    }


def _flat(values, prefix=""):
    items = []
    for key, value in values.items():
        if isinstance(value, dict):
            items += _flat(value, f"{prefix}{key}.")
        else:
            items.append(f"{prefix}{key}={value}")
    return items


def _value(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def _percent(value):
    return "–" if value is None else f"{100 * value:.1f}%"


def write(table, rows, results, workdir, *, command, smoke=False):
    """Writes `table.md`, `table.json` and the figures into `workdir`; returns the markdown."""
    first = results[0]
    attacks = []
    for result in results:
        attacks += [name for name in result["attacks"] if name not in attacks]
    evaluations = list(table.evaluations.keys())
    worst = (
        f"worst case ({first['protocol']}"
        f"{' v' + first['protocol_version'] if first['protocol_version'] else ''}, "
        f"{NORMS[first['norm']]} eps {first['eps']:g})"
    )
    sweep = table.sweep.field
    header = ["row", *([sweep] if sweep else []), "clean", *attacks, worst]
    header += [table.evaluations[key].label for key in evaluations]
    header += ["epochs / best", "grad evals / example / epoch", "train s", "eval s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        mark = " †" if result["variant"] == "rand" else ""
        cells = [result["label"], *([_value(result["value"])] if sweep else [])]
        cells.append(_percent(result["clean"]))
        cells += [_percent(result["attacks"].get(name)) for name in attacks]
        cells.append(_percent(result["robust"]) + mark)
        cells += [
            _percent(result["evaluations"].get(key, {}).get("robust_accuracy"))
            for key in evaluations
        ]
        grad = result["grad_evals"]
        cells += [
            f"{result['epochs']} / {result['best_epoch']}",
            "–" if grad is None else f"{grad:.2f}",
            f"{result['train_seconds']:.0f}",
            f"{result['eval_seconds']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    budget = ", ".join(_flat(table.common.to_dict())) or "the recipes' own"
    if smoke:
        budget += " (then --smoke: one epoch on a few examples per row; not a result)"
    data = rows[0]["config"].data
    dataset = f"synthetic {data.name}-shaped data" if data.synthetic else data.name
    kind = "cumulative: each on the examples still robust"
    if first["accuracy_kind"] != "cumulative":
        kind = "each attack on every example"
    notes = [
        f"Accuracy on the first {first['n_examples']} test examples of {dataset}; the protocol's "
        f"attack columns are {kind}; the worst case is per example. Extra columns: "
        + (
            "; ".join(
                f"{table.evaluations[k].label} ({_describe(table.evaluations[k])})"
                for k in evaluations
            )
            or "none"
        )
        + ". Grad evals: the training attack's input-gradient evaluations per example, mean over "
        "epochs (history.csv `grad_evals`). Epochs / best: trained, and the kept epoch "
        f"(`validation.monitor`: {', '.join(sorted({r['monitor'] for r in results}))}).",
    ]
    randomised = [r for r in results if r["variant"] == "rand"]
    if randomised:
        notes.append(
            "† randomised model: attacked with the protocol's EOT variant (gradients averaged over "
            f"{randomised[0]['eot_iter']} draws), accuracy by majority vote."
        )
    notes.append(
        "Rows: "
        + "; ".join(
            f"`{r['key']}` = {r['recipe']}"
            + (f" with {', '.join(r['overrides'])}" if r["overrides"] else "")
            for r in results
        )
        + "."
    )
    figures = {}
    if sweep:
        figures["sweep"] = _plot_sweep(table, results, workdir)
    if table.curves:
        figures["curves"] = _plot_curves(results, workdir)
    text = "\n\n".join(
        [
            f"# {table.title}",
            f"Command: `{command}`",
            f"Budget: {budget}.",
            f"Claim: {table.claim}",
            "\n".join(lines),
            *notes,
            *[f"![{name}]({os.path.basename(path)})" for name, path in figures.items() if path],
        ]
    )
    with open(os.path.join(workdir, "table.md"), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    payload = {
        "title": table.title,
        "claim": table.claim,
        "command": command,
        "budget": table.common.to_dict(),
        "smoke": smoke,
        "rows": results,
        "figures": figures,
    }
    write_json_atomic(os.path.join(workdir, "table.json"), payload)
    return text


def _describe(spec):
    what = spec.protocol or spec.attack
    extra = ", ".join(f"{k}={v}" for k, v in spec.kwargs.items())
    return f"{what}{' ' + extra if extra else ''}, {NORMS[spec.norm]} eps {spec.eps:g}"


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _plot_sweep(table, results, workdir):
    """`sweep.png`: worst-case (solid) and clean (dashed) accuracy against the swept value."""
    plt = _pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for base in dict.fromkeys(r["base"] for r in results):
        points = [r for r in results if r["base"] == base]
        values = [r["value"] for r in points]
        line = ax.plot(values, [r["robust"] for r in points], marker="o", label=points[0]["label"])
        ax.plot(values, [r["clean"] for r in points], linestyle="--", color=line[0].get_color())
    ax.set_xlabel(table.sweep.field)
    ax.set_ylabel("test accuracy (solid: worst case, dashed: clean)")
    return _save(plt, fig, ax, os.path.join(workdir, "sweep.png"))


def _plot_curves(results, workdir):
    """`curves.png`: validation robust accuracy per epoch of every row, its kept epoch marked."""
    plt = _pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for result in results:
        curve = result["val_adv_accuracy"]
        if not curve:
            continue
        epochs = list(range(1, len(curve) + 1))
        line = ax.plot(epochs, curve, marker="o", label=result["label"])
        best = result["best_epoch"]
        if best and best <= len(curve):
            ax.plot([best], [curve[best - 1]], marker="*", markersize=14, color=line[0].get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation PGD accuracy (star: kept epoch)")
    return _save(plt, fig, ax, os.path.join(workdir, "curves.png"))


def _save(plt, fig, ax, path):
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
