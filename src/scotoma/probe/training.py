"""Questioner training for the probe, over `scotoma.train`: GRPO against the probe reward (RL, RL after
SFT) and SFT on lists of questions (the SFT baseline, expert iteration).

Training rows hold the questioner's prompt exactly as the probe loop sends it (same template, image
labels and images), so the policy GRPO optimises is the one the loop evaluates:

- GRPO: {"prompt": [user turn], "images": [...], "sample_key": key}; the reward reads `sample_key`.
- SFT: {"messages": [user turn, assistant turn with the tagged questions], "images": [...]}.

A trained questioner is served from its saved folder (`model/`, LoRA merged), as "hf:<folder>"; its cache
key carries the weights' digest (scotoma.models.weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scotoma.probe.prompts import PromptSet, fill, format_questions, questioner_fields
from scotoma.probe.reward import ProbeReward
from scotoma.probe.samples import ProbeSample
from scotoma.train import GRPORecipe, SFTRecipe, TrainResult, load_recipe, to_dataset, train_grpo, train_sft
from scotoma.train.display import REWARD, STAGE_FIELDS, StatusField, training_display
from scotoma.types import ImageRef

AUTO_RECIPES = {
    ("grpo", True): "world_tiny/grpo_probe.yaml",
    ("grpo", False): "qwen2_5_vl_3b/grpo_probe.yaml",
    ("sft", True): "world_tiny/sft.yaml",
    ("sft", False): "qwen2_5_vl_3b/sft_visc.yaml",
}
# what the GRPO display shows beside the step count: the reward of Eq. 5 and the share of valid questions
# and of failures among them, as the reward logs them (probe/reward.py)
PROBE_FIELDS = (
    REWARD,
    StatusField("valid", "probe/valid", percent=True),
    StatusField("FDR", "probe/fdr", percent=True),
)


def trainable_spec(spec: str) -> bool:
    """Whether `spec` names local weights that the training scripts can load (hf: or builtin:)."""
    return spec.startswith(("hf:", "builtin:"))


def questioner_recipe(
    stage: str, choice: str, questioner: str, overrides: Sequence[str] = (), base: str | None = None
) -> Any:
    """The `stage` ("grpo" or "sft") recipe for training `questioner`.

    Args:
        stage: "grpo" or "sft".
        choice: a recipe path or shipped name; "auto" picks the world recipe when the questioner descends
            from a builtin: one and the Qwen2.5-VL-3B recipe otherwise.
        questioner: the spec to train; it replaces the recipe's `model`.
        overrides: "key=value" strings applied last.
        base: the configured questioner that `questioner` was trained from (default: itself). RL after
            SFT and expert iteration train an hf: folder written by an earlier stage; "auto" must still
            pick by what it is, the tiny world model, not by how its spec is spelled.

    Raises:
        ValueError: the questioner is not local weights (an openai: server cannot be trained).
    """
    if not trainable_spec(questioner):
        raise ValueError(
            f"cannot train the questioner {questioner}: RL, SFT and expert iteration need local weights "
            "(hf:<folder or cached hub id> or builtin:<name>); zero_shot and conme work with any backend"
        )
    world = (base or questioner).startswith("builtin:")
    path = AUTO_RECIPES[stage, world] if choice == "auto" else choice
    return load_recipe(stage, path, [f"model={questioner}", *overrides])


def _user_turn(prompts: PromptSet, images: tuple[ImageRef, ...], k: int) -> dict[str, Any]:
    parts = fill(prompts.questioner, images, prompts.image_label, **questioner_fields(k, len(images)))
    content = [{"type": "image"} if isinstance(p, ImageRef) else {"type": "text", "text": p} for p in parts]
    return {"role": "user", "content": content}


def grpo_rows(samples: Sequence[ProbeSample], prompts: PromptSet, k: int) -> list[dict[str, Any]]:
    """One GRPO prompt row per sample."""
    return [
        {"prompt": [_user_turn(prompts, s.images, k)], "images": list(s.images), "sample_key": s.key}
        for s in samples
    ]


def sft_rows(
    pairs: Sequence[tuple[ProbeSample, Sequence[str]]], prompts: PromptSet, k: int
) -> list[dict[str, Any]]:
    """One SFT row per (sample, questions): the questioner's prompt, then the questions in their tags."""
    return [
        {
            "messages": [
                _user_turn(prompts, sample.images, k),
                {"role": "assistant", "content": format_questions(list(questions))},
            ],
            "images": list(sample.images),
        }
        for sample, questions in pairs
        if questions
    ]


def reward_timer(reward: ProbeReward) -> Any:
    """A TrainerCallback that records the reward's seconds inside each optimiser step (`.per_step`)."""
    from transformers import TrainerCallback

    class RewardTimer(TrainerCallback):
        def __init__(self) -> None:
            self.per_step: list[float] = []
            self._mark = 0.0

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._mark = reward.seconds

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.per_step.append(reward.seconds - self._mark)

    return RewardTimer()


def train_questioner_grpo(
    recipe: GRPORecipe,
    samples: Sequence[ProbeSample],
    reward: ProbeReward,
    prompts: PromptSet,
    k: int,
    out_dir: str | Path,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """GRPO of the questioner (recipe.model) against the probe reward; weights saved under out_dir."""
    dataset = to_dataset(grpo_rows(samples, prompts, k), "grpo", source="probe samples")
    display = training_display(f"GRPO {Path(out_dir).parent.name or 'questioner'}", PROBE_FIELDS)
    callbacks = [display, *callbacks]
    return train_grpo(recipe, dataset, out_dir, reward_funcs=[reward], callbacks=callbacks, overwrite=True)


def finetune_questioner(recipe: SFTRecipe, rows: list[dict[str, Any]], out_dir: str | Path) -> TrainResult:
    """SFT of the questioner (recipe.model) on question rows; weights saved under out_dir."""
    if not rows:
        raise ValueError("no training rows: nothing to fine-tune the questioner on")
    dataset = to_dataset(rows, "sft", source="questioner rows")
    callbacks = [training_display(f"SFT {Path(out_dir).parent.name or 'questioner'}", STAGE_FIELDS["sft"])]
    return train_sft(recipe, dataset, out_dir, callbacks=callbacks, overwrite=True)


def trained_questioner_spec(result: TrainResult) -> str:
    """The spec of a trained questioner's saved full weights (LoRA merged)."""
    if result.model_path is None:
        raise ValueError(
            "the questioner was trained with LoRA but not merged; set merge_lora=true in its recipe so the "
            "probe can serve it"
        )
    return f"hf:{result.model_path}"


__all__ = [
    "AUTO_RECIPES",
    "PROBE_FIELDS",
    "finetune_questioner",
    "grpo_rows",
    "questioner_recipe",
    "reward_timer",
    "sft_rows",
    "train_questioner_grpo",
    "trainable_spec",
    "trained_questioner_spec",
]
