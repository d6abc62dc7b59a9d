"""A mkdocs hook: every `examples/*.py` becomes a page of the site's "Guides" section at build time.

The scripts follow keras.io's format: a module docstring header (`Title: ...`, `Author: ...`,
`Description: ...` lines), then top-level triple-quoted strings (markdown prose) alternating with
code. The header becomes `# Title` and the description, each string block is copied as markdown, and
each run of code between them becomes a fenced `python` block. With no script the section is left out.
"""

import ast
import os
import textwrap

from mkdocs.structure.files import File

EXAMPLES = "examples"
GUIDES = "guides"
HEADER_FIELDS = ("title", "author", "date created", "last modified", "description", "accelerator")


def _scripts(config):
    root = os.path.join(os.path.dirname(config["config_file_path"]), EXAMPLES)
    if not os.path.isdir(root):
        return []
    return [
        os.path.join(root, name)
        for name in sorted(os.listdir(root))
        if name.endswith(".py") and not name.startswith("_")
    ]


def _header(docstring, path):
    fields, prose = {}, []
    for line in textwrap.dedent(docstring).strip().splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in HEADER_FIELDS and not prose:
            fields[key.strip().lower()] = value.strip()
        else:
            prose.append(line)
    if "title" not in fields:
        raise ValueError(
            f"{path}: the module docstring has no `Title: ...` line (keras.io's example header)."
        )
    return fields, "\n".join(prose).strip()


def _code(lines):
    text = "\n".join(lines).strip("\n")
    return f"```python\n{text}\n```" if text.strip() else ""


def render(path):
    """Returns `(title, markdown)` for the keras.io-style example script at `path`."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    tree = ast.parse(source, filename=path)
    lines = source.splitlines()
    docstring = ast.get_docstring(tree, clean=False)
    if docstring is None:
        raise ValueError(f"{path}: no module docstring (keras.io's `Title: ...` header).")
    fields, extra = _header(docstring, path)
    parts = [f"# {fields['title']}"]
    if "description" in fields:
        parts.append(f"**Description:** {fields['description']}")
    if extra:
        parts.append(extra)
    parts.append(f"*The script: `{EXAMPLES}/{os.path.basename(path)}`.*")
    body = tree.body[1:]
    cursor = tree.body[0].end_lineno  # 1-based line after which the next segment starts
    for node in body:
        is_prose = (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        if not is_prose:
            continue
        parts.append(_code(lines[cursor : node.lineno - 1]))
        parts.append(textwrap.dedent(node.value.value).strip())
        cursor = node.end_lineno
    parts.append(_code(lines[cursor:]))
    return fields["title"], "\n\n".join(part for part in parts if part) + "\n"


_PAGES = []


def on_config(config):
    """Renders the scripts and lists their pages under "Guides", after the first nav entry."""
    _PAGES.clear()
    for path in _scripts(config):
        title, markdown = render(path)
        name = os.path.splitext(os.path.basename(path))[0]
        _PAGES.append((f"{GUIDES}/{name}.md", title, markdown))
    nav = config.get("nav")
    if _PAGES and nav is not None:
        section = {"Guides": [{title: uri} for uri, title, _ in _PAGES]}
        nav[:] = [entry for entry in nav if not (isinstance(entry, dict) and "Guides" in entry)]
        nav.insert(1, section)
    return config


def on_files(files, config):
    """Adds the rendered guides to the site's files."""
    for uri, _, markdown in _PAGES:
        files.append(File.generated(config, uri, content=markdown))
    return files
