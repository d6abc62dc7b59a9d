"""The builders of a `tfadv table` config file (`recipes/tables/*.py`).

Its `get_config()` returns `base_config(...)`: `workdir`, `title`, `claim` (the seed's claim with
its source), `common` (recipe fields merged into every row: `budget(...)`), `rows` (`row(...)`
each), `evaluations` (`evaluation(...)` each), `sweep` (a field and its `points`: each row once per
point), `curves` (plot validation accuracy per epoch) and `smoke` (fields `--smoke` sets).

One vocabulary names the recipe fields: a row's overrides are `FIELD=VALUE` strings, read exactly
as `--config.FIELD=VALUE` on the command line (`"attack.norm=l2"`, `"model.kwargs={'depth': 8}"`);
`sweep.field` is such a path, `common` and `smoke` are nested dicts of those fields, and
`tfadv tune` searches the same paths (`search.space`).
"""

import ml_collections


def base_config(**fields):
    """A table config: every field at its empty default, then `fields` (`workdir=...`)."""
    config = ml_collections.ConfigDict(
        dict(workdir="", title="", claim="", common={}, rows=(), evaluations={}, curves=False)
    )
    config.sweep, config.smoke = {"field": "", "points": ()}, {}
    for name, value in fields.items():
        if name not in config:
            raise ValueError(f"A table config has no field {name!r}. Received: {name}={value!r}")
        config[name] = value
    return config


def radii(eps="0.3"):
    """`(linf, l2)`: a seed table file's argument `eps` (in (0, 1]: `biparo_table1.py:0.1`), the
    l-inf radius, and the l2 radius that goes with it like MNIST's 2.0 with 0.3 (x 20 / 3)."""
    try:
        linf = float(eps)
    except (TypeError, ValueError):
        linf = float("nan")  # refused below
    if not 0.0 < linf <= 1.0:
        raise ValueError(
            "The file's argument is the l-inf radius, a number in (0, 1] (biparo_table1.py:0.1). "
            f"Received: eps={eps!r}"
        )
    return linf, round(linf * 20.0 / 3.0, 4)


def first_order_evaluations(eps=0.3, l2_eps=2.0):
    """The BIPARO report's three evaluation attacks: l-inf PGD-40, l2 PGD-40 and l-inf FGSM."""
    pgd = {"attack": "pgd", "steps": 40}
    return {
        "pgd_linf": evaluation(f"l-inf PGD-40 eps {eps:g}", eps=eps, **pgd),
        "pgd_l2": evaluation(f"l2 PGD-40 eps {l2_eps:g}", eps=l2_eps, norm="l2", **pgd),
        "fgsm_linf": evaluation(f"l-inf FGSM eps {eps:g}", attack="fgsm", eps=eps),
    }


def budget(*, epochs=3, train_limit=2000, test_limit=100, eps=0.3, **fields):
    """A reduced `common` budget for a 2-core CPU, `fields` (nested dicts) merged over it:
    `epochs` epochs on the first `train_limit` training digits (200 held out for validation), the
    radius `eps` ramped over the first epoch, the report under the `"standard"` protocol at `eps`
    on the first `test_limit` test digits without sanity checks; no PGD-N line, export or plot."""
    common = ml_collections.ConfigDict(dict(epochs=epochs, plot=False, export={"enabled": False}))
    common.data = {"train_limit": train_limit, "validation_size": 200}
    common.attack, common.eps_schedule = {"eps": eps}, {"ramp_epochs": 1.0}
    evaluation = {"eps": eps, "protocol": "standard", "limit": test_limit, "checks": False}
    common.evaluation = evaluation | {"pgd_steps": 0}
    common.update(fields)  # a dict updates the section it names
    return common


def row(key, label, recipe, *overrides):
    """One row of a table: a recipe with its overrides, trained into `<workdir>/<key>`.

    Args:
        key: the row's folder name (letters, digits, `_`, `.`, `-`).
        label: the row's name in the table.
        recipe: a recipe file, relative to the `recipes/` folder that holds the table's folder
            (`"mnist/pgd_at.py"`), or an absolute path.
        *overrides: `FIELD=VALUE` strings, read as `--config.FIELD=VALUE` on the command line;
            they win over `common` and `smoke`.

    Example:

    ```python
    row("pgd_l2", "l2 PGD training", "mnist/pgd_at.py", "attack.norm=l2", "attack.eps=2.0")
    ```
    """
    return ml_collections.ConfigDict(dict(key=key, label=label, recipe=recipe, overrides=overrides))


def evaluation(label, *, eps, norm="linf", attack="", protocol="", **kwargs):
    """An extra evaluation column, run on every row's kept classifier.

    Args:
        label: the column's name.
        eps: float >= 0, the radius.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        attack: a `tfadv.attacks.ATTACKS` name (or give `protocol`). Defaults to `""`.
        protocol: a `tfadv.evaluation` protocol name (`"rand"` for randomised models).
            Defaults to `""`.
        **kwargs: the attack's other arguments (`steps=40`, `loss="cw"`).

    Example:

    ```python
    evaluation("l2 PGD-40", attack="pgd", eps=2.0, norm="l2", steps=40)
    ```
    """
    spec = dict(label=label, attack=attack, protocol=protocol, eps=float(eps), norm=norm)
    return ml_collections.ConfigDict(spec | {"kwargs": kwargs})
