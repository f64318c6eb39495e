"""A probe run, readable in the terminal (rich): the metric table of every method, the top failing skills
and the top failure slices (`scotoma.slices`) with examples; the columns and examples that summary.html
(`scotoma.probe.summary_html`) shows too. A failure is one example however many skills need it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from scotoma.probe.metrics import per_skill_failure_rate
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


def new_examples(
    records: Sequence[Mapping[str, Any]], shown: set[tuple[Any, Any]]
) -> list[Mapping[str, Any]]:
    """The first record of each example (`example_identity`) not in `shown`, in order."""
    first: dict[tuple[Any, Any], Mapping[str, Any]] = {}
    for record in records:
        if example_identity(record) not in shown:
            first.setdefault(example_identity(record), record)
    return list(first.values())


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
        fresh = new_examples(failed, shown)[:per_skill]
        shown.update(map(example_identity, fresh))
        asked = sum(1 for r in records if r.get("valid") and skill in (r.get("skills") or ()))
        out.append({"skill": skill, "failure_rate": rate, "questions": asked, "examples": fresh})
    return out


def summary_title(metrics: Mapping[str, Any]) -> str:
    """Who was probed by whom, and (with a base model) what a failure means."""
    title = f"probe: {metrics.get('answerer', '')} questioned by {metrics.get('questioner', '')}"
    base = metrics.get("base")
    return f"{title}; failures are those {base} answers right" if base else title


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
    table = Table(title=summary_title(metrics))
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


__all__ = [
    "COLUMNS",
    "SliceRows",
    "cell",
    "example_identity",
    "failure_examples",
    "new_examples",
    "print_summary",
    "slice_table",
    "summary_title",
]
