"""`taxonomy_for_runs`: the taxonomy of the valid questions of some probe runs, written as a taxonomy run
directory that `scotoma report` reads (the CLI's `scotoma taxonomy RUN ... --out DIR`).

The questions come in read already (`scotoma.report.taxonomy_questions(load_runs(paths))`): reading run
directories is the report's job, and the report sits above the taxonomy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scotoma.taxonomy.pipeline import build_taxonomy
from scotoma.taxonomy.primitives import TaxonomyQuestion
from scotoma.taxonomy.result import Taxonomy
from scotoma.taxonomy.stand_in import StandIn


def taxonomy_for_runs(
    questions: Sequence[TaxonomyQuestion],
    out_dir: str | Path,
    *,
    runs: Sequence[str | Path] = (),
    stand_in: bool = False,
    **kwargs: Any,
) -> Taxonomy:
    """Build the taxonomy of the probe runs' valid questions into `out_dir`.

    Args:
        questions: the valid, judged questions of the runs (`scotoma.report.taxonomy_questions`).
        out_dir: the taxonomy run directory to write.
        runs: the run directories they come from, named in the error when there is no question.
        stand_in: use the deterministic world stand-ins for the three model stages (world runs only).
        **kwargs: passed to `build_taxonomy` (primitive_model, label_model, meta_model, embedder,
            config, cache, store, engine).

    Raises:
        ValueError: there is no question.
    """
    if not questions:
        where = ", ".join(map(str, runs)) or "the runs given"
        raise ValueError(f"no valid, judged question in {where}; give probe run directories")
    if stand_in:
        kwargs = {**StandIn().models(), **kwargs}
    return build_taxonomy(questions, out_dir, **kwargs)
