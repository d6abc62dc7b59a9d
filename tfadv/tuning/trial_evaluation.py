"""Cross-evaluation of a search's trials: the robust accuracy of every trial at several test radii.

`evaluate_trials` answers which training radius is best against an attacker of each test radius
(and what over- and under-estimating the radius costs); `format_trial_evaluation` prints it.
"""

import math

from tfadv.tuning._text import grid, plain
from tfadv.utils import validation


def evaluate_trials(
    tuner,
    data,
    eps_list,
    *,
    knob="eps",
    protocol="quick",
    limit=None,
    batch_size=256,
    seed=0,
    verbose=0,
):
    """Robust accuracy of every completed trial's model at several test radii.

    The question behind a training-epsilon search is which training radius is best against an
    attacker of radius `e`, for several `e`. Each completed trial's model (at its best epoch) is
    evaluated with `tfadv.evaluation.sweep` at every radius of `eps_list` on `data`; trials with
    the same `knob` value are averaged. For every test radius the result names the best training
    value and, for `knob="eps"`, how much accuracy is lost by training with a larger radius than
    the test radius (over-estimating) and with a smaller one (under-estimating), relative to
    training at exactly the test radius.

    Args:
        tuner: a `keras_tuner.Tuner` after `search`.
        data: `(x, y)` test arrays.
        eps_list: non-empty list of test radii >= 0.
        knob: the hyperparameter the rows are grouped by. Defaults to `"eps"`.
        protocol: the evaluation protocol. Defaults to `"quick"`.
        limit: optional int, evaluate the first `limit` examples. Defaults to `None`.
        batch_size: int >= 1. Defaults to `256`.
        seed: int, the attacks' seed. Defaults to `0`.
        verbose: `0` or `1` (a line per trial). Defaults to `0`.

    Returns:
        A JSON-able dict: `knob`, `test_eps`, `protocol`, `n_examples`, `rows` (one per knob
        value: `value`, `trials`, `clean_accuracy`, `accuracy` (a list aligned with `test_eps`)),
        `best` (test radius -> best knob value) and, for `"eps"`, `over_under` (see above).
        Format it with `format_trial_evaluation`.

    Example:

    ```python
    result = tfadv.tuning.evaluate_trials(tuner, (x_test, y_test), [0.1, 0.2, 0.3, 0.4])
    print(tfadv.tuning.format_trial_evaluation(result))
    ```
    """
    from tfadv.evaluation import sweep

    if isinstance(eps_list, (int, float)) or not eps_list:
        raise ValueError(
            f"`eps_list` must be a non-empty list of radii. Received: eps_list={eps_list!r}"
        )
    test_eps = sorted(validation.check_eps(e) for e in eps_list)
    trials = [t for t in tuner.oracle.trials.values() if str(t.status) == "COMPLETED"]
    if not trials:
        raise ValueError(
            "The tuner has no completed trial to evaluate. Received: a tuner with "
            f"{len(tuner.oracle.trials)} trials"
        )
    groups, n, protocol_name, flags = {}, None, None, set()
    for trial in trials:
        if knob not in trial.hyperparameters.values:
            raise ValueError(
                f"The trials have no hyperparameter '{knob}'. Received: knob={knob!r} (trial "
                f"values: {sorted(trial.hyperparameters.values)})"
            )
        model = tuner.load_model(trial)
        result = sweep(
            model, data, test_eps, attacks=protocol, limit=limit, batch_size=batch_size, seed=seed
        )
        n, protocol_name = result.n_examples, result.protocol
        if result.protocol_version:
            protocol_name = f"{result.protocol} v{result.protocol_version}"
        flags.update(result.flagged)
        value = plain(trial.hyperparameters.values[knob])
        groups.setdefault(value, []).append((trial.trial_id, result))
        if verbose:
            accuracies = ", ".join(f"{a:.3f}" for a in result.accuracy)
            print(f"trial {trial.trial_id} ({knob}={value}): clean {result.clean_accuracy:.3f}, "
                  f"robust {accuracies}")  # fmt: skip
    rows = []
    for value in sorted(groups):
        results = [r for _, r in groups[value]]
        rows.append(
            {
                "value": value,
                "trials": [trial_id for trial_id, _ in groups[value]],
                "clean_accuracy": _mean([r.clean_accuracy for r in results]),
                "accuracy": [_mean([r.accuracy[i] for r in results]) for i in range(len(test_eps))],
            }
        )
    best = {}
    for i, e in enumerate(test_eps):
        best[_key(e)] = max(rows, key=lambda r: r["accuracy"][i])["value"]
    out = {
        "knob": knob,
        "test_eps": test_eps,
        "protocol": protocol_name,
        "n_examples": n,
        "sanity_flags": sorted(flags),
        "rows": rows,
        "best": best,
    }
    if knob == "eps":
        out["over_under"] = _over_under(rows, test_eps)
    return out


def _over_under(rows, test_eps):
    """Accuracy lost against a test radius by training above it and below it."""
    by_value = {_key(r["value"]): r for r in rows}
    over, under, columns = [], [], {}
    for i, e in enumerate(test_eps):
        matched = by_value.get(_key(e))
        if matched is None:
            continue
        base = matched["accuracy"][i]
        column = {"matched": base, "over": [], "under": []}
        for row in rows:
            if math.isclose(row["value"], e):
                continue
            loss = base - row["accuracy"][i]
            side = "over" if row["value"] > e else "under"
            column[side].append({"train_eps": row["value"], "loss": loss})
            (over if side == "over" else under).append(loss)
        columns[_key(e)] = column
    diagonal = [
        _key(e) for e in test_eps if _key(e) in columns and math.isclose(
            max(r["accuracy"][test_eps.index(e)] for r in rows), columns[_key(e)]["matched"]
        )
    ]  # fmt: skip
    return {
        "columns": columns,
        "mean_loss_over": _mean(over) if over else None,
        "mean_loss_under": _mean(under) if under else None,
        "matched_is_best": diagonal,
    }


def format_trial_evaluation(result):
    """The result of `evaluate_trials` as a text table (rows: knob values; columns: test radii)."""
    knob, test_eps = result["knob"], result["test_eps"]
    header = [f"train {knob}", "clean"] + [f"eps={e:g}" for e in test_eps]
    body = []
    for row in result["rows"]:
        cells = [f"{row['value']:g}" if isinstance(row["value"], float) else str(row["value"])]
        cells.append(f"{row['clean_accuracy']:.3f}")
        for i, acc in enumerate(row["accuracy"]):
            star = "*" if result["best"][_key(test_eps[i])] == row["value"] else " "
            cells.append(f"{acc:.3f}{star}")
        body.append(cells)
    lines = [
        f"Robust accuracy by training {knob} (rows) and test l-inf eps (columns); protocol "
        f"'{result['protocol']}', {result['n_examples']} test examples; * = best in its column"
    ]
    lines.append(grid(header, body))
    if result.get("sanity_flags"):
        lines.append(f"Sanity flags raised: {', '.join(result['sanity_flags'])}.")
    over_under = result.get("over_under")
    if over_under:
        lines.append(
            "Training at the test eps is best for test eps "
            f"{[float(k) for k in over_under['matched_is_best']]} of {test_eps}."
        )
        if over_under["mean_loss_over"] is not None and over_under["mean_loss_under"] is not None:
            lines.append(
                "Mean accuracy lost against training at the test eps: over-estimating (train eps > "
                f"test eps) {over_under['mean_loss_over']:+.3f}, under-estimating "
                f"{over_under['mean_loss_under']:+.3f}."
            )
    return "\n".join(lines)


def _key(eps):
    return f"{float(eps):g}"


def _mean(values):
    values = list(values)
    return float(sum(values) / len(values))
