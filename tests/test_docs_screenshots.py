"""The documentation site renders in a real browser: `docs/screenshots.py` in headless Chromium.

The script builds the site strictly, serves it on 127.0.0.1 and screenshots the home page, a guide
and an API page; each PNG must have the window's size and not be blank (a page that failed to load
or rendered no text is one or two flat colours).
"""

import os
import struct
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
SCRIPT = os.path.join(ROOT, "docs", "screenshots.py")
EXPECTED = ("home.png", "guide.png", "api.png")
WIDTH, HEIGHT = 1280, 2000

pytestmark = pytest.mark.browser
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium) for the site screenshots",
)


def _png_size(path):
    """(width, height) from the PNG signature and IHDR chunk; fails on anything else."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path} has no IHDR chunk first"
    return struct.unpack(">II", head[16:24])


def _distinct_colours(path):
    import matplotlib.image

    pixels = matplotlib.image.imread(path)  # float in [0, 1], (H, W, 3 or 4)
    rgb = np.round(pixels[..., :3] * 255).astype(np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    return len(np.unique(packed)), float(packed.std())


@needs_chromium
def test_home_guide_and_api_pages_render(tmp_path):
    out = tmp_path / "shots"
    result = subprocess.run(
        [sys.executable, SCRIPT, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    printed = result.stdout.strip().splitlines()[-len(EXPECTED) :]
    assert printed == [str(out / name) for name in EXPECTED], result.stdout
    for name in EXPECTED:
        path = str(out / name)
        assert _png_size(path) == (WIDTH, HEIGHT), name
        colours, spread = _distinct_colours(path)
        # Rendered text is anti-aliased: a real page has hundreds of distinct colours.
        assert colours > 64 and spread > 0, f"{name} looks blank: {colours} distinct colours"


def test_script_refuses_a_missing_browser(tmp_path):
    result = subprocess.run(
        [sys.executable, SCRIPT, "--out", str(tmp_path), "--chromium", str(tmp_path / "nothing")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no Chromium" in result.stderr
