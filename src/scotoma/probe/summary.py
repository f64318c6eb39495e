"""A probe run, readable: the metric table of every method, the top failing skills and the top failure
slices (`scotoma.slices`) with examples, in the terminal (rich) and as one self-contained HTML file
(inline CSS, images as base64 thumbnails).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scotoma.probe.metrics import per_skill_failure_rate
from scotoma.probe.samples import ProbeSample
from scotoma.slices import Slice

#: (slice, its failed example records) as the summary shows them
SliceRows = Sequence[tuple[Slice, Sequence[Mapping[str, Any]]]]

COLUMNS = (
    ("questions", "Questions", "{:.0f}"),
    ("qvr", "QVR %", "{:.1%}"),
    ("fdr", "FDR %", "{:.1%}"),
    ("semantic_diversity", "SD", "{:.2f}"),
    ("lexical_diversity", "LD", "{:.2f}"),
    ("number_of_skills", "# Skills", "{:.0f}"),
    ("skill_coverage", "Skill cov.", "{:.2f}"),
    ("unique_skill_combinations", "Combos", "{:.0f}"),
)


def cell(value: Any, fmt: str) -> str:
    """A metric as table text; "-" for missing or nan."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value).replace("%", "") if fmt.endswith("%}") else fmt.format(value)


def failure_examples(
    records: Sequence[Mapping[str, Any]], top: int = 6, per_skill: int = 2, min_questions: int = 5
) -> list[dict[str, Any]]:
    """The skills with the highest failure rate (among skills of > min_questions valid questions), each
    with a few failed questions as examples."""
    rates = per_skill_failure_rate(records, min_questions)
    ranked = sorted(rates.items(), key=lambda item: (-item[1], item[0]))[:top]
    out = []
    for skill, rate in ranked:
        failed = [r for r in records if r.get("failed") and skill in (r.get("skills") or ())]
        asked = sum(1 for r in records if r.get("valid") and skill in (r.get("skills") or ()))
        out.append({"skill": skill, "failure_rate": rate, "questions": asked, "examples": failed[:per_skill]})
    return out


def print_summary(
    metrics: Mapping[str, Any],
    examples: Sequence[Mapping[str, Any]] = (),
    console: Any = None,
    slices: SliceRows = (),
) -> None:
    """The metric table, the top failing skills and the top failure slices, on the terminal."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"probe: {metrics.get('answerer', '')} questioned by {metrics.get('questioner', '')}")
    table.add_column("Method")
    for _, title, _ in COLUMNS:
        table.add_column(title, justify="right")
    for method, values in metrics["methods"].items():
        table.add_row(method, *(cell(values.get(key), fmt) for key, _, fmt in COLUMNS))
    console.print(table)
    if examples:
        skills = Table(title=f"top failing skills ({metrics.get('main_method', '')})")
        for name in ("Skill", "Valid questions", "Failure %", "Example failure (answer / right answer)"):
            skills.add_column(name)
        for entry in examples:
            example = entry["examples"][0] if entry["examples"] else None
            text = f"{example['question']} ({example['answer']} / {example['reference']})" if example else ""
            skills.add_row(entry["skill"], str(entry["questions"]), f"{entry['failure_rate']:.0%}", text)
        console.print(skills)
    if slices:
        console.print(slice_table(slices, f"top failure slices ({metrics.get('main_method', '')})"))
    failures = metrics.get("answerer_failures") or {}
    if failures.get("samples_left_out"):
        console.print(
            f"warning: the answerer's call failed on {failures['samples_left_out']} samples, left out of "
            f"the figures (e.g. {failures['first_error']}); run the same command again to retry them",
            markup=False,
        )


def _example_text(records: Sequence[Mapping[str, Any]]) -> str:
    example = records[0] if records else None
    return f"{example['question']} ({example['answer']} / {example['reference']})" if example else ""


def slice_table(slices: SliceRows, title: str) -> Any:
    """The ranked failure slices as a rich table (lift with its 95% Wilson interval, an example)."""
    from rich.table import Table

    table = Table(title=title)
    for name in (
        "Slice",
        "Questions",
        "Failure %",
        "Lift (95% CI)",
        "Example failure (answer / right answer)",
    ):
        table.add_column(name)
    for sl, records in slices:
        table.add_row(
            sl.predicate, str(sl.support), f"{sl.failure_rate:.0%}",
            f"{sl.lift:.2f} ({sl.lift_low:.2f}-{sl.lift_high:.2f})", _example_text(records),
        )  # fmt: skip
    return table


def slice_html(slices: SliceRows, samples: Mapping[str, ProbeSample]) -> str:
    """The ranked failure slices as HTML table rows, one per example (images as thumbnails)."""
    esc = html.escape
    rows = []
    for sl, records in slices:
        for example in records or [{}]:
            rows.append(
                f"<tr><td>{esc(sl.predicate)}</td><td>{sl.support}</td><td>{sl.failure_rate:.0%}</td>"
                f"<td>{sl.lift:.2f} ({sl.lift_low:.2f}-{sl.lift_high:.2f})</td>"
                f"<td>{thumbnail(samples.get(example.get('sample', '')))}</td>"
                f"<td class=text>{esc(str(example.get('question', '')))}</td>"
                f"<td class=text>{esc(str(example.get('answer', '')))}</td>"
                f"<td class=text>{esc(str(example.get('reference', '')))}</td></tr>"
            )
    return (
        "<table><tr><th>Slice</th><th>Valid questions</th><th>Failure</th><th>Lift (95% CI)</th>"
        f"<th>Images</th><th>Question</th><th>Answer</th><th>Right answer</th></tr>{''.join(rows)}</table>"
    )


def thumbnail(sample: ProbeSample | None, size: int = 96) -> str:
    """The sample's images as inline <img> tags (PNG thumbnails, base64)."""
    if sample is None:
        return ""
    tags = []
    for n, ref in enumerate(sample.images, start=1):
        image = ref.load()
        image.thumbnail((size, size))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        tags.append(f'<img alt="Image {n}" title="Image {n}" src="data:image/png;base64,{data}">')
    return "".join(tags)


def svg_curves(curves: Mapping[str, Sequence[Sequence[float]]], width: int = 480, height: int = 200) -> str:
    """FDR against cumulative questions (paper Figure 8) as an inline SVG line chart, one line per method."""
    points = {m: [(x, y) for x, y in c if not math.isnan(y)] for m, c in curves.items()}
    points = {m: c for m, c in points.items() if c}
    if not points:
        return ""
    top_x = max(x for c in points.values() for x, _ in c)
    colors = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
    lines, legend = [], []
    for n, (method, c) in enumerate(points.items()):
        xy = " ".join(
            f"{40 + (width - 50) * x / top_x:.1f},{height - 20 - (height - 30) * y:.1f}" for x, y in c
        )
        color = colors[n % len(colors)]
        lines.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{xy}"/>')
        legend.append(
            f'<text x="{50 + 110 * n}" y="12" fill="{color}" font-size="11">{html.escape(method)}</text>'
        )
    axes = (
        f'<line x1="40" y1="{height - 20}" x2="{width - 10}" y2="{height - 20}" stroke="#999"/>'
        f'<line x1="40" y1="10" x2="40" y2="{height - 20}" stroke="#999"/>'
        f'<text x="2" y="{height - 20}" font-size="10">0%</text><text x="2" y="14" font-size="10">100%</text>'
        f'<text x="{width - 120}" y="{height - 4}" font-size="10">{top_x} questions</text>'
    )
    return f'<svg width="{width}" height="{height}">{axes}{"".join(lines)}{"".join(legend)}</svg>'


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child,td.text{text-align:left}img{margin-right:4px;border:1px solid #999}
.muted{color:#777}
"""


def html_page(
    metrics: Mapping[str, Any],
    examples: Sequence[Mapping[str, Any]],
    samples: Mapping[str, ProbeSample],
    slices: SliceRows = (),
) -> str:
    """The summary as a self-contained HTML page."""
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(method)}</td>"
        + "".join(f"<td>{cell(v.get(k), f)}</td>" for k, _, f in COLUMNS)
        + "</tr>"
        for method, v in metrics["methods"].items()
    )
    head = "<tr><th>Method</th>" + "".join(f"<th>{esc(t)}</th>" for _, t, _ in COLUMNS) + "</tr>"
    skill_rows = []
    for entry in examples:
        for example in entry["examples"] or [{}]:
            skill_rows.append(
                f"<tr><td>{esc(entry['skill'])}</td><td>{entry['questions']}</td>"
                f"<td>{entry['failure_rate']:.0%}</td>"
                f"<td>{thumbnail(samples.get(example.get('sample', '')))}</td>"
                f"<td class=text>{esc(str(example.get('question', '')))}</td>"
                f"<td class=text>{esc(str(example.get('answer', '')))}</td>"
                f"<td class=text>{esc(str(example.get('reference', '')))}</td></tr>"
            )
    timings = "".join(
        f"<li>{esc(m)}: {s:.1f} s</li>" for m, s in metrics.get("seconds_per_method", {}).items()
    )
    exclusive = "".join(
        f"<li>{esc(m)}: {esc(', '.join(s) or 'none')}</li>"
        for m, s in metrics.get("exclusive_skills", {}).items()
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>scotoma probe</title>
<style>{_CSS}</style></head><body>
<h1>scotoma probe</h1>
<p>Target <b>{esc(str(metrics.get("answerer")))}</b>,
questioner <b>{esc(str(metrics.get("questioner")))}</b>, verifier <b>{esc(str(metrics.get("verifier")))}</b>,
{metrics.get("samples")} image sets, k = {metrics.get("k")}.</p>
<h2>Metrics</h2><p class=muted>QVR over judged questions; every other metric over valid questions (paper 000,
section 4.1). SD: Vendi score of MiniLM embeddings. LD: prefix entropy over log(distinct prefixes).</p>
<table>{head}{rows}</table>
<h2>Top failing skills ({esc(str(metrics.get("main_method", "")))})</h2>
<table><tr><th>Skill</th><th>Valid questions</th><th>Failure</th><th>Images</th><th>Question</th>
<th>Answer</th><th>Right answer</th></tr>{"".join(skill_rows)}</table>
<h2>Top failure slices ({esc(str(metrics.get("main_method", "")))})</h2><p class=muted>Valid questions
grouped by predicate (world: from the program; elsewhere: from the text), ranked by the lower end of the
95% Wilson interval of the failure lift over the run's rate (scotoma.slices).</p>{slice_html(slices, samples)}
<h2>FDR against cumulative questions</h2><p class=muted>Training questions first where a method trains
(paper Figure 8).</p>{svg_curves(metrics.get("fdr_curves", {}))}
<h2>Skills exclusive to a method</h2><ul>{exclusive}</ul>
<h2>Time</h2><ul>{timings}</ul>
</body></html>
"""


def write_html(
    path: str | Path,
    metrics: Mapping[str, Any],
    examples: Sequence[Mapping[str, Any]],
    samples: Mapping[str, ProbeSample],
    slices: SliceRows = (),
) -> Path:
    """Write the HTML summary to `path`."""
    path = Path(path)
    path.write_text(html_page(metrics, examples, samples, slices), encoding="utf-8")
    return path


__all__ = [
    "COLUMNS",
    "failure_examples",
    "html_page",
    "print_summary",
    "slice_html",
    "slice_table",
    "svg_curves",
    "thumbnail",
    "write_html",
]
