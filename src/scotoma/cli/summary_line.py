"""The last line every job prints: where its results went, so a first run never ends without saying."""

from __future__ import annotations

from pathlib import Path

import typer

from scotoma.runlog import METRICS


def summary_line(summary: Path, html: Path | None = None) -> str:
    """`summary: PATH`, and `  html: PATH` after it where the job wrote an HTML summary too.

    Args:
        summary: a run directory (its metrics.json is named) or the summary file itself.
        html: the job's HTML summary (summary.html, results.html), if it wrote one.
    """
    path = summary / METRICS if summary.is_dir() else summary
    return f"summary: {path}" + (f"  html: {html}" if html is not None else "")


def echo_summary(summary: Path, html: Path | None = None) -> None:
    """Print `summary_line` on stdout."""
    typer.echo(summary_line(summary, html))


__all__ = ["echo_summary", "summary_line"]
