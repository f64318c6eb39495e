"""A probe run, readable: the metric table of every method, the top failing skills and the top failure
slices (`scotoma.slices`) with examples, in the terminal (rich) and as one self-contained HTML file
(inline CSS, images as base64 thumbnails numbered as the questions number them, charts from
`scotoma.svg`). The HTML also defines every column, breaks each method down per skill and shows each
failure once, under the first skill (then slice) that lists it.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scotoma import svg
from scotoma.probe.metrics import DEFINITIONS, per_skill_failure_rate
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


def example_identity(record: Mapping[str, Any]) -> tuple[Any, Any]:
    """What makes two failures the same example: the question on the same images (several generations
    of one sample often ask it again)."""
    return record.get("sample"), record.get("question")


def failure_examples(
    records: Sequence[Mapping[str, Any]], top: int = 6, per_skill: int = 2, min_questions: int = 5
) -> list[dict[str, Any]]:
    """The skills with the highest failure rate (among skills of > min_questions valid questions), each
    with a few failed questions as examples. A failed question needs several skills: it is an example of
    the first listed skill that needs it only, so no failure is shown twice."""
    rates = per_skill_failure_rate(records, min_questions)
    ranked = sorted(rates.items(), key=lambda item: (-item[1], item[0]))[:top]
    out, shown = [], set()
    for skill, rate in ranked:
        failed = [r for r in records if r.get("failed") and skill in (r.get("skills") or ())]
        fresh = list({example_identity(r): r for r in failed if example_identity(r) not in shown}.values())
        fresh = fresh[:per_skill]
        shown.update(map(example_identity, fresh))
        asked = sum(1 for r in records if r.get("valid") and skill in (r.get("skills") or ()))
        out.append({"skill": skill, "failure_rate": rate, "questions": asked, "examples": fresh})
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
        fresh = list({example_identity(r): r for r in records if example_identity(r) not in shown}.values())
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
    """The sample's images as inline thumbnails (PNG, base64), each captioned "image N" as the questions
    name them (1-based, in the order the questioner saw them)."""
    if sample is None:
        return ""
    tags = []
    for n, ref in enumerate(sample.images, start=1):
        image = ref.load()
        image.thumbnail((size, size))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        tags.append(
            f'<figure><img alt="image {n}" src="data:image/png;base64,{data}">'
            f"<figcaption>image {n}</figcaption></figure>"
        )
    return f'<div class="thumbs">{"".join(tags)}</div>'


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
        f'<table id="per-skill"><tr><th rowspan=2>Skill</th>{groups}</tr><tr>{names}</tr>'
        f"{''.join(body)}</table>"
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
dt{font-weight:600}dd{margin:0}.muted{color:#777}
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
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>scotoma probe</title>
<style>{_CSS}</style></head><body>
<h1>scotoma probe</h1>
<p>Target <b>{esc(str(metrics.get("answerer")))}</b>,
questioner <b>{esc(str(metrics.get("questioner")))}</b>, verifier <b>{esc(str(metrics.get("verifier")))}</b>,
{metrics.get("samples")} image sets, k = {metrics.get("k")}.</p>
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
    "COLUMNS",
    "example_identity",
    "exclusive_html",
    "failure_examples",
    "fdr_chart",
    "html_page",
    "metric_table",
    "print_summary",
    "skill_table",
    "slice_html",
    "slice_table",
    "thumbnail",
    "write_html",
]
