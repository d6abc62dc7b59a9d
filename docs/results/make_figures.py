"""Draws the results pages' figures from the stored JSON in `docs/results/data/`.

Command, from the repository root (matplotlib, Agg backend; no TensorFlow):

    python docs/results/make_figures.py             # writes docs/results/figures/*.png
    python docs/results/make_figures.py --out DIR   # anywhere else

Every figure is drawn from one JSON file whose records carry the date, the command and the machine
of the measurement; `FIGURES` maps each PNG to its file. The numbers come from the run log
(`docs/lab-notes/run-log.md`) and from `benchmarks/robustness_curve.py` (the robustness curve).
"""

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
DPI = 110


def load(name, data_dir=DATA):
    with open(os.path.join(data_dir, name), encoding="utf-8") as f:
        return json.load(f)["records"]


def _save(figure, out, name):
    path = os.path.join(out, name)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(figure)
    return path


def _dates(records):
    dates = sorted({r["date"] for r in records})
    return dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"


def robustness_curve(out, data_dir=DATA):
    """Worst-case accuracy against the l-inf radius, one line per model."""
    records = load("robustness_curve.json", data_dir)
    figure, axis = plt.subplots(figsize=(6.6, 5.2))
    markers = "osD^v<>"
    for i, r in enumerate(records):
        accuracy = [100 * a for a in r["accuracy"]]
        axis.plot(r["eps"], accuracy, marker=markers[i % len(markers)], label=r["label"])
    axis.axvline(0.3, color="grey", linestyle=":", linewidth=1)
    axis.annotate(
        "eps 0.3: the training radius",
        (0.3, 99),
        xytext=(-4, 0),
        textcoords="offset points",
        ha="right",
        color="grey",
        fontsize="small",
    )
    axis.set_xlabel("l-inf radius eps (pixel scale [0, 1])")
    axis.set_ylabel("robust accuracy (%)")
    axis.set_ylim(-2, 102)
    axis.grid(alpha=0.3)
    first = records[0]
    axis.set_title(
        f"MNIST: accuracy under attack, first {first['n_examples']} test digits\n"
        f'("quick": PGD-20 and APGD-CE, worst case; {_dates(records)})',
        fontsize="medium",
    )
    axis.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    return _save(figure, out, "robustness_curve.png")


SHORT = {
    "pgd_at.py": "pgd_at",
    "default.py (main job)": "default (main job)",
    "trades_beta6.py": "trades_beta6",
    "trades_beta6.py + shifts": "trades_beta6 + shifts",
    "trades_beta6_wide.py": "trades_beta6_wide",
    "trades_beta6_wide.py, 30 epochs": "wide, 30 ep",
    "trades_beta6_wide.py, 30 epochs, EMA 0.995": "wide, 30 ep, EMA",
    "trades_beta6_wide.py, 30 epochs, shifts": "wide, 30 ep, shifts",
    "trades_beta6_wide.py, beta 3": "wide, beta 3",
    "trades_beta6_wide.py, width 3": "width 3",
    "trades_small_cnn.py, no shifts, 25 epochs": "small_cnn, no shifts, 25 ep",
    "trades_small_cnn.py, 40 epochs": "small_cnn, 40 ep",
    "trades_small_cnn.py, 40 epochs, rotation and zoom": "40 ep, rotation+zoom",
    "trades_small_cnn.py, 60 epochs": "small_cnn, 60 ep",
    "trades_small_cnn.py (100 epochs)": "trades_small_cnn (100 ep)",
    "trades_small_cnn.py, beta 4 (100 epochs)": "beta 4, 100 ep",
}
# Label offsets in points, to keep the labels of close points apart.
OFFSET = {
    "trades_beta6 + shifts": (-30, -13),
    "small_cnn, no shifts, 25 ep": (-4, -13),
    "wide, beta 3": (6, -10),
    "wide, 30 ep": (-4, 7),
    "wide, 30 ep, shifts": (-10, -13),
    "wide, 30 ep, EMA": (-40, -13),
    "small_cnn, 40 ep": (-40, 8),
    "40 ep, rotation+zoom": (6, -4),
    "beta 4, 100 ep": (-10, -13),
    "trades_small_cnn (100 ep)": (-95, 6),
    "width 3": (-14, 7),
}
FAMILY = {"compact_cnn": "C0", "compact_cnn width 2": "C1", "compact_cnn width 3": "C4"}


def pareto(out, data_dir=DATA):
    """'Quick' worst case on the 5,000 test digits against training seconds, per recipe."""
    records = load("recipes.json", data_dir)
    figure, axis = plt.subplots(figsize=(7.2, 4.8))
    for r in records:
        color = FAMILY.get(r["model"], "C2")
        marker = "s" if r["method"] == "PGD-AT" else "o"
        face = "white" if r["train_shared"] else color
        axis.scatter(
            r["train_seconds"],
            r["quick"],
            marker=marker,
            s=42,
            facecolors=face,
            edgecolors=color,
            linewidths=1.5,
            zorder=3,
        )
        short = SHORT.get(r["label"], r["label"])
        axis.annotate(
            short,
            (r["train_seconds"], r["quick"]),
            xytext=OFFSET.get(short, (6, 3)),
            textcoords="offset points",
            fontsize=7,
        )
    front, best = [], -1.0
    for r in sorted(records, key=lambda r: (r["train_seconds"], -r["quick"])):
        if r["quick"] > best:
            front.append(r)
            best = r["quick"]
    axis.step(
        [r["train_seconds"] for r in front],
        [r["quick"] for r in front],
        where="post",
        color="black",
        linewidth=0.8,
        alpha=0.5,
        label="Pareto front",
        zorder=2,
    )
    for family in dict.fromkeys(r["model"] for r in records):
        axis.scatter([], [], marker="o", color=FAMILY.get(family, "C2"), label=family)
    axis.scatter([], [], marker="s", color="grey", label="PGD-AT (circles: TRADES)")
    axis.scatter([], [], marker="o", facecolors="white", edgecolors="grey", label="machine shared")
    axis.set_xscale("log")
    ticks = [300, 500, 1000, 2000, 3000, 5000]
    axis.set_xticks(ticks, [f"{t:,}" for t in ticks])
    axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axis.set_xlabel("training time (s, log scale; 2-core CPU)")
    axis.set_ylabel('"quick" worst-case accuracy (%)')
    axis.set_title(
        "MNIST recipes at l-inf eps 0.3: robust accuracy against training time\n"
        f'("quick" on the 5,000 test digits; {_dates(records)})',
        fontsize="medium",
    )
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize="small", loc="upper left")
    return _save(figure, out, "pareto.png")


def certified_accuracy(out, data_dir=DATA):
    """Certified l2 accuracy against the radius (randomized smoothing)."""
    figure, axis = plt.subplots(figsize=(6.0, 4.3))
    for r in load("certification.json", data_dir):
        axis.plot(
            r["radius"],
            r["certified_accuracy"],
            marker="o",
            label=f"sigma {r['sigma']:g}, n {r['n']:,}, alpha {r['alpha']:g}",
        )
        for x, y in zip(r["radius"], r["certified_accuracy"]):
            axis.annotate(f"{y:.1f}%", (x, y), xytext=(5, 4), textcoords="offset points")
        largest = r["largest_certifiable_radius"]
        axis.axvline(largest, color="grey", linestyle=":", linewidth=1)
        axis.annotate(
            f"largest certifiable\nradius {largest:.3f}",
            (largest, 60),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            color="grey",
            fontsize="small",
        )
        title = (
            f"Randomized smoothing (Cohen et al.): certified l2 accuracy\n"
            f"{r['label']}\nfirst {r['n_examples']} test digits; {r['date']}"
        )
    axis.set_xlabel("l2 radius")
    axis.set_ylabel("certified accuracy (%)")
    axis.set_xlim(-0.05, 2.0)
    axis.set_ylim(0, 100)
    axis.grid(alpha=0.3)
    axis.set_title(title, fontsize="medium")
    axis.legend(fontsize="small", loc="lower left")
    return _save(figure, out, "certified_accuracy.png")


def main_job_epochs(out, data_dir=DATA):
    """The main job's per-epoch accuracies (training and validation)."""
    (r,) = load("main_job_history.json", data_dir)
    figure, axis = plt.subplots(figsize=(6.4, 4.0))
    percent = lambda values: [100 * v for v in values]
    axis.plot(r["epoch"], percent(r["val_adv_accuracy"]), marker="o", label="validation PGD-10")
    axis.plot(r["epoch"], percent(r["val_clean_accuracy"]), marker="s", label="validation clean")
    axis.plot(
        r["epoch"],
        percent(r["adv_accuracy"]),
        linestyle="--",
        label="training batches, adversarial (ramped eps)",
    )
    best = r["epoch"].index(r["best_epoch"])
    axis.annotate(
        f"kept epoch {r['best_epoch']}",
        (r["best_epoch"], 100 * r["val_adv_accuracy"][best]),
        xytext=(-10, -28),
        textcoords="offset points",
        arrowprops={"arrowstyle": "->", "color": "grey"},
        ha="right",
        fontsize="small",
    )
    axis.axvspan(0.5, 4.5, color="grey", alpha=0.1, label="eps ramp 0 to 0.3")
    axis.set_xlabel("epoch")
    axis.set_ylabel("accuracy (%)")
    axis.set_ylim(0, 100)
    axis.set_xticks(r["epoch"])
    axis.grid(alpha=0.3)
    axis.set_title(
        "Main job (TRADES beta 6, compact_cnn): accuracy per epoch\n"
        f"(validation: 500 held-out digits, PGD-10 at eps 0.3; {r['date']})",
        fontsize="medium",
    )
    axis.legend(fontsize="small", loc="lower right")
    return _save(figure, out, "main_job_epochs.png")


FIGURES = {
    "robustness_curve.png": (robustness_curve, "robustness_curve.json"),
    "pareto.png": (pareto, "recipes.json"),
    "certified_accuracy.png": (certified_accuracy, "certification.json"),
    "main_job_epochs.png": (main_job_epochs, "main_job_history.json"),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "figures"), help="output folder")
    parser.add_argument("--data", default=DATA, help="folder of the JSON records")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for draw, _ in FIGURES.values():
        print(draw(args.out, args.data))


if __name__ == "__main__":
    main()
