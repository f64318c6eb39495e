"""Group relative policy optimisation of a VLM with TRL's GRPOTrainer, for two users.

- S2H's GRPO variant (paper 003, section 5): the answerer is trained on prompts with gold answers and a
  rule-based reward; `correctness_reward` (scotoma.train.rewards) is the default reward.
- The questioner of paper 000 (Eq. 1): `scotoma.probe` passes its own reward functions, which call the
  frozen answerer and the verifier through the backends.

A reward function is a plain function `(prompts, completions, **columns) -> list[float | None]`; every
dataset column other than the prompt comes in as a keyword list (TRL also passes `completion_ids`,
`trainer_state`, `log_metric` and `log_extra`). Eq. 1 is TRL's loss_type "grpo" (each sequence's token
losses averaged, then the group) with group-normalised advantages (scale_rewards "group").

Departures, and values the papers do not give (documented choices, all `GRPORecipe` fields):

- Group size 8, temperature 1.0, KL beta 0.04 and clip epsilon 0.2 (DeepSeekMath's GRPO values); paper
  000 writes the KL and clip terms without values, S2H gives no GRPO hyperparameters at all.
- One update per generated batch (num_iterations 1), so pi_old is the policy that sampled the group.
- LoRA rank 16 on the language model, learning rate 1e-5, constant schedule without warm-up.
- S2H's format reward is left out (its structure is not given); its length reward is `length_reward`.
- Prompts whose tokens (images included) plus max_completion_length exceed the budget are dropped and
  counted. The model never samples an image token: TRL suppresses it during generation.

The reference policy for the KL term is the adapter-free base with LoRA; without LoRA TRL reloads it from
`config._name_or_path`, so a model that was not loaded from a folder is first saved to `out/reference`.
TRL 1.16 fails on LLaVA-OneVision with several images per prompt; that case is refused up front.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scotoma.models.hf import HFModel
from scotoma.train.config import GRPORecipe
from scotoma.train.data import drop_over_budget, without_control_tokens
from scotoma.train.harness import (
    TrainError,
    TrainResult,
    finish,
    load_model_to_train,
    lora_config,
    open_run,
    quiet_libraries,
    run_trainer,
    step_logger,
    trainer_arguments,
)
from scotoma.train.rewards import RewardFunction, reward_functions

if TYPE_CHECKING:
    from datasets import Dataset


def train_grpo(
    recipe: GRPORecipe,
    dataset: Dataset,
    out_dir: str | Path,
    *,
    reward_funcs: Sequence[RewardFunction] | None = None,
    model: HFModel | None = None,
    callbacks: Sequence[Any] = (),
    overwrite: bool = False,
) -> TrainResult:
    """Optimise the policy on prompts ({"prompt", "images", reward columns} rows) against reward functions.

    Args:
        recipe: the settings; `recipe.model` is loaded unless `model` is given.
        dataset: GRPO rows from `scotoma.train.data.load_jsonl(path, "grpo")` or `to_dataset`.
        out_dir: the run directory (records, metrics, `adapter/`, `model/`).
        reward_funcs: plain reward functions; None uses `recipe.rewards` (default: correctness_reward).
        model: an already loaded model to train in place instead of `recipe.model`.
        callbacks: extra transformers TrainerCallbacks.
        overwrite: replace a training run already in `out_dir`.

    Returns:
        steps, losses, step times (generation included), the token-budget drop count and the saved paths;
        `metrics` holds the last logged reward means per function.
    """
    from trl import GRPOTrainer

    out_dir = Path(out_dir)
    rewards = list(reward_funcs) if reward_funcs is not None else reward_functions(recipe.rewards)
    if not rewards:
        raise TrainError("GRPO needs at least one reward function (recipe field rewards, or reward_funcs)")
    run = open_run(out_dir, recipe, len(dataset), overwrite)
    with run or nullcontext(), quiet_libraries():  # a run that fails before its first step is taken back
        loaded = load_model_to_train(recipe, model)
        _refuse_llava_onevision_multi_image(loaded.model, dataset)

        dataset = without_control_tokens(dataset, loaded.processor)
        dataset, dropped = drop_over_budget(
            dataset, loaded.processor, recipe.max_tokens, completion_tokens=recipe.max_completion_length
        )
        dataset, common = trainer_arguments(recipe, out_dir, dataset)

        peft_config = lora_config(recipe, loaded.model)
        if peft_config is None and recipe.beta > 0:
            _make_reference_loadable(loaded.model, out_dir)
        args = grpo_config(recipe, common)
        logger = step_logger(run)
        trainer = GRPOTrainer(
            model=loaded.model,
            reward_funcs=rewards,
            args=args,
            train_dataset=dataset,
            processing_class=loaded.processor,
            peft_config=peft_config,
            callbacks=[logger, *callbacks],
        )
        run_trainer(trainer)
        return finish(trainer, run, logger, loaded.processor, recipe, len(dataset), dropped)


def grpo_config(recipe: GRPORecipe, common: dict[str, Any]) -> Any:
    """TRL's GRPOConfig from the recipe and the arguments every stage shares (`trainer_arguments`).

    Rollouts come from transformers' generate unless `recipe.use_vllm`: then from vLLM, in this process
    (vllm_mode colocate, its memory share and tensor parallelism) or from a `trl vllm-serve` server
    (vllm_mode server, its host and port).
    """
    from trl import GRPOConfig

    common = dict(common)
    sequential = common.pop("train_sampling_strategy") == "sequential"
    return GRPOConfig(
        **common,
        shuffle_dataset=not sequential,  # GRPO samples prompts itself; a curriculum is read in order
        num_generations=recipe.num_generations,
        max_completion_length=recipe.max_completion_length,
        temperature=recipe.temperature,
        top_p=recipe.top_p,
        beta=recipe.beta,
        epsilon=recipe.epsilon,
        num_iterations=recipe.num_iterations,
        loss_type=recipe.loss_type,
        scale_rewards=recipe.scale_rewards,
        reward_weights=recipe.reward_weights,
        use_vllm=recipe.use_vllm,
        vllm_mode=recipe.vllm_mode,
        vllm_gpu_memory_utilization=recipe.vllm_gpu_memory_utilization,
        vllm_tensor_parallel_size=recipe.vllm_tensor_parallel_size,
        vllm_server_host=recipe.vllm_server_host,
        vllm_server_port=recipe.vllm_server_port,
    )


def _make_reference_loadable(model: Any, out_dir: Path) -> None:
    """Point `config._name_or_path` at a local folder holding the starting weights, for TRL's reference."""
    source = Path(model.config._name_or_path or "")
    if (source / "config.json").is_file():
        return
    try:  # a hub id already in the local cache: use its snapshot folder, never the network
        from huggingface_hub import snapshot_download

        model.config._name_or_path = snapshot_download(str(source), local_files_only=True)
        return
    except Exception:  # not a cached hub id: an in-memory model
        reference = out_dir / "reference"
        model.save_pretrained(reference)
        model.config._name_or_path = str(reference)


def _refuse_llava_onevision_multi_image(model: Any, dataset: Dataset) -> None:
    if model.config.model_type == "llava_onevision" and any(len(images) > 1 for images in dataset["images"]):
        raise TrainError(
            "TRL 1.16 GRPO cannot train LLaVA-OneVision on prompts with several images (batch_num_images is "
            "not forwarded); use one image per prompt, another model family, or DPO/SFT"
        )


__all__ = ["grpo_config", "train_grpo"]
