"""Results as tables: rich for the terminal, and a small self-contained HTML page (no scripts, no links)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SUMMARY_COLUMNS = (
    ("accuracy", "Accuracy [95% CI]"),
    ("macro_accuracy", "Macro [95% CI]"),
    ("original_order_accuracy", "Original order"),
    ("group_accuracy", "All variants right"),
)


def pct(value: float | None) -> str:
    """0.7132 -> "71.3"; NaN or None -> "-"."""
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}"


def with_ci(estimate: Mapping[str, Any] | None) -> str:
    """An estimate dict as "71.3 [65.0, 77.1]"."""
    if not estimate:
        return "-"
    if estimate["ci_low"] is None or math.isnan(estimate["ci_low"]):
        return pct(estimate["value"])
    return f"{pct(estimate['value'])} [{pct(estimate['ci_low'])}, {pct(estimate['ci_high'])}]"


def summary_rows(metrics: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per input setting."""
    header = [
        "Setting",
        *(title for _, title in SUMMARY_COLUMNS),
        "Order-sensitive",
        "Unparsed",
        "Items",
        "Variants",
    ]
    rows = []
    for setting, m in metrics["settings"].items():
        order = m["order_sensitivity"]
        rows.append(
            [
                setting,
                *(with_ci(m[key]) for key, _ in SUMMARY_COLUMNS),
                f"{pct(order['value'])} (of {order['n_items']})" if order["n_items"] else "-",
                pct(m["unparsed_rate"]),
                str(m["n_items"]),
                str(m["n_variants"]),
            ]
        )
    return header, rows


def breakdown_rows(metrics: Mapping[str, Any], by: str = "by_subtask") -> tuple[list[str], list[list[str]]]:
    """Header and rows of accuracy per group (subtask, level or image bucket) x setting."""
    settings = list(metrics["settings"])
    groups = sorted({g for m in metrics["settings"].values() for g in m[by]})
    header = [by.removeprefix("by_").replace("_", " ").capitalize(), *settings]
    rows = [[group, *(with_ci(metrics["settings"][s][by].get(group)) for s in settings)] for group in groups]
    return header, rows


def slice_rows(metrics: Mapping[str, Any], top: int = 8) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the top failure slices of every setting (`scotoma.slices.bench_slices`)."""
    header = [
        "Setting",
        "Slice",
        "Variants",
        "Failure %",
        "Lift [95% CI]",
        "Example failure (output / target)",
    ]
    rows = []
    for setting, m in metrics["settings"].items():
        for s in m.get("failure_slices", [])[:top]:
            example = s["examples"][0] if s["examples"] else None
            text = f"{example['question']} ({example['output']} / {example['target']})" if example else ""
            low, high = s["lift_ci"]
            lift = f"{s['lift']:.2f} [{low:.2f}, {high:.2f}]"
            rows.append([setting, s["predicate"], str(s["support"]), pct(s["failure_rate"]), lift, text])
    return header, rows


def comparison_rows(comparison: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a paired comparison: A, B, B - A per setting."""
    header = ["Setting", "A", "B", "B - A [95% CI]", "B right, A wrong", "A right, B wrong", "Items"]
    rows = []
    for setting, c in comparison["settings"].items():
        d = c["difference"]
        diff = (
            f"{100 * d['value']:+.1f} [{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}]"
            if d["ci_low"] is not None
            else "-"
        )
        rows.append(
            [
                setting,
                with_ci(c["accuracy_a"]),
                with_ci(c["accuracy_b"]),
                diff,
                str(c["b_right_a_wrong"]),
                str(c["a_right_b_wrong"]),
                str(d["n_items"]),
            ]
        )
    return header, rows


def rich_table(header: list[str], rows: list[list[str]], title: str | None = None) -> Table:
    """A rich Table from a header and rows."""
    table = Table(title=title, header_style="bold")
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def print_results(metrics: Mapping[str, Any], console: Console | None = None) -> None:
    """The summary and the per-subtask table of one run, on the terminal."""
    console = console or Console()
    title = f"{metrics.get('benchmark', 'bench')} - {metrics.get('model', '')}"
    console.print(rich_table(*summary_rows(metrics), title=title))
    console.print(rich_table(*breakdown_rows(metrics, "by_subtask"), title="Accuracy by subtask"))
    console.print(rich_table(*breakdown_rows(metrics, "by_images"), title="Accuracy by number of images"))
    console.print(rich_table(*breakdown_rows(metrics, "by_variant"), title="Accuracy by variant"))
    console.print(
        rich_table(*slice_rows(metrics), title="Top failure slices (lift over the setting's failure rate)")
    )


def print_comparison(comparison: Mapping[str, Any], console: Console | None = None) -> None:
    """A paired comparison of two runs, on the terminal."""
    console = console or Console()
    title = f"A = {comparison.get('run_a', 'A')}, B = {comparison.get('run_b', 'B')}"
    console.print(rich_table(*comparison_rows(comparison), title=title))


def _html_table(header: list[str], rows: list[list[str]], title: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<h2>{html.escape(title)}</h2>\n<table><tr>{head}</tr>{body}</table>\n"


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child"
    "{text-align:left}th{background:#f3f3f3}"
)


def html_page(metrics: Mapping[str, Any] | None = None, comparison: Mapping[str, Any] | None = None) -> str:
    """A self-contained HTML page with the tables of a run and/or a comparison."""
    parts = []
    if metrics is not None:
        title = f"{metrics.get('benchmark', 'bench')} - {metrics.get('model', '')}"
        parts.append(_html_table(*summary_rows(metrics), title))
        parts.append(_html_table(*breakdown_rows(metrics, "by_subtask"), "Accuracy by subtask"))
        parts.append(_html_table(*breakdown_rows(metrics, "by_level"), "Accuracy by level"))
        parts.append(_html_table(*breakdown_rows(metrics, "by_images"), "Accuracy by number of images"))
        parts.append(_html_table(*breakdown_rows(metrics, "by_variant"), "Accuracy by variant"))
        parts.append(_html_table(*slice_rows(metrics), "Top failure slices"))
    if comparison is not None:
        parts.append(_html_table(*comparison_rows(comparison), "Paired comparison (B - A)"))
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>scotoma bench</title>"
        f"<style>{STYLE}</style></head><body>\n{''.join(parts)}</body></html>\n"
    )


def write_html(
    path: str | Path, metrics: Mapping[str, Any] | None = None, comparison: Mapping[str, Any] | None = None
) -> Path:
    """Write `html_page` to `path` and return it."""
    path = Path(path)
    path.write_text(html_page(metrics, comparison), encoding="utf-8")
    return path
