"""The report: reads run directories only (probe, bench, taxonomy) and writes one self-contained HTML
file with the paper's tables and figures, a filterable failure gallery and the bench tables."""

from scotoma.report.data import questions_to_embed
from scotoma.report.html import REPORT_FILE, render, write_report
from scotoma.report.runs import (
    BenchRun,
    ProbeRow,
    ProbeRun,
    RunError,
    TaxonomyRun,
    load_run,
    load_runs,
    read_records,
    taxonomy_questions,
)

__all__ = [
    "REPORT_FILE",
    "BenchRun",
    "ProbeRow",
    "ProbeRun",
    "RunError",
    "TaxonomyRun",
    "load_run",
    "load_runs",
    "questions_to_embed",
    "read_records",
    "render",
    "taxonomy_questions",
    "write_report",
]
