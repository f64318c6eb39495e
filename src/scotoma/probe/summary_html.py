"""summary.html: a probe run as one self-contained page (inline CSS, images as base64 thumbnails numbered
as the questions number them, the FDR chart from `scotoma.svg`): the metric table with every column
defined, skill x method counts, the top failing skills and failure slices with each failure shown once
(under the first skill, then slice, that lists it), the FDR curve, the exclusive skills and the timings.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scotoma import svg
from scotoma.probe.metrics import DEFINITIONS
from scotoma.probe.samples import ProbeSample
from scotoma.probe.summary import COLUMNS, SliceRows, cell, example_identity, new_examples
from scotoma.thumbnails import numbered_thumbnails


def _example_cells(example: Mapping[str, Any], samples: Mapping[str, ProbeSample]) -> str:
    esc = html.escape
    return (
        f"<td>{thumbnail(samples.get(example.get('sample', '')))}</td>"
        f"<td class='text q'>{esc(str(example.get('question', '')))}</td>"
        f"<td class=text>{esc(str(example.get('answer', '')))}</td>"
        f"<td class=text>{esc(str(example.get('reference', '')))}</td>"
        f"<td class='text skills'>{esc(', '.join(example.get('skills') or ()))}</td>"
    )


_SHOWN_ABOVE = "<td colspan=5 class='text muted'>its failures are shown above, under an earlier row</td>"
_EXAMPLE_HEADER = (
    "<th class=text>Images</th><th class=text>Question</th><th class=text>Answer</th>"
    "<th class=text>Right answer</th><th class=text>Skills it needs</th>"
)


def slice_html(
    slices: SliceRows, samples: Mapping[str, ProbeSample], shown: set[tuple[Any, Any]] | None = None
) -> str:
    """The ranked failure slices as HTML table rows, one per example not in `shown` (the
    `example_identity` of failures shown already; the slice's own are added)."""
    esc = html.escape
    shown = set() if shown is None else shown
    rows = []
    for sl, records in slices:
        fresh = new_examples(records, shown)
        shown.update(map(example_identity, fresh))
        head = (
            f"<td>{esc(sl.predicate)}</td><td>{sl.support}</td><td>{sl.failure_rate:.0%}</td>"
            f"<td>{sl.lift:.2f} ({sl.lift_low:.2f}-{sl.lift_high:.2f})</td>"
        )
        for example in fresh:
            rows.append(
                f"<tr data-key='{esc(str(example.get('key')))}'>{head}{_example_cells(example, samples)}</tr>"
            )
        if not fresh:
            rows.append(f"<tr>{head}{_SHOWN_ABOVE}</tr>")
    return (
        "<table><tr><th>Slice</th><th>Valid questions</th><th>Failure</th><th>Lift (95% CI)</th>"
        f"{_EXAMPLE_HEADER}</tr>{''.join(rows)}</table>"
    )


def thumbnail(sample: ProbeSample | None, size: int = 96) -> str:
    """The sample's images as inline thumbnails, each captioned "image N" as the questions name them."""
    return "" if sample is None else numbered_thumbnails(sample.images, size)


def fdr_chart(curves: Mapping[str, Sequence[Sequence[float]]]) -> str:
    """FDR (%) against cumulative questions (paper Figure 8), one line per method."""
    points = {m: [(x, 100 * y) for x, y in c if not math.isnan(y)] for m, c in curves.items()}
    points = {m: c for m, c in points.items() if c}
    if not points:
        return "<p class=muted>No method has a valid question yet.</p>"
    return svg.line_chart("fdr-curve", "Cumulative FDR", points, "questions generated", "FDR (%)", 100, 0)


def metric_table(metrics: Mapping[str, Any]) -> str:
    """The metric table, every header with its definition as a tooltip, and the definitions below."""
    esc = html.escape
    least = metrics.get("min_skill_questions", "the run's threshold of")
    meaning = {key: text.format(min=least) for key, text in DEFINITIONS.items()}
    head = "<tr><th>Method</th>" + "".join(
        f'<th title="{esc(meaning[k])}">{esc(title)}</th>' for k, title, _ in COLUMNS
    )
    rows = "".join(
        f"<tr><td>{esc(method)}</td>"
        + "".join(f"<td>{cell(v.get(k), f)}</td>" for k, _, f in COLUMNS)
        + "</tr>"
        for method, v in metrics["methods"].items()
    )
    terms = "".join(f"<dt>{esc(title)}</dt><dd>{esc(meaning[k])}</dd>" for k, title, _ in COLUMNS)
    return f'<table id="metrics">{head}</tr>{rows}</table><dl class="definitions">{terms}</dl>'


def skill_table(metrics: Mapping[str, Any], limit: int = 40) -> str:
    """Skill x method: judged questions that need the skill, the valid ones, the failures among them and
    their FDR; the `limit` skills with most valid questions over all methods."""
    esc = html.escape
    per_method = {m: v.get("per_skill") or {} for m, v in metrics["methods"].items()}
    total: dict[str, int] = {}
    for counts in per_method.values():
        for skill, row in counts.items():
            total[skill] = total.get(skill, 0) + row["valid"]
    skills = sorted(total, key=lambda s: (-total[s], s))
    if not skills:
        return "<p class=muted>No question carries a skill.</p>"
    groups = "".join(f"<th colspan=4>{esc(m)}</th>" for m in per_method)
    names = "<th>Questions</th><th>Valid</th><th>Failures</th><th>FDR %</th>" * len(per_method)
    body = []
    for skill in skills[:limit]:
        cells = []
        for counts in per_method.values():
            row = counts.get(skill, {"questions": 0, "valid": 0, "failures": 0})
            fdr = f"{100 * row['failures'] / row['valid']:.1f}" if row["valid"] else "-"
            cells.append(
                f"<td>{row['questions']}</td><td>{row['valid']}</td><td>{row['failures']}</td><td>{fdr}</td>"
            )
        body.append(f"<tr><td>{esc(skill)}</td>{''.join(cells)}</tr>")
    shown = f"the {limit} with most valid questions, of {len(skills)}" if len(skills) > limit else "all"
    return (
        f"<p class=muted>Skills: {shown}. Questions: judged questions that need the skill; valid: the "
        "valid ones; failures: valid ones the target answered wrongly; FDR = failures / valid.</p>"
        f'<div class="wide"><table id="per-skill"><tr><th rowspan=2>Skill</th>{groups}</tr><tr>{names}</tr>'
        f"{''.join(body)}</table></div>"
    )


def exclusive_html(metrics: Mapping[str, Any]) -> str:
    """Skills exclusive to a method, with how often every other method asked them."""
    esc = html.escape
    least = metrics.get("min_skill_questions", "the run's threshold of")
    asked = {m: v.get("skill_counts") or {} for m, v in metrics["methods"].items()}
    items = []
    for method, skills in metrics.get("exclusive_skills", {}).items():
        described = []
        for skill in skills:
            others = ", ".join(f"{o} {c.get(skill, 0)}" for o, c in asked.items() if o != method)
            described.append(
                f"{skill} ({asked.get(method, {}).get(skill, 0)}; {others})" if others else skill
            )
        items.append(f"<li>{esc(method)}: {esc('; '.join(described) or 'none')}</li>")
    return (
        f"<p class=muted>A skill is exclusive to a method when more than {least} of that method's valid "
        f"questions need it and {least} or fewer of every other method's do (paper 000, Table 3). The other "
        "methods may still ask it, less often: in brackets, the valid questions that need it, this "
        f"method's first.</p><ul>{''.join(items)}</ul>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child,.text{text-align:left}th[title]{cursor:help;text-decoration:underline dotted}
.thumbs{display:grid;grid-template-columns:repeat(2,auto);gap:4px;justify-content:start}
figure{margin:0;text-align:center;font-size:11px}img{border:1px solid #999}td.q{min-width:16em}
td.skills{font-size:12px;color:#555;min-width:12em}
dl.definitions{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;font-size:13px;color:#555}
dt{font-weight:600}dd{margin:0}.muted{color:#777}th[colspan]{text-align:center}.wide{overflow-x:auto}
"""


def html_page(
    metrics: Mapping[str, Any],
    examples: Sequence[Mapping[str, Any]],
    samples: Mapping[str, ProbeSample],
    slices: SliceRows = (),
) -> str:
    """The summary as a self-contained HTML page."""
    esc = html.escape
    main = esc(str(metrics.get("main_method", "")))
    skill_rows, shown = [], set()
    for entry in examples:
        head = (
            f"<td>{esc(entry['skill'])}</td><td>{entry['questions']}</td><td>{entry['failure_rate']:.0%}</td>"
        )
        for example in entry["examples"]:
            shown.add(example_identity(example))
            skill_rows.append(
                f"<tr data-key='{esc(str(example.get('key')))}'>{head}{_example_cells(example, samples)}</tr>"
            )
        if not entry["examples"]:
            skill_rows.append(f"<tr>{head}{_SHOWN_ABOVE}</tr>")
    timings = "".join(
        f"<li>{esc(m)}: {s:.1f} s</li>" for m, s in metrics.get("seconds_per_method", {}).items()
    )
    base = metrics.get("base")
    base_note = (
        f" Base model <b>{esc(str(base))}</b>: a failure counts only where it answers right." if base else ""
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>scotoma probe</title>
<style>{_CSS}</style></head><body>
<h1>scotoma probe</h1>
<p>Target <b>{esc(str(metrics.get("answerer")))}</b>,
questioner <b>{esc(str(metrics.get("questioner")))}</b>, verifier <b>{esc(str(metrics.get("verifier")))}</b>,
{metrics.get("samples")} image sets, k = {metrics.get("k")}.{base_note}</p>
<h2>Metrics</h2><p class=muted>QVR over judged questions; every other metric over valid questions (paper 000,
section 4.1). Hover a column's name for its definition; all are listed below the table.</p>
{metric_table(metrics)}
<h2>Per skill</h2>{skill_table(metrics)}
<h2>Top failing skills ({main})</h2><p class=muted>Skills with more than 5 valid questions, by failure
rate. A failed question needs several skills: it is shown once, under the first of these skills that needs
it (the same question on the same images counts once). Images are numbered as the
questions name them.</p>
<table><tr><th>Skill</th><th>Valid questions</th><th>Failure</th>{_EXAMPLE_HEADER}</tr>{"".join(skill_rows)}
</table>
<h2>Top failure slices ({main})</h2><p class=muted>Valid questions
grouped by predicate (world: from the program; elsewhere: from the text), ranked by the lower end of the
95% Wilson interval of the failure lift over the run's rate (scotoma.slices). Failures shown above are not
shown again.</p>{slice_html(slices, samples, shown)}
<h2>FDR against cumulative questions</h2><p class=muted>Training questions first where a method trains
(paper Figure 8).</p>{fdr_chart(metrics.get("fdr_curves", {}))}
<h2>Skills exclusive to a method</h2>{exclusive_html(metrics)}
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
    "exclusive_html",
    "fdr_chart",
    "html_page",
    "metric_table",
    "skill_table",
    "slice_html",
    "thumbnail",
    "write_html",
]
