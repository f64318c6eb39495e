"""The `scotoma world train-answerer | train-questioner | eval-model | ship-model` commands (typer).

scotoma.cli wires them into its `world` group: `register(world_app)`, or one by one with
`world_app.command("train-answerer")(train_answerer)`. Heavy imports happen inside the commands.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from scotoma.cli.world import comma_names

Out = Annotated[Path, typer.Option(help="Run folder: checkpoint/, model/, records.jsonl, curve.png.")]
Minutes = Annotated[
    float | None, typer.Option(min=0, help="Stop after this many minutes of training in this call.")
]
Samples = Annotated[int | None, typer.Option(min=1, help="Stop once this many samples were seen in total.")]
Threads = Annotated[
    int, typer.Option(min=1, help="torch CPU threads (1 is often fastest on a shared machine).")
]
Seed = Annotated[int, typer.Option(min=0, help="Seed of the weights and of the example stream.")]
BatchSize = Annotated[int, typer.Option(min=1, help="Examples per optimiser step.")]
Lr = Annotated[float, typer.Option(min=0, help="Peak learning rate.")]
ScheduleSamples = Annotated[
    int, typer.Option(min=1, help="Cosine lr decay horizon in samples; flat floor after.")
]
EvalEvery = Annotated[
    int, typer.Option(min=0, help="Held-out evaluation every this many samples (0: never).")
]
CheckpointMinutes = Annotated[float, typer.Option(min=0, help="Minutes between checkpoints.")]
VisionLoss = Annotated[
    float,
    typer.Option(
        min=0, help="Weight of the dense per-cell object loss on the visual tokens; 0 turns it off."
    ),
]
TextLayers = Annotated[int, typer.Option(min=1, help="Language-model layers (3 in the shipped models).")]
TextFirst = Annotated[
    bool, typer.Option(help="Put the prompt's text before its images (the model's chat template).")
]
VisionHead = Annotated[
    str, typer.Option(help="Per-cell object head: words (tied to the word embeddings) or linear.")
]
InitFrom = Annotated[
    str,
    typer.Option(
        help="Start from these weights (new optimiser and schedule): a run folder, a saved model folder, "
        "or builtin:NAME."
    ),
]
Device = Annotated[str, typer.Option(help="auto (first GPU if any, else CPU), cpu or cuda[:N].")]
Force = Annotated[bool, typer.Option("--force", help="Delete the run in --out and start over.")]


def option_text(name: str, value: object) -> str:
    """One option as typed on the command line: `--lr 0.001`, `--text-first` / `--no-text-first`."""
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return f"--{flag}" if value else f"--no-{flag}"
    if isinstance(value, tuple):  # comma-separated lists: --focus-families existence,attribute
        value = ",".join(map(str, value))
    return f"--{flag} {shlex.quote(str(value))}"


def _train(
    kind: str,
    out: Path,
    minutes: float | None,
    samples: int | None,
    threads: int,
    force: bool,
    device: str,
    **settings: object,
) -> None:
    from scotoma.world_models.curriculum import CurriculumConfig
    from scotoma.world_models.training import WorldTrainConfig, headline, train_world_model

    curriculum_fields = {f.name for f in dataclasses.fields(CurriculumConfig)}
    try:
        curriculum = CurriculumConfig(**{k: v for k, v in settings.items() if k in curriculum_fields})  # type: ignore[arg-type]
        config = WorldTrainConfig(
            kind=kind,
            curriculum=curriculum,
            **{k: v for k, v in settings.items() if k not in curriculum_fields},  # type: ignore[arg-type]
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if minutes is None and samples is None:
        raise typer.BadParameter("give --minutes and/or --samples: training runs until a budget is spent")
    budget = {"minutes": minutes, "samples": samples, "threads": threads, "device": device}
    options = [option_text(k, v) for k, v in {**budget, **settings}.items() if v not in (None, "", ())]
    options += ["--force"] if force else []
    line = f"scotoma world train-{kind} --out {shlex.quote(str(out))} {' '.join(options)}"
    result = train_world_model(config, out, minutes, samples, threads, force, typer.echo, device, line)
    typer.echo(
        f"{result.samples} samples, {result.steps} steps, {result.train_seconds / 60:.1f} min of training; "
        f"model at {result.model_path}"
        + (f"; curve at {out / 'curve.png'}" if (out / "curve.png").exists() else "")
    )
    typer.echo(headline(result.last_eval))


def train_answerer(
    out: Out,
    minutes: Minutes = None,
    samples: Samples = None,
    threads: Threads = 1,
    seed: Seed = 0,
    batch_size: BatchSize = 16,
    lr: Lr = 1e-3,
    schedule_samples: ScheduleSamples = 500_000,
    describe_only_samples: Annotated[
        int, typer.Option(min=0, help="Describe-only samples before QA starts.")
    ] = 20_000,
    describe_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of describe samples after that.")
    ] = 0.3,
    chain_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of describe-then-answer samples.")
    ] = 0.15,
    focus_families: Annotated[
        str, typer.Option(help="Comma-separated families asked more often (e.g. existence,attribute).")
    ] = "",
    focus_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of samples asking a focus family.")
    ] = 0.0,
    focus_skills: Annotated[
        str,
        typer.Option(help="Comma-separated skills each focus question must also need (e.g. spatial:edge)."),
    ] = "",
    focus_skills_share: Annotated[
        float,
        typer.Option(
            min=0, max=1, help="Share of focus questions held to --focus-skills; the rest ask anything."
        ),
    ] = 1.0,
    vision_loss_weight: VisionLoss = 1.0,
    text_layers: TextLayers = 3,
    text_first: TextFirst = False,
    vision_head: VisionHead = "linear",
    init_from: InitFrom = "",
    eval_every_samples: EvalEvery = 25_000,
    checkpoint_minutes: CheckpointMinutes = 10.0,
    device: Device = "auto",
    force: Force = False,
) -> None:
    """Train builtin:answerer (describe-only, then describe + QA over all families, 1-4 images); resumable."""
    _train("answerer", out, minutes, samples, threads, force, device, seed=seed, batch_size=batch_size, lr=lr,
           schedule_samples=schedule_samples,
           describe_only_samples=describe_only_samples, describe_share=describe_share,
           chain_share=chain_share, focus_share=focus_share,
           focus_families=comma_names(focus_families) or (),
           focus_skills=comma_names(focus_skills) or (), focus_skills_share=focus_skills_share,
           vision_loss_weight=vision_loss_weight, text_layers=text_layers, text_first=text_first,
           vision_head=vision_head, init_from=init_from,
           eval_every_samples=eval_every_samples, checkpoint_minutes=checkpoint_minutes)  # fmt: skip


def train_questioner(
    out: Out,
    minutes: Minutes = None,
    samples: Samples = None,
    threads: Threads = 1,
    seed: Seed = 0,
    batch_size: BatchSize = 16,
    lr: Lr = 1e-3,
    schedule_samples: ScheduleSamples = 500_000,
    vision_loss_weight: VisionLoss = 1.0,
    text_layers: TextLayers = 3,
    text_first: TextFirst = False,
    vision_head: VisionHead = "linear",
    init_from: InitFrom = "",
    eval_every_samples: EvalEvery = 25_000,
    checkpoint_minutes: CheckpointMinutes = 10.0,
    device: Device = "auto",
    force: Force = False,
) -> None:
    """Train builtin:questioner (k valid world questions in <response_i> tags per image set); resumable."""
    _train("questioner", out, minutes, samples, threads, force, device, seed=seed, batch_size=batch_size,
           lr=lr, schedule_samples=schedule_samples, vision_loss_weight=vision_loss_weight,
           text_layers=text_layers, text_first=text_first, vision_head=vision_head, init_from=init_from,
           eval_every_samples=eval_every_samples, checkpoint_minutes=checkpoint_minutes)  # fmt: skip


def eval_model(
    model: Annotated[str, typer.Argument(help="Model spec: builtin:answerer, hf:runs/answerer/model, ...")],
    kind: Annotated[str, typer.Option(help="answerer or questioner.")] = "answerer",
    per_family: Annotated[int, typer.Option(min=0, help="Held-out questions per family.")] = 50,
    describe: Annotated[int, typer.Option(min=0, help="Held-out descriptions (answerer).")] = 50,
    chain_per_family: Annotated[
        int, typer.Option(min=0, help="Held-out describe-then-answer questions per family.")
    ] = 10,
    questions: Annotated[int, typer.Option(min=0, help="Held-out questioner prompts.")] = 200,
    nlvr: Annotated[
        int,
        typer.Option(
            min=-1,
            help="NLVR1 dev statements (0 skips; -1 all), as `scotoma bench nlvr1 --permute images`.",
        ),
    ] = 500,
    seed: Annotated[
        int, typer.Option(min=0, help="The training seed; the held-out set is derived from it.")
    ] = 0,
    threads: Threads = 1,
    out: Annotated[Path | None, typer.Option(help="Write the evaluation as JSON here.")] = None,
) -> None:
    """Evaluate a world model through the hf backend: accuracy per family/skill, NLVR1, question validity."""
    from scotoma.world_models.evaluation import world_evaluation

    result = world_evaluation(
        model, kind, per_family, describe, chain_per_family, questions, nlvr, seed, threads
    )
    text = json.dumps(result, indent=1)
    if out is not None:
        out.write_text(text)
    typer.echo(text)


def ship_model(
    run: Annotated[Path, typer.Argument(help="A finished run folder of train-answerer / train-questioner.")],
    name: Annotated[str, typer.Option(help="Builtin name: answerer or questioner.")],
    evaluation: Annotated[Path, typer.Option(help="JSON written by `scotoma world eval-model --out`.")],
) -> None:
    """Copy a trained world model into the package (safetensors, <= 25 MB) with its README and eval.json."""
    from scotoma.world_models.shipping import ship_model as ship

    target = ship(run, name, json.loads(evaluation.read_text()))
    typer.echo(f"shipped {run / 'model'} as builtin:{name} in {target}")


def register(world_app: typer.Typer) -> None:
    """Add the four commands to the `scotoma world` typer group."""
    world_app.command("train-answerer")(train_answerer)
    world_app.command("train-questioner")(train_questioner)
    world_app.command("eval-model")(eval_model)
    world_app.command("ship-model")(ship_model)


__all__ = ["eval_model", "register", "ship_model", "train_answerer", "train_questioner"]
