"""The report in a real browser: headless Chromium loads it from a file (no network), runs its script
without a console message or an error, draws every chart, applies a skill filter given in the address,
and a screenshot is taken (kept in the test's tmp_path: report.png).

Console messages come from Chromium's own log (--enable-logging=stderr: one ":CONSOLE" line per
message); the page itself also records uncaught errors and console.error calls on <html
data-js-errors> and sets <body data-ready="1"> once its script has run, which --dump-dom shows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from scotoma.report import write_report
from test_report_runs import bench_run, hashed_vectors, world_runs

BROWSER = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
    None,
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
)

# Two browser starts, 2-3 s each on 2 cores: the default tier.
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="needs Chromium (Debian: apt-get install -y chromium; .ci/run installs it)"
)


def browse(args: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run the browser once with a fresh profile."""
    profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)
    return subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    runs = [*world_runs(root), bench_run(root / "bench")]
    return write_report(runs, root / "out", min_questions=2, vectors=hashed_vectors(runs))


def test_page_loads_draws_and_filters(report, tmp_path):
    page = report.read_text()
    skill = unescape(
        re.search(
            r'<select id="skill-filter"><option value="">[^<]*</option><option value="([^"]+)"', page
        ).group(1)
    )
    done = browse(["--dump-dom", f"{report.as_uri()}#skill={quote(skill)}"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert console(done.stderr) == []
    html_tag = re.search(r"<html[^>]*>", dom).group(0)
    body_tag = re.search(r"<body[^>]*>", dom).group(0)
    assert "data-js-errors" not in html_tag and 'data-ready="1"' in body_tag
    charts = re.findall(r'<svg class="chart" data-chart="([^"]+)"', dom)
    assert {"radar-fdr", "radar-sd", "radar-ld", "combinations", "skills-per-question", "fdr-curve"} <= set(
        charts
    )
    assert dom.count('class="series"') >= 3 * 3 + 3  # three radars and the curve, three methods each
    cards = re.findall(r'<div class="card" data-skills="([^"]*)" data-method="[^"]*"( style="[^"]*")?>', dom)
    shown = [skills for skills, style in cards if "none" not in style]
    hidden = [skills for skills, style in cards if "none" in style]
    assert shown and all(skill in unescape(s).split("|") for s in shown)
    assert all(skill not in unescape(s).split("|") for s in hidden)
    assert f'<span id="gallery-count">{len(shown)} shown</span>' in dom


def test_screenshot(report, tmp_path):
    shot = tmp_path / "report.png"
    done = browse(
        [f"--screenshot={shot}", "--window-size=1280,3000", "--hide-scrollbars", report.as_uri()], tmp_path
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert console(done.stderr) == []
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 3000)
    assert len(set(image.resize((160, 375)).getdata())) > 50  # drawn, not a blank page
