"""`scotoma world`: generate and show samples of the shapes world."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

world_app = typer.Typer(
    help="The shapes world: scenes, questions with an exact oracle, the built-in models.",
    no_args_is_help=True,
)


def _world_range(text: str, option: str) -> tuple[int, int]:
    """'3' -> (3, 3); '1-4' -> (1, 4)."""
    low, _, high = text.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not N or N1-N2 (e.g. 3 or 1-4)", param_hint=option) from None


def comma_names(text: str | None) -> tuple[str, ...] | None:
    """'existence, attribute' -> ('existence', 'attribute'); empty or None -> None."""
    return tuple(name.strip() for name in text.split(",") if name.strip()) if text else None


@world_app.command("generate")
def world_generate(
    out: Annotated[Path, typer.Option(help="Output folder: records.jsonl, metrics.json, images/.")],
    n: Annotated[int, typer.Option(min=1, help="Number of samples.")] = 200,
    images_per_sample: Annotated[
        str, typer.Option(help="Images per sample: K or K1-K2, within 1..8.")
    ] = "1-4",
    families: Annotated[
        str | None, typer.Option(help="Comma-separated question families (default: all of them).")
    ] = None,
    skills: Annotated[
        str | None, typer.Option(help="Comma-separated skills; keep questions needing at least one.")
    ] = None,
    objects: Annotated[str, typer.Option(help="Objects per box: N or N1-N2, within 1..8.")] = "1-8",
    max_depth: Annotated[
        int, typer.Option(min=1, help="Deepest program nesting (raised per family if needed).")
    ] = 3,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed; sample i is the same for the same seed and options.")
    ] = 0,
    balance: Annotated[
        bool, typer.Option("--balance/--no-balance", help="Balance answers per family (a target per sample).")
    ] = True,
    force: Annotated[
        bool, typer.Option("--force", help="Delete the records already in --out first.")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes drawing samples; the records do not change.")
    ] = 1,
) -> None:
    """Write N samples of the shapes world: PNGs, questions, exact answers, programs and skills."""
    import time

    from rich.console import Console

    from scotoma.cli.summary_line import echo_summary
    from scotoma.world.programs.skills import FAMILIES
    from scotoma.world.sampling.dataset import write_samples
    from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler

    options: dict = {
        "images_per_sample": _world_range(images_per_sample, "--images-per-sample"),
        "objects_per_box": _world_range(objects, "--objects"),
        "families": comma_names(families) or tuple(FAMILIES),
        "skills": comma_names(skills) or (),
        "max_depth": max_depth,
        "balance": balance,
    }
    try:
        sampler = QuestionSampler(QuestionConfig(**options), seed=seed)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    start = time.perf_counter()
    metrics = write_samples(sampler, n, out, overwrite=force, workers=workers)
    _world_summary(Console(), metrics, out, time.perf_counter() - start)
    echo_summary(out)


def _world_summary(console: Any, metrics: dict, out: Path, seconds: float) -> None:
    from rich.table import Table

    table = Table(title="families and answer balance")
    for column in ("family", "n", "majority answer", "its share", "yes share", "misses"):
        table.add_column(column, justify="left" if column in ("family", "majority answer") else "right")
    for family, count in metrics["families"].items():
        top = metrics["majority"][family]
        yes = metrics["yes_share"].get(family)
        table.add_row(
            family,
            str(count),
            top["answer"],
            f"{top['share']:.2f}",
            "-" if yes is None else f"{yes:.2f}",
            str(metrics["misses"][family]),
        )
    console.print(table)
    skills = Table(title="skills")
    skills.add_column("skill")
    skills.add_column("samples", justify="right")
    for skill, count in sorted(metrics["skills"].items(), key=lambda item: -item[1]):
        skills.add_row(skill, str(count))
    console.print(skills)
    console.print(
        f"{metrics['n']} samples in {out} ({seconds:.1f} s); structures {metrics['structures']}; "
        f"images per sample {metrics['images_per_sample']}",
        markup=False,
        soft_wrap=True,
    )


@world_app.command("show")
def world_show(
    folder: Annotated[Path, typer.Argument(help="A folder written by `scotoma world generate`.")],
    sample: Annotated[
        str | None, typer.Argument(help="Key ('0-17') or index (17); default the first.")
    ] = None,
) -> None:
    """Print one generated sample: question, answer, family, skills, program, images and their objects."""
    from rich.console import Console
    from rich.table import Table

    from scotoma.errors import ScotomaError
    from scotoma.world.sampling.dataset import load_sample
    from scotoma.world.sampling.records import program_text

    try:
        found = load_sample(folder, sample)
    except KeyError as error:  # no such sample: say which there are, as the boundary says any error
        raise ScotomaError(error.args[0]) from None
    console = Console(soft_wrap=True)
    console.print(
        f"{found.key}  {found.family}  ({found.structure}, {len(found.images)} images)", markup=False
    )
    for label, value in (
        ("question", found.question),
        ("answer", found.answer),
        ("skills", ", ".join(found.skills)),
        ("program", program_text(found.program)),
    ):
        console.print(f"{label + ':':9} {value}", markup=False)
    for k, (image, box) in enumerate(zip(found.images, found.scene.boxes, strict=True), 1):
        console.print(f"Image {k}: {image.uri}", markup=False)
        table = Table()
        for column in ("shape", "color", "size", "x", "y", "edges"):
            table.add_column(column, justify="right" if column in ("size", "x", "y") else "left")
        for obj in box.objects:
            edges = [edge for edge in ("top", "bottom", "left", "right") if obj.touches(edge)]  # type: ignore[arg-type]
            table.add_row(obj.shape, obj.color, str(obj.size), str(obj.x), str(obj.y), ",".join(edges) or "-")
        console.print(table)
