"""Adversarial-training methods: one `tfadv.AdvModel` subclass per file.

Every module of this package is imported here; each method enrols itself in `METHODS` by declaring
`registry_name` (and its `knobs`), and is exported under its class name. Adding a method is adding
one file: the CLI, recipes, Keras Tuner search spaces and the registry-parametrised tests read
`METHODS`. The API page (`docs/api/methods.md`) names each class by its file, since the
documentation's static reader cannot run this import; a test fails until the new class is listed.
"""

from tfadv.adv_model import METHODS

METHODS.discover()
globals().update({cls.__name__: cls for _, cls in METHODS.items()})


def get(name):
    """The method class registered as `name` (`"trades"`, `"TRADES"`, `"fat_trades"`, ...)."""
    return METHODS.get(name)


__all__ = ["METHODS", "get"] + sorted(cls.__name__ for _, cls in METHODS.items())
