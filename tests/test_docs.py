"""The documentation site builds strictly, names every public name, and the package builds a wheel.

`mkdocs build --strict` fails on a broken cross-reference, a missing docstring of a public name (the
griffe extension `docs/_hooks/require_docstrings.py`) and a docstring `Args:` entry that is not in the
signature; the guides are rendered from `examples/*.py` by `docs/_hooks/render_examples.py`.
"""

import importlib
import os
import re
import subprocess
import sys
import tarfile
import zipfile
import zlib

import pytest

from tfadv._version import __version__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = [
    "tfadv",
    "tfadv.attacks",
    "tfadv.callbacks",
    "tfadv.certification",
    "tfadv.data",
    "tfadv.evaluation",
    "tfadv.experiment",
    "tfadv.export",
    "tfadv.layers",
    "tfadv.methods",
    "tfadv.models",
    "tfadv.schedules",
    "tfadv.tuning",
]


def _inventory(site):
    """The object paths of the site's `objects.inv` (mkdocstrings' Sphinx inventory)."""
    with open(os.path.join(site, "objects.inv"), "rb") as f:
        data = f.read()
    body = zlib.decompress(data.split(b"\n", 4)[4]).decode("utf-8")
    return {line.split(" ", 1)[0] for line in body.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return str(out)


def test_site_builds_strictly_with_every_page(site):
    for page in (
        "index.html",
        "api/attacks/index.html",
        "api/methods/index.html",
        "versioning/index.html",
    ):
        assert os.path.exists(os.path.join(site, page)), page
    with open(os.path.join(site, "versioning", "index.html"), encoding="utf-8") as f:
        assert f"[{__version__}]" in f.read()  # the changelog is included in the site


def test_every_public_name_has_an_api_entry(site):
    entries = _inventory(site)
    missing = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            if isinstance(getattr(module, name), type(module)):
                continue  # a subpackage: its own names are checked
            pattern = re.compile(rf"^{re.escape(package)}(\.[a-z_0-9]+)?\.{re.escape(name)}$")
            if not any(pattern.match(entry) for entry in entries):
                missing.append(f"{package}.{name}")
    assert not missing, f"public names without an API entry: {missing}"


def test_guides_are_rendered_from_every_example(site):
    examples = os.path.join(ROOT, "examples")
    scripts = sorted(
        name[:-3]
        for name in (os.listdir(examples) if os.path.isdir(examples) else [])
        if name.endswith(".py") and not name.startswith("_")
    )
    for name in scripts:
        assert os.path.exists(os.path.join(site, "guides", name, "index.html")), name


def test_render_example_keras_io_format(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "docs", "_hooks"))
    try:
        render_examples = importlib.import_module("render_examples")
    finally:
        sys.path.pop(0)
    script = tmp_path / "guide.py"
    script.write_text(
        '"""\nTitle: A guide\nAuthor: tfadv\nDescription: What it shows.\n"""\n'
        '"""\n## Setup\n\nSome prose.\n"""\n\nimport os\n\nx = 1\n'
        '"""\n## Next\n"""\n\nprint(x)\n',
        encoding="utf-8",
    )
    title, markdown = render_examples.render(str(script))
    assert title == "A guide"
    assert markdown.startswith("# A guide\n\n**Description:** What it shows.")
    assert "## Setup\n\nSome prose.\n\n```python\nimport os\n\nx = 1\n```\n\n## Next" in markdown
    assert markdown.endswith("```python\nprint(x)\n```\n")
    script.write_text('"""No header."""\nx = 1\n', encoding="utf-8")
    with pytest.raises(ValueError, match="Title"):
        render_examples.render(str(script))


def test_wheel_and_sdist_build(tmp_path):
    # --no-isolation: the build backend (setuptools) is the installed one, no download.
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path), ROOT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    wheel = tmp_path / f"tfadv-{__version__}-py3-none-any.whl"
    sdist = tmp_path / f"tfadv-{__version__}.tar.gz"
    assert wheel.exists() and sdist.exists(), sorted(os.listdir(tmp_path))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "tfadv_cli.py" in names
    assert any(re.fullmatch(r"tfadv/data/_embedded/[^/]+\.npz", name) for name in names), names
    with tarfile.open(sdist) as archive:
        assert f"tfadv-{__version__}/setup.py" in archive.getnames()


def test_changelog_names_the_current_version():
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        changelog = f.read()
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(__version__)}\]", changelog, re.MULTILINE), __version__
