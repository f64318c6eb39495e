"""`scotoma synth visc|s2h`: training data aimed at the failures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scotoma.engines.config import ENGINE_HELP

synth_app = typer.Typer(
    help="Synthesize focus-centric visual chains (VISC) and S2H preference pairs.", no_args_is_help=True
)

Out = Annotated[Path, typer.Option(help="Run directory: records, every export format, metrics.")]
Model = Annotated[str | None, typer.Option(help="Model spec playing the model-backed roles.")]
N = Annotated[int, typer.Option(min=1, help="Samples to draw.")]
Skills = Annotated[list[str] | None, typer.Option(help="Keep samples needing one of these skills.")]
Seed = Annotated[int, typer.Option(min=0, help="Seeds every draw.")]
Force = Annotated[bool, typer.Option("--force", help="Delete what --out holds and start over.")]
Engine = Annotated[str, typer.Option(help=ENGINE_HELP)]
Formats = Annotated[
    str | None,
    typer.Option(help="Export formats, comma-separated: trl, llamafactory, swift, easyr1 [default: all]."),
]
AbsolutePaths = Annotated[
    bool,
    typer.Option(
        "--absolute-paths/--relative-paths",
        help="Image paths in the exports: absolute (any working directory; TRL's cast_column, ms-swift, "
        "EasyR1 without image_dir) or relative to each file.",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Argument(
        help="Config overrides as key=value, e.g. max_chain_images=3; export.KEY=VALUE for the export."
    ),
]


def _print(result) -> None:
    from scotoma.cli.summary_line import echo_summary
    from scotoma.synth.commands import summary

    for line in summary(result):
        typer.echo(line)
    echo_summary(Path(result.run_dir))


@synth_app.command("visc")
def visc(
    out: Out,
    model: Model = None,
    n: N = 100,
    skills: Skills = None,
    images: Annotated[
        Path | None, typer.Option(help="A folder of image sets for model-backed chains.")
    ] = None,
    role: Annotated[
        list[str] | None, typer.Option(help="Per-stage model, e.g. annotator=SPEC (repeatable).")
    ] = None,
    seed: Seed = 0,
    force: Force = False,
    engine: Engine = "local",
    formats: Formats = None,
    absolute_paths: AbsolutePaths = False,
    overrides: Overrides = None,
) -> None:
    """Focus-centric chains (paper 001): exact from the world, or model-backed on --images."""
    from scotoma.synth.commands import synth_visc

    export = {"export_formats": formats, "absolute_paths": absolute_paths, "overrides": overrides or ()}
    _print(synth_visc(out, model, n, skills, images, role, seed, force=force, engine=engine, **export))


@synth_app.command("s2h")
def s2h(
    out: Out,
    model: Model = None,
    n: N = 100,
    skills: Skills = None,
    levels: Annotated[str, typer.Option(help="Levels to draw, e.g. L1,L2,L3.")] = "L1,L2,L3",
    distractors: Annotated[int, typer.Option(min=0, help="Distractor images (paper: 3 is best).")] = 3,
    mixture: Annotated[str, typer.Option(help="flat (paper: best) or curriculum.")] = "flat",
    relations: Annotated[Path | None, typer.Option(help="Relation-labelled JSONL for L2.")] = None,
    seed: Seed = 0,
    force: Force = False,
    engine: Engine = "local",
    formats: Formats = None,
    absolute_paths: AbsolutePaths = False,
    overrides: Overrides = None,
) -> None:
    """Simple-to-hard preference pairs (paper 003); L1 needs --model (its own wrong answers)."""
    from scotoma.synth.commands import synth_s2h

    _print(
        synth_s2h(
            out,
            model,
            n,
            skills,
            levels,
            distractors,
            mixture,
            relations,
            seed=seed,
            force=force,
            engine=engine,
            export_formats=formats,
            absolute_paths=absolute_paths,
            overrides=overrides or (),
        )
    )
