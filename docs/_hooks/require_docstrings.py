"""A griffe extension: `#:` comments document attributes, and every public name must carry a docstring.

mkdocstrings loads it (`extensions:` in `mkdocs.yml`). tfadv documents module constants and registries
with Sphinx's `#:` comment lines right above the assignment; griffe reads only string docstrings, so the
comment becomes the attribute's docstring here. For every module of the package that declares
`__all__` (private modules aside), each exported name without a docstring is reported as a warning, which `mkdocs build --strict` turns into a failed build.
"""

import griffe


def _missing(obj):
    return obj.docstring is None or not obj.docstring.value.strip()


def _where(obj):
    return f"{obj.filepath}:{obj.lineno}" if obj.lineno else str(obj.filepath)


class RequireDocstrings(griffe.Extension):
    """Reads `#:` comments as attribute docstrings; warns about each public name without a docstring."""

    def on_attribute_instance(self, *, attr, **kwargs):
        """Gives `attr` the text of the `#:` comment lines right above it, when it has no docstring."""
        if attr.docstring is not None or not attr.lineno or attr.filepath is None:
            return
        try:
            lines = attr.lines_collection[attr.filepath]
        except KeyError:
            return
        comment = []
        index = attr.lineno - 2  # the line above the assignment, 0-based
        while index >= 0 and lines[index].lstrip().startswith("#:"):
            comment.insert(0, lines[index].lstrip()[2:].strip())
            index -= 1
        if comment:
            attr.docstring = griffe.Docstring(" ".join(comment), lineno=index + 2, parent=attr)

    def on_package(self, *, pkg, **kwargs):
        """Checks the loaded package `pkg` once it is complete."""
        for problem in sorted(set(missing_docstrings(pkg))):
            griffe.logger.warning(problem)  # mkdocstrings reports griffe's warnings


def _modules(module):
    yield module
    for member in module.modules.values():
        if not member.is_alias:
            yield from _modules(member)


def missing_docstrings(pkg):
    """Yields one message per public name of `pkg` without a docstring."""
    for module in _modules(pkg):
        if _missing(module) and not module.name.startswith("_"):
            yield f"{_where(module)}: module {module.path} has no docstring"
        if not module.exports or any(part.startswith("_") for part in module.path.split(".")):
            continue
        for name in module.exports:
            name = name if isinstance(name, str) else getattr(name, "name", str(name))
            if name not in module.members:
                continue
            obj = module.members[name]
            try:
                target = obj.final_target if obj.is_alias else obj
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                continue
            if _missing(target):
                yield f"{_where(target)}: public name {module.path}.{name} has no docstring"
