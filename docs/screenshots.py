"""Screenshots of the documentation site in headless Chromium: the home page, a guide and an API page.

Builds the site with `mkdocs build --strict` into a temporary folder (or takes a built one with
`--site DIR`), serves it on 127.0.0.1 from a thread, and has Chromium take one screenshot per page:

    python docs/screenshots.py                          # into a new temporary folder
    python docs/screenshots.py --out /tmp/shots --site site/
    python docs/screenshots.py --page results/mnist-recipes/   # one more page: results-mnist-recipes.png

Prints the path of each PNG written and exits non-zero if the build or a screenshot fails. Needs
Chromium (`apt-get install -y chromium`: /usr/bin/chromium, or `--chromium PATH`); nothing is fetched
from the network (the site's web fonts, if any, fail to load and the browser's fallback is used).
"""

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
WINDOW = (1280, 2000)
# (file name, path in the site): the home page, one guide, one API page.
PAGES = (
    ("home.png", ""),
    ("guide.png", "guides/adversarial_training_with_fit/"),
    ("api.png", "api/attacks/"),
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def build_site(site_dir):
    """Runs `mkdocs build --strict` from the repository root into `site_dir`."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", site_dir],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise RuntimeError(f"mkdocs build --strict failed:\n{result.stdout}{result.stderr}")


def screenshot(chromium, url, png, window=WINDOW, timeout=120):
    """Has headless Chromium, with a fresh profile, write a screenshot of `url` to `png`."""
    with tempfile.TemporaryDirectory(prefix="tfadv-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={window[0]},{window[1]}",
            f"--screenshot={png}",
            url,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or not os.path.isfile(png) or os.path.getsize(png) == 0:
        raise RuntimeError(
            f"Chromium wrote no screenshot of {url} (exit {result.returncode}):\n{result.stderr}"
        )


def take(site, out, chromium=CHROMIUM, pages=PAGES, window=WINDOW):
    """Serves `site` on 127.0.0.1 and writes one screenshot per page into `out`; returns the paths."""
    handler = functools.partial(_QuietHandler, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        paths = []
        for name, page in pages:
            if not os.path.isfile(os.path.join(site, page, "index.html")):
                raise FileNotFoundError(f"the site at {site} has no page {page}index.html")
            png = os.path.join(out, name)
            screenshot(chromium, base + page, png, window)
            paths.append(png)
        return paths
    finally:
        server.shutdown()
        server.server_close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", help="a built site folder (default: build one with mkdocs)")
    parser.add_argument("--out", help="folder for the PNGs (default: a new temporary folder)")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"the browser (default {CHROMIUM})")
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        metavar="PATH",
        help="one more page by its path in the site, e.g. results/mnist-recipes/ (repeatable)",
    )
    args = parser.parse_args(argv)
    pages = list(PAGES)
    for page in args.page:
        page = page.strip("/")
        pages.append(((page.replace("/", "-") or "index") + ".png", page + "/" if page else ""))

    chromium = shutil.which(args.chromium)
    if chromium is None:
        parser.exit(2, f"error: no Chromium at {args.chromium!r}: apt-get install -y chromium\n")
    out = args.out or tempfile.mkdtemp(prefix="tfadv-screenshots-")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tfadv-site-") as tmp:
        site = args.site
        if site is None:
            site = os.path.join(tmp, "site")
            print("building the site (mkdocs build --strict) ...", flush=True)
            try:
                build_site(site)
            except RuntimeError as error:
                parser.exit(1, f"error: {error}\n")
        try:
            paths = take(os.path.abspath(site), out, chromium, pages)
        except (RuntimeError, FileNotFoundError, subprocess.TimeoutExpired) as error:
            parser.exit(1, f"error: {error}\n")
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
