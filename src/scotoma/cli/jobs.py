"""`scotoma probe`, `scotoma report` and `scotoma taxonomy`: failure discovery and what it found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scotoma.engines.config import ENGINE_HELP


def probe(
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            help="ProbeConfig overrides as key=value, e.g. methods=rl,zero_shot k=4 lexical=false."
        ),
    ] = None,
    questioner: Annotated[
        str | None, typer.Option(help="Questioner spec (default builtin:questioner).")
    ] = None,
    answerer: Annotated[str | None, typer.Option(help="Target VLM spec (default builtin:answerer).")] = None,
    verifier: Annotated[
        str | None, typer.Option(help="'oracle' (world images) or judge:SPEC (any images).")
    ] = None,
    images: Annotated[
        Path | None, typer.Option(help="A folder of your own images instead of the world.")
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            help="Compare with this model (e.g. the target's base before fine-tuning): count only the "
            "failures it answers right."
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="A YAML file of ProbeConfig fields.")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory (default runs/probe/...).")] = None,
) -> None:
    """Discover a target VLM's failures with an RL-trained questioner (paper 000).

    With no arguments: shapes-world samples, builtin:questioner trained by GRPO against builtin:answerer
    with the exact oracle as verifier, then the zero-shot baseline on the same images.
    """
    from scotoma.cli.summary_line import echo_summary
    from scotoma.probe import probe_command

    result = probe_command(questioner, answerer, verifier, images, config, out, overrides or (), base)
    echo_summary(result.out_dir, result.summary_path)


def report(
    runs: Annotated[list[Path], typer.Argument(help="Probe, bench and taxonomy run directories.")],
    out: Annotated[Path, typer.Option(help="Folder for report.html.")] = Path("runs/report"),
    embedder: Annotated[
        str | None,
        typer.Option(
            help="Sentence embedder (all-MiniLM-L6-v2 or hashing) for the semantic diversity of questions "
            "no taxonomy run holds embeddings for; without it, SD comes from the probe runs' metrics.json."
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML report (tables, radar plots, failure gallery) from run directories."""
    from scotoma.cli.summary_line import echo_summary
    from scotoma.report import load_runs, questions_to_embed, write_report

    vectors = {}
    if embedder is not None:
        from scotoma.models.embed import get_embedder

        texts = questions_to_embed(load_runs(runs))
        vectors = dict(zip(texts, get_embedder(embedder).encode(texts), strict=True)) if texts else {}
    echo_summary(write_report(runs, out, vectors=vectors))


def taxonomy(
    runs: Annotated[list[Path], typer.Argument(help="Probe run directories to pool.")],
    out: Annotated[Path, typer.Option(help="Taxonomy run directory (pass it to `scotoma report`).")],
    primitives: Annotated[
        str | None, typer.Option(help="VLM spec that lists each question's primitive skills.")
    ] = None,
    labeller: Annotated[str | None, typer.Option(help="LLM spec that names skill clusters.")] = None,
    meta: Annotated[str | None, typer.Option(help="LLM spec that groups skills into meta-skills.")] = None,
    stand_in: Annotated[
        bool, typer.Option("--stand-in", help="Deterministic world stand-ins for the three model stages.")
    ] = False,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
) -> None:
    """Build the two-level failure taxonomy (paper 000, section 3.3) of probe runs."""
    from scotoma.cli.summary_line import echo_summary
    from scotoma.report import load_runs, taxonomy_questions
    from scotoma.taxonomy import taxonomy_for_runs

    if not stand_in and (primitives is None or labeller is None):
        raise typer.BadParameter("give --primitives and --labeller model specs, or --stand-in for world runs")
    models = {} if stand_in else {"primitive_model": primitives, "label_model": labeller, "meta_model": meta}
    questions = taxonomy_questions(load_runs(runs))
    built = taxonomy_for_runs(questions, out, runs=runs, stand_in=stand_in, engine=engine, **models)
    typer.echo(f"taxonomy: {len(built.skills)} skills -> {out}")
    echo_summary(out)
