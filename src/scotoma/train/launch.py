"""One call from files to a trained model: what `scotoma train sft|dpo|grpo` runs.

    scotoma train STAGE --recipe RECIPE.yaml --data A.jsonl [--data B.jsonl ...] --out DIR [key=value ...]

is `train_from_files(STAGE, RECIPE.yaml, [A.jsonl, B.jsonl], DIR, ["key=value", ...])`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scotoma.runlog import RunDir
from scotoma.train.config import load_recipe
from scotoma.train.data import load_training_data
from scotoma.train.display import STAGE_FIELDS, training_display
from scotoma.train.dpo import train_dpo
from scotoma.train.grpo import train_grpo
from scotoma.train.harness import TrainResult
from scotoma.train.sft import train_sft

TRAINERS: dict[str, Callable[..., TrainResult]] = {"sft": train_sft, "dpo": train_dpo, "grpo": train_grpo}


def train_from_files(
    stage: str,
    recipe: str | Path,
    data: Sequence[str | Path],
    out_dir: str | Path,
    overrides: Sequence[str] = (),
    *,
    overwrite: bool = False,
    callbacks: Sequence[Any] = (),
    display: str | None = None,
) -> TrainResult:
    """Load the recipe (with overrides) and the data (mixed per `recipe.mixing`), then train, showing a
    progress bar with the stage's figures (`STAGE_FIELDS`).

    Args:
        stage: "sft", "dpo" or "grpo".
        recipe: a recipe YAML path or a shipped recipe name, e.g. "world_tiny/sft.yaml".
        data: one or more JSONL files in TRL's format for the stage (see scotoma.train.data).
        out_dir: the run directory.
        overrides: "key=value" recipe overrides.
        overwrite: replace a training run already in `out_dir`.
        callbacks: extra transformers TrainerCallbacks.
        display: the progress bar's description (default "train STAGE").
    """
    loaded = load_recipe(stage, recipe, overrides)
    RunDir.check_path(out_dir)  # before the data loads: a wrong --out fails in a second, not minutes
    dataset = load_training_data(data, stage, loaded.mixing, loaded.seed)
    bar = training_display(display or f"train {stage}", STAGE_FIELDS[stage])
    return TRAINERS[stage](loaded, dataset, out_dir, overwrite=overwrite, callbacks=[bar, *callbacks])


__all__ = ["TRAINERS", "train_from_files"]
