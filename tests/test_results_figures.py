"""The results pages' figures are regenerated from the stored JSON, and every record is dated.

`docs/results/make_figures.py` draws every PNG the pages embed from `docs/results/data/*.json`; each
record there names the date, the command and the machine of its measurement.
"""

import datetime
import glob
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "docs", "results")
PNG = b"\x89PNG\r\n\x1a\n"


def _embedded_figures():
    """`figures/NAME.png` of every image a results page embeds, with the page's name."""
    found = []
    for page in sorted(glob.glob(os.path.join(RESULTS, "*.md"))):
        with open(page, encoding="utf-8") as f:
            for name in re.findall(r"!\[[^\]]*\]\(figures/([^)\s]+\.png)\)", f.read()):
                found.append((os.path.basename(page), name))
    return found


def test_the_pages_embed_the_required_figures():
    names = {name for _, name in _embedded_figures()}
    # the three: accuracy against eps, the Pareto plot, the certified-accuracy curve
    assert {"robustness_curve.png", "pareto.png", "certified_accuracy.png"} <= names


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, os.path.join(RESULTS, "make_figures.py"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_make_figures_draws_every_embedded_figure(regenerated):
    for page, name in _embedded_figures():
        path = regenerated / name
        assert path.exists(), f"{page} embeds figures/{name}, which make_figures.py did not draw"
        with open(path, "rb") as f:
            assert f.read(8) == PNG, name
        assert os.path.exists(os.path.join(RESULTS, "figures", name)), f"figures/{name} not stored"


def test_every_record_carries_its_date_command_and_machine():
    files = sorted(glob.glob(os.path.join(RESULTS, "data", "*.json")))
    assert files
    for path in files:
        with open(path, encoding="utf-8") as f:
            records = json.load(f)["records"]
        assert records, path
        for i, record in enumerate(records):
            where = f"{os.path.basename(path)} record {i}"
            for key in ("date", "command", "machine"):
                assert isinstance(record.get(key), str) and record[key].strip(), f"{where}: {key}"
            datetime.date.fromisoformat(record["date"])  # YYYY-MM-DD


def test_every_data_file_feeds_a_figure():
    sys.path.insert(0, RESULTS)
    try:
        import make_figures
    finally:
        sys.path.remove(RESULTS)
    used = {data for _, data in make_figures.FIGURES.values()}
    stored = {os.path.basename(p) for p in glob.glob(os.path.join(RESULTS, "data", "*.json"))}
    assert used == stored
