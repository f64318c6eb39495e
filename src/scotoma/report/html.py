"""`write_report(runs, out_dir)`: one self-contained HTML file from run directories, nothing else.

Everything is inside the file: charts are inline SVG drawn in Python (`scotoma.svg`), thumbnails are base64
PNG, the only script is the gallery filter (plain JavaScript, no library). It opens without a network.
A small guard records uncaught script errors and console.error calls on <html data-js-errors>, and the
page sets <body data-ready="1"> once its script has run, so a headless browser can check both.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import numpy as np

from scotoma.report import sections
from scotoma.report.data import ReportData, assemble, skill_frequencies
from scotoma.report.gallery import FILTER_SCRIPT, gallery
from scotoma.report.runs import BenchRun, ProbeRun, Run, TaxonomyRun, load_runs
from scotoma.report.slices import slice_tables

REPORT_FILE = "report.html"

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:14px 24px}header h1{margin:0;font-size:22px}
nav{padding:8px 24px;background:#eceff1;position:sticky;top:0;z-index:1}nav a{margin-right:14px;color:#1565c0}
main{padding:8px 24px}section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:8px 16px;
margin:14px 0}table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
th{background:#f3f3f3}.charts{display:flex;flex-wrap:wrap;gap:12px}.pair{display:flex;flex-wrap:wrap;gap:24px}
.note{color:#666;font-size:12px}b.best{color:#1b5e20}u.second{text-decoration-color:#1565c0}
#gallery{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
.card{width:360px;border:1px solid #ddd;border-radius:6px;padding:8px;font-size:13px;background:#fff}
.card .q{font-weight:600;margin:6px 0}.thumbs{display:flex;flex-wrap:wrap;gap:4px}
.thumbs figure{margin:0;text-align:center;font-size:11px}
.thumbs img{border:1px solid #ccc;image-rendering:pixelated;max-width:160px}
.noimg{font-size:11px;color:#999;width:160px}.wrong{color:#c62828}
.chip{display:inline-block;background:#e3f2fd;border-radius:10px;padding:1px 8px;margin:2px;font-size:11px}
.meta{color:#777;font-size:11px}.filters{margin:8px 0}th[title]{cursor:help;text-decoration:underline dotted}
dl.definitions{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:12px;color:#555}
dl.definitions dt{font-weight:600}dl.definitions dd{margin:0}
"""

# Uncaught errors and console.error calls are written on <html data-js-errors>, so a headless browser
# (or a reader with devtools closed) can see that the page's script failed.
ERROR_GUARD = (
    "<script>(function(){var h=document.documentElement;function note(m){"
    "h.setAttribute('data-js-errors',(h.getAttribute('data-js-errors')||'')+String(m)+';');}"
    "window.addEventListener('error',function(e){note(e.message);});"
    "var original=console.error;console.error=function(){note(Array.prototype.join.call(arguments,' '));"
    "original.apply(console,arguments);};})();</script>"
)


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def _runs_table(runs: Sequence[Run]) -> str:
    rows = []
    for run in runs:
        kind = {ProbeRun: "probe", BenchRun: "bench", TaxonomyRun: "taxonomy"}[type(run)]
        git = (run.spec.get("git") or {}).get("commit", "")[:10]
        rows.append(
            [run.path.name, kind, str(run.spec.get("command", "")), str(run.spec.get("started_at", "")), git]
        )
    return sections.table(["Run", "Kind", "Command", "Started", "Commit"], rows)


def render(
    runs: Sequence[Run],
    data: ReportData,
    min_questions: int = 20,
    exclusive_groups: Mapping[str, Sequence[str]] | None = None,
    max_gallery: int = 120,
) -> str:
    """The whole page as a string."""
    parts = [_section("runs", "Runs", _runs_table(runs))]
    if data.methods:
        failures = [r for m in data.methods.values() for r in m.table_rows if r.failed]
        skill_order = list(skill_frequencies(data))
        parts += [
            _section("summary", "Metrics per method (Table 1)", sections.summary_table(data, min_questions)),
            _section("meta-skills", "Per meta-skill (Figure 5)", sections.radars(data)),
            _section("skills", "Failure rate per skill", sections.skill_tables(data)),
            _section("composition", "Skill combinations (Figure 7)", sections.composition(data)),
            _section("training", "Over training (Figures 8 and 9)", sections.training(data)),
            _section(
                "exclusive",
                "Exclusive skills (Table 3)",
                sections.exclusive(data, exclusive_groups, min_questions),
            ),
            _section(
                "landscape",
                "Hard and model-specific skills (Tables 8-9)",
                sections.landscape_tables(data, min_questions),
            ),
            _section("slices", "Failure slices", slice_tables(data)),
            _section("failures", "Failure gallery", gallery(failures, data.skills, skill_order, max_gallery)),
        ]
    if data.benches:
        parts.append(_section("bench", "Benchmarks", sections.bench_tables(data)))
    if data.taxonomy is not None or data.methods:
        parts.append(_section("taxonomy", "Taxonomy", sections.taxonomy_section(data)))
    links = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in _nav(data))
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>scotoma report</title>"
        f"<style>{STYLE}</style>{ERROR_GUARD}</head><body>"
        f"<header><h1>scotoma report</h1><div>{len(runs)} run(s), written "
        f"{escape(time.strftime('%Y-%m-%d %H:%M'))}</div></header><nav>{links}</nav>"
        f"<main>{''.join(parts)}</main>"
        f"<script>{FILTER_SCRIPT if data.methods else ''}"
        "document.body.setAttribute('data-ready','1');</script>"
        "</body></html>\n"
    )


def _nav(data: ReportData) -> list[tuple[str, str]]:
    items = [("runs", "Runs")]
    if data.methods:
        items += [("summary", "Table 1"), ("meta-skills", "Meta-skills"), ("skills", "Skills")]
        items += [("composition", "Combinations"), ("training", "Training"), ("exclusive", "Exclusive")]
        items += [("landscape", "Landscape"), ("slices", "Slices"), ("failures", "Gallery")]
    if data.benches:
        items.append(("bench", "Benchmarks"))
    if data.taxonomy is not None or data.methods:
        items.append(("taxonomy", "Taxonomy"))
    return items


def write_report(
    runs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    vectors: Mapping[str, np.ndarray] | None = None,
    min_questions: int = 20,
    exclusive_groups: Mapping[str, Sequence[str]] | None = None,
    max_gallery: int = 120,
) -> Path:
    """Read run directories and write `out_dir/report.html`.

    Args:
        runs: probe, bench and taxonomy run directories, in any mix (a taxonomy run supplies the skills
            of the probe runs' questions; without one, their exact skills are used).
        out_dir: created if missing.
        vectors: question text -> embedding, for semantic diversity where no taxonomy run holds the
            question's embedding (`questions_to_embed` lists those to embed).
        min_questions: a skill counts for a method above this many valid questions (the paper's 20).
        exclusive_groups: group name -> methods, for Table 3 (default: each method on its own).
        max_gallery: most failure cards drawn.

    Returns:
        The path of the written file.

    Raises:
        RunError: a path is not a readable run directory.
    """
    if not runs:
        raise ValueError("give at least one run directory")
    loaded = load_runs(runs)
    page = render(loaded, assemble(loaded, vectors), min_questions, exclusive_groups, max_gallery)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path
