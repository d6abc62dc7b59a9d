"""The Methods API page names every registered method class, and only those.

`tfadv.methods` exports its classes from the registry at import time (a method is one file), which
mkdocstrings' static reader (griffe) cannot follow; `docs/api/methods.md` therefore lists each class
by its file (`::: tfadv.methods.trades.TRADES`). This test is what keeps that list complete: a new
method file fails it until its line is on the page.
"""

import pathlib
import re

import tfadv

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "api" / "methods.md"
ENTRY = re.compile(r"^::: (tfadv\.methods\.[a-z_0-9]+\.[A-Za-z_0-9]+)\s*$", re.MULTILINE)


def _registered():
    return {f"{cls.__module__}.{cls.__qualname__}" for _, cls in tfadv.methods.METHODS.items()}


def test_every_registered_method_has_an_entry_on_the_methods_page():
    listed = ENTRY.findall(PAGE.read_text(encoding="utf-8"))
    missing = sorted(_registered() - set(listed))
    assert not missing, (
        f"{PAGE.name} has no entry for these registered methods; add the lines "
        f"{[f'::: {path}' for path in missing]} under '## The methods'"
    )
    unknown = sorted(set(listed) - _registered())
    assert not unknown, f"{PAGE.name} lists classes that are not registered methods: {unknown}"
    assert len(listed) == len(set(listed)), f"{PAGE.name} lists a method twice: {listed}"


def test_the_page_paths_are_the_exported_classes():
    """Each entry's class is the one `tfadv.methods.CLASS` exports (what users import)."""
    for path in ENTRY.findall(PAGE.read_text(encoding="utf-8")):
        name = path.rsplit(".", 1)[1]
        assert name in tfadv.methods.__all__, path
        assert tfadv.methods.get(getattr(tfadv.methods, name).registry_name) is getattr(
            tfadv.methods, name
        )
