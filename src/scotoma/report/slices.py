"""The report's failure slices: per method, the kinds of question its target fails most over the method's
rate (`scotoma.slices`), with an example failure and its images.

The report reads run directories only, so it has no scenes: predicates come from the question text
(content words, two-word prefixes), the row's exact skills (`skill:S`, world runs) and, with a taxonomy
run, its skills as topics (`topic:T`). The exact world slices (colours, image positions, object counts
from the scene) are those the probe wrote into its metrics.json and summary.html.
"""

from __future__ import annotations

from html import escape

from scotoma.report.data import ReportData
from scotoma.report.runs import ProbeRow
from scotoma.slices import rank_slices, text_predicates
from scotoma.thumbnails import numbered_thumbnails


def row_predicates(row: ProbeRow, topics: tuple[str, ...]) -> set[str]:
    """A probe row's predicates: its text's, `skill:S` for its exact skills, `topic:T` for `topics`."""
    return text_predicates(row.question or "", topics) | {f"skill:{s}" for s in row.skills}


def _images(row: ProbeRow) -> str:
    return numbered_thumbnails(row.images, 64)


def slice_tables(data: ReportData, top: int = 8) -> str:
    """One table per method: slice, valid questions, failure rate, lift with its 95% Wilson interval, and
    the first failed question of the slice not shown in an earlier row, with the target's and the right
    answer."""
    topics = data.taxonomy is not None
    parts = []
    for name, method in data.methods.items():
        rows = [r for r in method.table_rows if r.judged and r.valid and r.question]
        ranked = rank_slices(
            ((row_predicates(r, data.skills(r) if topics else ()), bool(r.failed), r) for r in rows), top=top
        )
        if not ranked:
            continue
        rows_html, shown = [], set()
        for s in ranked:
            # one failure is often in several slices (family:counting, skill:counting): shown once
            example = next((r for r in s.examples if r.question_id not in shown), None)
            if example is None:
                cells = '<td colspan="3" class="note">its example failures are shown above</td>'
            else:
                shown.add(example.question_id)
                cells = (
                    f"<td>{_images(example)}</td><td>{escape(example.question or '')}</td>"
                    f"<td>{escape(example.answer or '-')} / {escape(example.reference or '-')}</td>"
                )
            rows_html.append(
                f"<tr><td>{escape(s.predicate)}</td><td>{s.support}</td><td>{100 * s.failure_rate:.1f}%</td>"
                f"<td>{s.lift:.2f} [{s.lift_low:.2f}, {s.lift_high:.2f}]</td>{cells}</tr>"
            )
        body = "".join(rows_html)
        parts.append(
            f"<h3>{escape(name)}</h3><table><tr><th>Slice</th><th>Valid questions</th><th>Failure</th>"
            "<th>Lift [95% CI]</th><th>Images</th><th>Example failure</th><th>Answer / right answer</th></tr>"
            f"{body}</table>"
        )
    intro = (
        "<p>Valid questions grouped by predicate, ranked by the lower end of the 95% Wilson interval of "
        "their failure lift over the method's rate (min. 10 questions).</p>"
    )
    return intro + ("".join(parts) or "<p>No method failed on any question.</p>")


__all__ = ["row_predicates", "slice_tables"]
