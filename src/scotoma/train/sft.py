"""Supervised fine-tuning of a VLM with TRL's SFTTrainer, LoRA by default: the VISC recipe (paper 001).

VISC (appendix B) fine-tunes LLaVA-OneVision-7B and Qwen2-VL-7B with LoRA for one epoch: rank 16,
learning rate 1e-5, warm-up ratio 0.05, cosine schedule, batch size 8, context 32,768 tokens, bfloat16.
Those are `SFTRecipe`'s defaults. Departures from the paper:

- Which layers get LoRA and its alpha/dropout are not given in the paper; here: the language model's
  attention and MLP projections, alpha = 2 x rank, no dropout (LLaMA-Factory's defaults).
- The loss is on the final assistant turn only (`loss_on: completion`); the paper does not say, and this
  is what LLaMA-Factory-style training does. `loss_on: assistant` trains every assistant turn of a
  multi-turn conversation (TRL's assistant_only_loss: the chat template's {% generation %} markers, or
  TRL's training template for known families; a template with neither, e.g. a fine-tune's edited Qwen
  template, gets one prompt-completion row per assistant turn instead); `loss_on: all` trains every token.
- Samples over the 32,768-token budget are dropped and counted; the paper does not mention any.
- Batch size 8 is per device here (the paper's 8 A100s are not described as data parallel or not).
- Images are resized by the model's processor (cap it with ?max_pixels= in the model spec); VISC crops
  Qwen2-VL images to 128x28x28..1280x28x28 pixels at inference, the Qwen recipe uses that cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scotoma.models.hf import HFModel
from scotoma.train.config import SFTRecipe
from scotoma.train.data import drop_over_budget, split_every_turn, split_last_turn, without_control_tokens
from scotoma.train.harness import (
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

if TYPE_CHECKING:
    from datasets import Dataset


def train_sft(
    recipe: SFTRecipe,
    dataset: Dataset,
    out_dir: str | Path,
    *,
    model: HFModel | None = None,
    callbacks: Sequence[Any] = (),
    overwrite: bool = False,
) -> TrainResult:
    """Fine-tune on conversations ({"messages", "images"} rows, see scotoma.train.data).

    Args:
        recipe: the settings; `recipe.model` is loaded unless `model` is given.
        dataset: SFT rows from `scotoma.train.data.load_jsonl(path, "sft")` or `to_dataset`.
        out_dir: the run directory (records, metrics, `adapter/`, `model/`).
        model: an already loaded model to train in place instead of `recipe.model`.
        callbacks: extra transformers TrainerCallbacks (e.g. progress display).
        overwrite: replace a training run already in `out_dir`.

    Returns:
        steps, losses, step times, the token-budget drop count and the saved paths.
    """
    from trl import SFTConfig, SFTTrainer

    out_dir = Path(out_dir)
    run = open_run(out_dir, recipe, len(dataset), overwrite)
    with run or nullcontext(), quiet_libraries():  # a run that fails before its first step is taken back
        loaded = load_model_to_train(recipe, model)

        # The last assistant turn becomes the completion: TRL masks the prompt (and its images) from the loss.
        if recipe.loss_on == "completion":
            dataset = split_last_turn(dataset)
        # A template that cannot mark assistant turns (a released Qwen-VL template TRL does not know word
        # for word) would make TRL refuse assistant_only_loss: every answer becomes a completion instead.
        per_turn = recipe.loss_on == "assistant" and not marks_assistant_turns(loaded.processor)
        if per_turn:
            dataset = split_every_turn(dataset)
        dataset = without_control_tokens(dataset, loaded.processor)
        dataset, dropped = drop_over_budget(dataset, loaded.processor, recipe.max_tokens)
        dataset, common = trainer_arguments(recipe, out_dir, dataset)

        args = SFTConfig(
            **common,
            max_length=None,  # the budget was enforced above by dropping; truncation would cut image tokens
            completion_only_loss=recipe.loss_on == "completion" or per_turn,
            assistant_only_loss=recipe.loss_on == "assistant" and not per_turn,
        )
        logger = step_logger(run)
        trainer = SFTTrainer(
            model=loaded.model,
            args=args,
            train_dataset=dataset,
            processing_class=loaded.processor,
            peft_config=lora_config(recipe, loaded.model),
            callbacks=[logger, *callbacks],
        )
        run_trainer(trainer)
        return finish(trainer, run, logger, loaded.processor, recipe, len(dataset), dropped)


def marks_assistant_turns(processor: Any) -> bool:
    """Whether TRL can find the assistant turns in `processor`'s chat template: it has {% generation %}
    markers, or TRL ships a marked training version of it (known templates, matched word for word)."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = processor.chat_template
    if isinstance(template, dict):  # named variants: TRL trains with the default one
        template = template["default"]
    if template is None or has_generation_markers(template):
        return template is not None
    try:
        get_training_chat_template(processor)
    except ValueError:
        return False
    return True


__all__ = ["marks_assistant_turns", "train_sft"]
