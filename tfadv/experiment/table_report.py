"""What `tfadv table` writes: `table.md` (command, budget and claim first), `table.json`, plots."""

import csv
import json
import os

from tfadv.experiment.run_state import write_json_atomic

#: The file in each row's folder that caches the table's extra evaluations.
EVALUATIONS_FILE = "table_evaluations.json"
NORMS = {"linf": "l-inf", "l2": "l2"}
_REPORT_FIELDS = ("protocol", "protocol_version", "accuracy_kind", "variant", "eot_iter", "eps")
_REPORT_FIELDS += ("norm", "n_examples")


def read_json(path):
    """The JSON in `path`, or `None` when there is none."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _column(history, name):
    values = [row.get(name, "") for row in history]
    return [float(v) for v in values] if values and all(v != "" for v in values) else []


def collect(row):
    """A `TableRow`'s numbers, read from its folder (`summary.json`, `history.csv`, evaluations)."""
    folder = row.config.workdir
    summary = read_json(os.path.join(folder, "summary.json"))
    report, history = summary["report"], []
    if os.path.exists(os.path.join(folder, "history.csv")):
        with open(os.path.join(folder, "history.csv"), newline="", encoding="utf-8") as handle:
            history = list(csv.DictReader(handle))
    grad_evals = _column(history, "grad_evals")
    evaluations = {
        key: {"label": item["spec"]["label"]}
        | {name: item["report"][name] for name in ("robust_accuracy", "seconds", "variant")}
        for key, item in (read_json(os.path.join(folder, EVALUATIONS_FILE)) or {}).items()
    }
    return {
        **{name: getattr(row, name) for name in ("key", "label", "recipe", "value", "base")},
        "overrides": list(row.overrides),
        "clean": report["clean_accuracy"],
        "robust": report["robust_accuracy"],
        "attacks": {attack["name"]: attack["accuracy"] for attack in report["attacks"]},
        **{name: report[name] for name in _REPORT_FIELDS},
        "randomized": report.get("randomized", report["variant"] == "rand"),  # older reports
        "evaluations": evaluations,
        **{name: summary[name] for name in ("epochs", "best_epoch", "monitor", "train_seconds")},
        "grad_evals": sum(grad_evals) / len(grad_evals) if grad_evals else None,
        "eval_seconds": report["seconds"] + sum(e["seconds"] for e in evaluations.values()),
        "val_adv_accuracy": _column(history, "val_adv_accuracy"),
    }


def _percent(value):
    return "–" if value is None else f"{100 * value:.1f}%"


def _flat(values, prefix=""):
    """`FIELD=VALUE` strings of a nested dict (the vocabulary of rows and the command line)."""
    items = []
    for key, value in values.items():
        nested = isinstance(value, dict)
        items += _flat(value, f"{prefix}{key}.") if nested else [f"{prefix}{key}={value}"]
    return items


def write(table, rows, workdir, *, command, smoke=False):
    """Writes `table.md`, `table.json` and the plots of the `TableRow`s; returns the markdown."""
    results = [collect(row) for row in rows]
    first, sweep, columns = results[0], table.sweep.field, table.evaluations
    attacks = list(dict.fromkeys(name for r in results for name in r["attacks"]))
    version = f" v{first['protocol_version']}" if first["protocol_version"] else ""
    radius = f"{NORMS[first['norm']]} eps {first['eps']:g}"
    header = ["row", *([sweep] if sweep else []), "clean", *attacks]
    header += [f"worst case ({first['protocol']}{version}, {radius})"]
    header += [c.label for c in columns.values()] + ["epochs / best"]
    header += ["grad evals / example / epoch", "train s", "eval s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        value = f"{r['value']:g}" if isinstance(r["value"], float) else str(r["value"])
        cells = [r["label"], *([value] if sweep else []), _percent(r["clean"])]
        cells += [_percent(r["attacks"].get(name)) for name in attacks]
        cells += [_percent(r["robust"]) + (" †" if r["randomized"] else "")]
        cells += [_percent(r["evaluations"].get(k, {}).get("robust_accuracy")) for k in columns]
        grad = "–" if r["grad_evals"] is None else f"{r['grad_evals']:.2f}"
        cells += [f"{r['epochs']} / {r['best_epoch']}", grad]
        cells += [f"{r['train_seconds']:.0f}", f"{r['eval_seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    budget = ", ".join(_flat(table.common.to_dict())) or "the recipes' own"
    if smoke:
        budget += " (then --smoke: one epoch on a few examples per row; not a result)"
    data = rows[0].config.data
    dataset = f"synthetic {data.name}-shaped data" if data.synthetic else data.name
    kind = "each attack on every example"
    if first["accuracy_kind"] == "cumulative":
        kind = "cumulative: each on the examples still robust"
    extra = "; ".join(f"{c.label} ({_describe(c)})" for c in columns.values()) or "none"
    monitors = ", ".join(sorted({r["monitor"] for r in results}))
    notes = [
        f"Accuracy on the first {first['n_examples']} test examples of {dataset}; the protocol's "
        f"attack columns are {kind}; the worst case is per example. Extra columns: {extra}. Grad "
        "evals: the training attack's input-gradient evaluations per example, mean over epochs "
        "(history.csv `grad_evals`). Epochs / best: trained, and the kept epoch "
        f"(`validation.monitor`: {monitors})."
    ]
    randomised = [r for r in results if r["randomized"]]
    if randomised:
        notes.append(
            "† randomised model: every correctness check is one forward pass, as AutoAttack counts "
            f"it; the attacks averaged gradients over {randomised[0]['eot_iter']} draws (EOT)."
        )
    described = [
        f"`{r['key']}` = {r['recipe']}"
        + (f" with {', '.join(r['overrides'])}" if r["overrides"] else "")
        for r in results
    ]
    notes.append(f"Rows: {'; '.join(described)}.")
    figures = {}
    if sweep:
        figures["sweep"] = _figure(workdir, "sweep", results, sweep)
    if table.curves:
        figures["curves"] = _figure(workdir, "curves", results, "epoch")
    head = [f"# {table.title}", f"Command: `{command}`", f"Budget: {budget}."]
    head += [f"Claim: {table.claim}", "\n".join(lines), *notes]
    images = [f"![{name}]({os.path.basename(path)})" for name, path in figures.items() if path]
    text = "\n\n".join(head + images)
    with open(os.path.join(workdir, "table.md"), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    payload = {"title": table.title, "claim": table.claim, "command": command}
    payload |= {"budget": table.common.to_dict(), "smoke": smoke, "rows": results}
    write_json_atomic(os.path.join(workdir, "table.json"), payload | {"figures": figures})
    return text


def _describe(spec):
    extra = "".join(f" {k}={v}" for k, v in spec.kwargs.items())
    return f"{spec.protocol or spec.attack}{extra}, {NORMS[spec.norm]} eps {spec.eps:g}"


def _figure(workdir, name, results, xlabel):
    """`sweep.png`: worst-case (solid) and clean (dashed) accuracy against the swept value;
    `curves.png`: validation robust accuracy per epoch, the kept epoch starred. `None` without
    matplotlib."""
    try:  # matplotlib is optional: without it the table has no figures
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    if name == "sweep":
        for i, base in enumerate(dict.fromkeys(r["base"] for r in results)):
            group, color = [r for r in results if r["base"] == base], f"C{i % 10}"
            x, label = [r["value"] for r in group], group[0]["label"]
            ax.plot(x, [r["robust"] for r in group], marker="o", color=color, label=label)
            ax.plot(x, [r["clean"] for r in group], linestyle="--", color=color)
    else:
        for i, r in enumerate(r for r in results if r["val_adv_accuracy"]):
            curve, best, color = r["val_adv_accuracy"], r["best_epoch"], f"C{i % 10}"
            ax.plot(range(1, len(curve) + 1), curve, marker="o", color=color, label=r["label"])
            if best and best <= len(curve):
                ax.plot([best], [curve[best - 1]], marker="*", markersize=14, color=color)
    ylabel = "test accuracy (solid: worst case, dashed: clean)"
    ylabel = ylabel if name == "sweep" else "validation PGD accuracy (star: kept epoch)"
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(0.0, 1.0))
    ax.grid(alpha=0.3)
    ax.legend()
    path = os.path.join(workdir, f"{name}.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
