"""The guides in `examples/` run top to bottom at smoke size and carry keras.io's header.

Each guide is a script in keras.io's example format (a docstring header with `Title:`, `Author:`
and `Description:` lines, then prose blocks and code); the documentation site renders them into
pages. A new guide joins these tests by being added to `examples/`.
"""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUIDES = sorted((ROOT / "examples").glob("*.py"))
HEADER_FIELDS = ("Title", "Author", "Description")


def _files_under(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_there_are_guides():
    assert GUIDES, f"no guide found in {ROOT / 'examples'}"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.stem)
def test_guide_has_keras_io_header(guide):
    docstring = ast.get_docstring(ast.parse(guide.read_text()), clean=True)
    assert docstring, f"{guide.name} has no module docstring header"
    lines = docstring.splitlines()
    fields = [line.split(":", 1)[0] for line in lines if ":" in line]
    assert fields[: len(HEADER_FIELDS)] == list(HEADER_FIELDS), (
        f"{guide.name}: the header must start with {HEADER_FIELDS} lines. Received: {lines}"
    )
    for line in lines[: len(HEADER_FIELDS)]:
        assert line.split(":", 1)[1].strip(), f"{guide.name}: empty header line {line!r}"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.stem)
def test_guide_reads_the_smoke_switch(guide):
    assert 'os.environ.get("TFADV_EXAMPLE_SMOKE") == "1"' in guide.read_text(), (
        f"{guide.name} must read SMOKE from TFADV_EXAMPLE_SMOKE so that the tests run it small"
    )


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.stem)
def test_guide_runs_at_smoke_size(guide, tmp_path):
    before = _files_under(ROOT / "examples")
    env = dict(os.environ, TFADV_EXAMPLE_SMOKE="1", TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, str(guide)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"{guide.name} exited with {result.returncode}:\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-3000:]}"
    )
    # A guide writes its files under a temporary folder, never next to itself in the repository.
    assert _files_under(ROOT / "examples") == before, f"{guide.name} wrote into examples/"
