"""`taxonomy_for_runs`: the taxonomy of the valid questions of some probe runs, written as a taxonomy run
directory for `write_report` (the CLI's `scotoma taxonomy RUN ... --out DIR`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scotoma.report.runs import load_runs, taxonomy_questions
from scotoma.taxonomy import StandIn, Taxonomy, build_taxonomy


def taxonomy_for_runs(
    runs: Sequence[str | Path], out_dir: str | Path, *, stand_in: bool = False, **kwargs: Any
) -> Taxonomy:
    """Build the taxonomy of the probe runs' valid questions into `out_dir`.

    Args:
        runs: probe run directories (other kinds are ignored).
        out_dir: the taxonomy run directory to write.
        stand_in: use the deterministic world stand-ins for the three model stages (world runs only).
        **kwargs: passed to `build_taxonomy` (primitive_model, label_model, meta_model, embedder,
            config, cache, store, engine).

    Raises:
        ValueError: the runs hold no valid question.
    """
    questions = taxonomy_questions(load_runs(runs))
    if not questions:
        raise ValueError(
            f"no valid, judged question in {', '.join(map(str, runs))}; give probe run directories"
        )
    if stand_in:
        kwargs = {**StandIn().models(), **kwargs}
    return build_taxonomy(questions, out_dir, **kwargs)
