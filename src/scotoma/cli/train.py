"""`scotoma train sft|dpo|grpo`: one recipe, one or more data files, one run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

train_app = typer.Typer(
    help="SFT, DPO and GRPO with LoRA over TRL, driven by YAML recipes.", no_args_is_help=True
)

Recipe = Annotated[str, typer.Option(help="Recipe YAML, or a shipped one such as world_tiny/sft.yaml.")]
Data = Annotated[list[Path], typer.Option(help="Training JSONL in TRL's format; repeat to mix several.")]
Out = Annotated[Path, typer.Option(help="Run directory: spec.json, records.jsonl, metrics.json, model/.")]
Overrides = Annotated[list[str] | None, typer.Argument(help="Recipe overrides as key=value.")]
Force = Annotated[bool, typer.Option("--force", help="Replace a training run already in --out.")]


def _train(
    stage: str, recipe: str, data: list[Path], out: Path, overrides: list[str] | None, force: bool
) -> None:
    from scotoma.cli.summary_line import echo_summary
    from scotoma.train import train_from_files

    result = train_from_files(stage, recipe, data, out, overrides or (), overwrite=force)
    typer.echo(
        f"{stage}: {result.steps} steps on {result.samples} samples ({result.dropped} over the token budget "
        f"dropped), {result.mean_step_time_s:.3f} s/step -> {result.model_path}"
    )
    echo_summary(out)


@train_app.command("sft")
def train_sft(
    recipe: Recipe, data: Data, out: Out, overrides: Overrides = None, force: Force = False
) -> None:
    """Supervised fine-tuning (the VISC recipe by default)."""
    _train("sft", recipe, data, out, overrides, force)


@train_app.command("dpo")
def train_dpo(
    recipe: Recipe, data: Data, out: Out, overrides: Overrides = None, force: Force = False
) -> None:
    """Direct preference optimisation on chosen/rejected pairs (S2H: beta 0.1)."""
    _train("dpo", recipe, data, out, overrides, force)


@train_app.command("grpo")
def train_grpo(
    recipe: Recipe, data: Data, out: Out, overrides: Overrides = None, force: Force = False
) -> None:
    """GRPO with the recipe's reward functions (rule-based correctness by default)."""
    _train("grpo", recipe, data, out, overrides, force)


@train_app.command("accelerate-config")
def accelerate_config(
    name: Annotated[str | None, typer.Argument(help="ddp, zero2, zero3 or fsdp; none lists them.")] = None,
) -> None:
    """Print the path of a shipped `accelerate launch` config (docs/scale-out.md)."""
    from scotoma.train.accelerate_configs import ACCELERATE_CONFIGS
    from scotoma.train.accelerate_configs import accelerate_config as path_of

    if name is None:
        for known in ACCELERATE_CONFIGS:
            typer.echo(f"{known:6} {path_of(known)}")
        return
    typer.echo(path_of(name))
