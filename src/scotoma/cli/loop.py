"""`scotoma loop`: find, fix, verify in one command (the closed loop of probe, synth, train, bench)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def loop(
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="LoopConfig overrides as key=value, e.g. worst_skills=2 chains=100 dpo=false."),
    ] = None,
    answerer: Annotated[str, typer.Option(help="The target VLM to fix.")] = "builtin:answerer",
    questioner: Annotated[str, typer.Option(help="The probe's questioner.")] = "builtin:questioner",
    base: Annotated[
        str | None,
        typer.Option(help="The model the target was fine-tuned from: target only failures it answers right."),
    ] = None,
    out: Annotated[Path, typer.Option(help="The loop's folder; re-running resumes.")] = Path("runs/loop"),
) -> None:
    """Probe the target, take its worst skills, synthesize chains and S2H pairs for them, train it (LoRA),
    then probe and bench it again; prints the before/after table and its verdicts."""
    from scotoma.cli.summary_line import echo_summary
    from scotoma.loop import LoopConfig, format_table, run_loop

    config = LoopConfig(answerer=answerer, questioner=questioner, base=base).with_overrides(overrides or [])
    result = run_loop(config, out)
    typer.echo(format_table(result.metrics))
    typer.echo(f"fixed model: {result.model}; loop in {result.seconds / 60:.1f} min")
    echo_summary(result.out_dir)


__all__ = ["loop"]
