"""The fields of a `tfadv table` config, and the builders a table config file uses.

A table config (`recipes/tables/*.py`) is `get_config()` returning `base_config(...)`: `workdir`,
`title`, `claim` (the seed's claim with its source), `common` (a partial recipe config merged into
every row: `budget(...)`), `rows` (`row(...)` each), `evaluations` (`evaluation(...)` each, e.g.
`first_order_evaluations()`), `sweep`, `curves` and `smoke`. `tfadv.experiment.table` reads it.
"""

import ml_collections


def base_config(**fields):
    """A table config: every field with its empty default, then `fields` (a table sets its own).

    Args:
        **fields: `workdir`, `title`, `claim`, `common` (a nested dict or `ConfigDict`), `rows`
            (a tuple of `row(...)`), `evaluations` (a dict of `evaluation(...)`), `sweep`
            (`{"field": ..., "points": (...)}`), `curves` (bool) and `smoke` (a nested dict).
    """
    config = ml_collections.ConfigDict(
        {
            "workdir": "",
            "title": "",
            "claim": "",
            "common": ml_collections.ConfigDict(),
            "rows": (),
            "evaluations": ml_collections.ConfigDict(),
            "sweep": ml_collections.ConfigDict({"field": "", "points": ()}),
            "curves": False,
            "smoke": ml_collections.ConfigDict(),
        }
    )
    for name, value in fields.items():
        if name not in config:
            raise ValueError(f"A table config has no field {name!r}. Received: {name}={value!r}")
        config[name] = value
    return config


def radii(eps="0.3"):
    """A seed table file's argument, the l-inf radius, and the l2 radius that goes with it.

    The seed tables take the radius after a colon (`biparo_table1.py:0.1`): their training
    attacks, evaluation and extra columns all use it, and l2 attacks use the l2 radius scaled
    like MNIST's usual pair (l-inf 0.3 with l2 2.0, so l2 = 20 / 3 x l-inf). At the reduced
    budgets no model is robust at 0.3; at 0.1 they are.

    Args:
        eps: str or float, the l-inf radius, in (0, 1]. Defaults to `"0.3"`.

    Returns:
        `(linf, l2)`, floats (l2 rounded to 4 decimals: 0.1 gives 0.6667).
    """
    try:
        linf = float(eps)
    except (TypeError, ValueError):
        linf = None
    if linf is None or not 0.0 < linf <= 1.0:
        raise ValueError(
            "The file's argument is the l-inf radius, a number in (0, 1] (biparo_table1.py:0.1). "
            f"Received: eps={eps!r}"
        )
    return linf, round(linf * 20.0 / 3.0, 4)


def first_order_evaluations(eps=0.3, l2_eps=2.0):
    """The BIPARO report's three evaluation attacks: l-inf PGD-40, l2 PGD-40 and l-inf FGSM."""
    return {
        "pgd_linf": evaluation(f"l-inf PGD-40 eps {eps:g}", attack="pgd", eps=eps, steps=40),
        "pgd_l2": evaluation(
            f"l2 PGD-40 eps {l2_eps:g}", attack="pgd", eps=l2_eps, norm="l2", steps=40
        ),
        "fgsm_linf": evaluation(f"l-inf FGSM eps {eps:g}", attack="fgsm", eps=eps),
    }


def budget(*, epochs=3, train_limit=2000, test_limit=100, eps=0.3, **fields):
    """A reduced `common` budget for a table on a 2-core CPU, every field overridable.

    `epochs` epochs on the first `train_limit` training digits (200 held out for the per-epoch
    validation PGD), the epsilon ramped over the first epoch, the final report under the
    `"standard"` protocol (AutoAttack's) on the first `test_limit` test digits without its sanity
    checks, and no PGD-100 line, export or per-run plot. The training attack and the report use
    the radius `eps` (`--config.common.attack.eps` and `--config.common.evaluation.eps`; a row's
    own `attack.eps` override wins). `fields` (nested dicts) are merged over.
    """
    common = {
        "epochs": epochs,
        "data": {"train_limit": train_limit, "validation_size": 200},
        "attack": {"eps": eps},
        "eps_schedule": {"ramp_epochs": 1.0},
        "evaluation": {
            "eps": eps,
            "protocol": "standard",
            "limit": test_limit,
            "checks": False,
            "pgd_steps": 0,
        },
        "export": {"enabled": False},
        "plot": False,
    }
    _update_dict(common, fields)
    return ml_collections.ConfigDict(common)


def _update_dict(target, values):
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _update_dict(target[key], value)
        else:
            target[key] = value


def row(key, label, recipe, *overrides):
    """One row of a table: a recipe with its overrides, trained into `<workdir>/<key>`.

    Args:
        key: the row's folder name (letters, digits, `_`, `.`, `-`).
        label: the row's name in the table.
        recipe: a recipe file, relative to the `recipes/` folder that holds the table's folder
            (`"mnist/pgd_at.py"`), or an absolute path.
        *overrides: `FIELD=VALUE` strings, read as on the command line
            (`"attack.norm=l2"`, `"model.kwargs={'depth': 8}"`); they win over `common`.

    Example:

    ```python
    from tfadv.experiment.table_config import row

    row("pgd_l2", "l2 PGD training", "mnist/pgd_at.py", "attack.norm=l2", "attack.eps=2.0")
    ```
    """
    return ml_collections.ConfigDict(
        {"key": key, "label": label, "recipe": recipe, "overrides": tuple(overrides)}
    )


def evaluation(label, *, eps, norm="linf", attack="", protocol="", **kwargs):
    """An extra evaluation column, run on every trained row's kept classifier.

    Args:
        label: the column's name.
        eps: float >= 0, the radius.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        attack: a `tfadv.attacks.ATTACKS` name, built with `eps`, `norm` and `kwargs`. Defaults to
            `""` (give `protocol` instead).
        protocol: a `tfadv.evaluation` protocol name (its EOT variant runs on randomised models).
            Defaults to `""` (give `attack` instead).
        **kwargs: the attack's other arguments (`steps=40`, `loss="cw"`).

    Example:

    ```python
    from tfadv.experiment.table_config import evaluation

    evaluation("l2 PGD-40", attack="pgd", eps=2.0, norm="l2", steps=40)
    ```
    """
    return ml_collections.ConfigDict(
        {
            "label": label,
            "attack": attack,
            "protocol": protocol,
            "eps": float(eps),
            "norm": norm,
            "kwargs": ml_collections.ConfigDict(kwargs),
        }
    )
