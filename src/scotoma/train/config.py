"""Typed training recipes: one dataclass per stage, a help string per field, defaults from the papers.

A recipe is loaded from a YAML file (one per (model, stage), shipped under `scotoma/train/recipes/`) and
then overridden with CLI-style "key=value" strings, the way `scotoma train sft --recipe R key=value` works
(recipe lookup: scotoma.train.recipe_files; value parsing: scotoma.overrides).

Defaults: SFT follows VISC (paper 001, appendix B: LoRA rank 16, lr 1e-5, warmup 0.05, cosine, one epoch,
batch 8, context 32,768); DPO follows S2H (paper 003, section 2.3: beta 0.1, lr 5e-5, three epochs); GRPO
follows the objective of paper 000 (Eq. 1: clipped ratio, per-sequence 1/|y| averaging, group-normalised
advantages, KL to a reference), whose values the paper does not give; those are documented choices here.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scotoma.overrides import coerce_field, override_values
from scotoma.train.recipe_files import STAGES, resolve_recipe_path
from scotoma.yaml_files import read_yaml_mapping

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
MIXINGS = ("flat", "curriculum")
LOSS_ON = ("completion", "assistant", "all")  # SFTRecipe.loss_on
VLLM_MODES = ("colocate", "server")  # GRPORecipe.vllm_mode: TRL's two ways to generate with vLLM
LLM_LINEAR_LAYERS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class TrainRecipe:
    """Settings every stage shares: the model, LoRA, the optimiser, precision and the token budget."""

    stage: ClassVar[str] = ""

    model: str = field(
        default="builtin:answerer",
        metadata={
            "help": "Model spec to train: hf:<folder or cached hub id>[?max_pixels=N], builtin:<name>, "
            "or a folder."
        },
    )
    device: str = field(
        default="auto", metadata={"help": "auto (first GPU if any, else CPU), cpu, cuda or cuda:N."}
    )
    dtype: str = field(
        default="auto",
        metadata={
            "help": "Weights dtype: auto = bfloat16 for LoRA on GPU, float32 otherwise (full fine-tuning "
            "keeps fp32 master weights), or float32 / bfloat16 / float16."
        },
    )
    seed: int = field(default=0, metadata={"help": "Seed for LoRA init, data order and sampling."})
    lora: bool = field(default=True, metadata={"help": "Train LoRA adapters (true) or all weights (false)."})
    lora_rank: int = field(default=16, metadata={"help": "LoRA rank r (VISC: 16)."})
    lora_alpha: int = field(
        default=32,
        metadata={"help": "LoRA alpha; 2 x rank, LLaMA-Factory's default (the papers do not say)."},
    )
    lora_dropout: float = field(
        default=0.0, metadata={"help": "Dropout on the LoRA branch (papers do not say; LLaMA-Factory: 0)."}
    )
    lora_target_modules: list[str] = field(
        default_factory=lambda: list(LLM_LINEAR_LAYERS),
        metadata={"help": "Names of the linear layers that get adapters."},
    )
    lora_vision: bool = field(
        default=False,
        metadata={
            "help": "Also put adapters on the vision tower's layers of those names (default: the "
            "language model only)."
        },
    )
    merge_lora: bool = field(
        default=True,
        metadata={
            "help": "Also save the merged full weights in out/model, loadable by the hf: backend "
            "(the adapter stays in out/adapter)."
        },
    )
    learning_rate: float = field(default=1e-5, metadata={"help": "Peak learning rate of AdamW."})
    num_train_epochs: float = field(
        default=1.0, metadata={"help": "Passes over the data (ignored when max_steps > 0)."}
    )
    max_steps: int = field(
        default=-1, metadata={"help": "Stop after this many optimiser steps; -1 = run num_train_epochs."}
    )
    per_device_train_batch_size: int = field(
        default=8, metadata={"help": "Rows per device per forward pass."}
    )
    gradient_accumulation_steps: int = field(
        default=1, metadata={"help": "Forward passes per optimiser step."}
    )
    warmup_ratio: float = field(
        default=0.05, metadata={"help": "Share of the steps spent warming the learning rate up."}
    )
    lr_scheduler_type: str = field(
        default="cosine", metadata={"help": "transformers scheduler name: cosine, linear, constant, ..."}
    )
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute activations in backward to save memory (~20% slower)."}
    )
    precision: str = field(
        default="auto",
        metadata={"help": "auto (bf16 autocast on a bf16 GPU, else fp32), bf16, fp16 or fp32."},
    )
    max_tokens: int = field(
        default=32768,
        metadata={
            "help": "Token budget per sample, image tokens included; longer samples are dropped "
            "(counted), never truncated. VISC: 32,768."
        },
    )
    mixing: str = field(
        default="flat",
        metadata={
            "help": "How several data files combine: flat (one shuffled pool; S2H finds it best) or "
            "curriculum (each file in the order given, all its epochs before the next)."
        },
    )
    logging_steps: int = field(
        default=1, metadata={"help": "Log loss and metrics every N steps (1 = every step)."}
    )

    def __post_init__(self) -> None:
        checks = {
            "precision": (self.precision in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
            "mixing": (self.mixing in MIXINGS, f"one of {', '.join(MIXINGS)}"),
            "dtype": (
                self.dtype in ("auto", "float32", "bfloat16", "float16"),
                "auto/float32/bfloat16/float16",
            ),
            "lora_rank": (self.lora_rank > 0, "> 0"),
            "learning_rate": (self.learning_rate > 0, "> 0"),
            "per_device_train_batch_size": (self.per_device_train_batch_size > 0, "> 0"),
            "gradient_accumulation_steps": (self.gradient_accumulation_steps > 0, "> 0"),
            "warmup_ratio": (0 <= self.warmup_ratio < 1, "in [0, 1)"),
            "max_tokens": (self.max_tokens > 0, "> 0"),
        }
        for name, (ok, expected) in checks.items():
            if not ok:
                raise ValueError(f"recipe field {name}={getattr(self, name)!r} must be {expected}")

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: typing.Sequence[str] = ()) -> typing.Self:
        """Load a recipe YAML (a mapping of field names to values), then apply "key=value" overrides.

        Args:
            path: a YAML file, or a path relative to the shipped recipes, e.g. "world_tiny/sft.yaml".
            overrides: CLI-style "key=value" strings, applied after the file.

        Raises:
            ValueError: an unknown field (with the closest known names), a value of the wrong type, or a
                file that is not a mapping.
            FileNotFoundError: neither the path nor a shipped recipe of that name exists.
        """
        resolved = resolve_recipe_path(path)
        data = read_yaml_mapping(resolved, "recipe fields")
        values = {key: coerce_field(cls, key, value, str(resolved)) for key, value in data.items()}
        return cls(**values).with_overrides(overrides)

    def with_overrides(self, overrides: typing.Sequence[str]) -> typing.Self:
        """A copy with CLI-style "key=value" overrides applied (values coerced to the field types)."""
        return dataclasses.replace(self, **override_values(type(self), overrides))

    def to_dict(self) -> dict[str, Any]:
        """All fields, plus the stage; what a run's spec.json records."""
        return {"stage": self.stage, **dataclasses.asdict(self)}


@dataclass
class SFTRecipe(TrainRecipe):
    """Supervised fine-tuning; defaults are VISC's LoRA recipe (paper 001, appendix B)."""

    stage: ClassVar[str] = "sft"

    loss_on: str = field(
        default="completion",
        metadata={
            "help": "Which tokens carry the loss: completion (the last assistant turn; the prompt and "
            "images are context, as LLaMA-Factory trains), assistant (every assistant turn of a multi-turn "
            "conversation: several answers per pass over the images) or all (every token)."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss_on not in LOSS_ON:
            raise ValueError(f"recipe field loss_on={self.loss_on!r} must be one of {', '.join(LOSS_ON)}")


@dataclass
class DPORecipe(TrainRecipe):
    """Direct preference optimisation; defaults are S2H-DPO's (paper 003, section 2.3)."""

    stage: ClassVar[str] = "dpo"

    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate of AdamW (S2H: 5e-5)."})
    num_train_epochs: float = field(default=3.0, metadata={"help": "Passes over the data (S2H: 3)."})
    beta: float = field(
        default=0.1,
        metadata={"help": "DPO temperature beta: strength of the implicit KL to the reference (S2H: 0.1)."},
    )
    loss_type: str = field(
        default="sigmoid", metadata={"help": "TRL DPO loss: sigmoid (the DPO paper's), ipo, hinge, ..."}
    )
    max_tokens: int = field(
        default=8192,
        metadata={
            "help": "Token budget per sample (prompt + the longer of chosen/rejected, image tokens included)."
        },
    )


@dataclass
class GRPORecipe(TrainRecipe):
    """Group relative policy optimisation; Eq. 1 of paper 000, values chosen where the papers give none."""

    stage: ClassVar[str] = "grpo"

    learning_rate: float = field(
        default=1e-5, metadata={"help": "Peak learning rate (papers do not say; a common LoRA GRPO value)."}
    )
    warmup_ratio: float = field(
        default=0.0, metadata={"help": "Warm-up share; none, since the reward may be non-stationary."}
    )
    lr_scheduler_type: str = field(
        default="constant", metadata={"help": "Constant, as DeepSeekMath's GRPO (papers do not say)."}
    )
    num_generations: int = field(
        default=8, metadata={"help": "Group size G: completions sampled per prompt."}
    )
    max_completion_length: int = field(default=256, metadata={"help": "Most new tokens per completion."})
    temperature: float = field(
        default=1.0, metadata={"help": "Sampling temperature of the policy during rollouts."}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling of the rollouts (1 = off)."})
    beta: float = field(
        default=0.04,
        metadata={
            "help": "KL coefficient to the reference policy (DeepSeekMath's 0.04; paper 000 has a KL term)."
        },
    )
    epsilon: float = field(
        default=0.2, metadata={"help": "Clipping range of the probability ratio (PPO/DeepSeekMath: 0.2)."}
    )
    num_iterations: int = field(
        default=1,
        metadata={"help": "Updates per generated batch (mu); 1 means pi_old = pi at sampling time."},
    )
    loss_type: str = field(
        default="grpo",
        metadata={"help": "TRL loss: grpo = paper 000 Eq. 1 (mean over each sequence's tokens)."},
    )
    scale_rewards: str = field(
        default="group",
        metadata={"help": "Advantage scaling: group = (R - mean) / std within the group (Eq. 1)."},
    )
    rewards: list[str] = field(
        default_factory=lambda: ["correctness"],
        metadata={
            "help": "Reward functions by name from scotoma.train.rewards.REWARDS (used when the "
            "caller passes none)."
        },
    )
    reward_weights: list[float] | None = field(
        default=None, metadata={"help": "One weight per reward function; none = all 1."}
    )
    max_tokens: int = field(
        default=8192,
        metadata={"help": "Token budget per prompt plus max_completion_length, image tokens included."},
    )
    use_vllm: bool = field(
        default=False,
        metadata={
            "help": "Generate the rollouts with vLLM (TRL's use_vllm; needs scotoma[vllm] and a GPU) "
            "instead of transformers' generate."
        },
    )
    vllm_mode: str = field(
        default="colocate",
        metadata={
            "help": "colocate: vLLM inside each training process, sharing its GPU; server: a separate "
            "`trl vllm-serve` process on GPUs of its own (docs/scale-out.md)."
        },
    )
    vllm_gpu_memory_utilization: float = field(
        default=0.3,
        metadata={"help": "colocate: share of each GPU's memory vLLM may take (TRL's default 0.3)."},
    )
    vllm_tensor_parallel_size: int = field(
        default=1, metadata={"help": "colocate: GPUs one vLLM engine spans (TRL's default 1)."}
    )
    vllm_server_host: str = field(
        default="0.0.0.0", metadata={"help": "server: host of `trl vllm-serve` (TRL's default)."}
    )
    vllm_server_port: int = field(
        default=8000, metadata={"help": "server: port of `trl vllm-serve` (TRL's default 8000)."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vllm_mode not in VLLM_MODES:
            raise ValueError(
                f"recipe field vllm_mode={self.vllm_mode!r} must be one of {', '.join(VLLM_MODES)}"
            )
        if not 0 < self.vllm_gpu_memory_utilization <= 1:
            raise ValueError("recipe field vllm_gpu_memory_utilization must be in (0, 1]")


RECIPES: dict[str, type[TrainRecipe]] = {"sft": SFTRecipe, "dpo": DPORecipe, "grpo": GRPORecipe}


def load_recipe(stage: str, path: str | Path, overrides: typing.Sequence[str] = ()) -> TrainRecipe:
    """The recipe of `stage` from a YAML file (path or shipped name), with "key=value" overrides."""
    if stage not in RECIPES:
        raise ValueError(f"unknown training stage {stage!r}; choose one of {', '.join(STAGES)}")
    return RECIPES[stage].from_yaml(path, overrides)


__all__ = [
    "MIXINGS",
    "PRECISIONS",
    "RECIPES",
    "STAGES",
    "VLLM_MODES",
    "DPORecipe",
    "GRPORecipe",
    "SFTRecipe",
    "TrainRecipe",
    "load_recipe",
]
