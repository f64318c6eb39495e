"""Direct preference optimisation of a VLM with TRL's DPOTrainer: the S2H-DPO recipe (paper 003).

S2H (section 2.3) trains LLaVA-v1.5-7B, Qwen2.5-VL-7B and Qwen3-VL-2B for three epochs at learning rate
5e-5 with beta 0.1, on L1/L2/L3 preference pairs mixed flat (Table 3: flat beats curriculum). Those are
`DPORecipe`'s defaults, with the sigmoid loss of the DPO paper. Departures from the paper:

- LoRA (rank 16, language model only, as the SFT recipe) by default; S2H does not say whether it trains
  all weights or adapters. lora=false trains all weights.
- Warm-up 0.05 and a cosine schedule, batch size 8 per device: not given by S2H, taken from VISC.
- Pairs over the token budget (prompt + the longer answer, image tokens included) are dropped and counted.

The reference policy is the model at the start of training. With LoRA it is the same weights with the
adapters switched off (TRL does this when handed a `peft_config`); without LoRA a frozen copy of the
model is passed as `ref_model`, so nothing is reloaded from a hub name (NOTES-offline-stack.md: TRL
otherwise reloads it from `config._name_or_path`, which fails for models built in memory).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scotoma.models.hf import HFModel
from scotoma.train.config import DPORecipe
from scotoma.train.data import drop_over_budget, without_control_tokens
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


def train_dpo(
    recipe: DPORecipe,
    dataset: Dataset,
    out_dir: str | Path,
    *,
    model: HFModel | None = None,
    callbacks: Sequence[Any] = (),
    overwrite: bool = False,
) -> TrainResult:
    """Align on preference pairs ({"prompt", "chosen", "rejected", "images"} rows, see scotoma.train.data).

    Args:
        recipe: the settings; `recipe.model` is loaded unless `model` is given.
        dataset: DPO rows from `scotoma.train.data.load_jsonl(path, "dpo")` or `to_dataset`.
        out_dir: the run directory (records, metrics, `adapter/`, `model/`).
        model: an already loaded model to train in place instead of `recipe.model`.
        callbacks: extra transformers TrainerCallbacks.
        overwrite: replace a training run already in `out_dir`.

    Returns:
        steps, losses (log 2 at the first step: the policy starts as the reference), step times, the
        token-budget drop count and the saved paths.
    """
    from trl import DPOConfig, DPOTrainer

    out_dir = Path(out_dir)
    run = open_run(out_dir, recipe, len(dataset), overwrite)
    with run or nullcontext(), quiet_libraries():  # a run that fails before its first step is taken back
        loaded = load_model_to_train(recipe, model)

        dataset = without_control_tokens(dataset, loaded.processor)
        dataset, dropped = drop_over_budget(dataset, loaded.processor, recipe.max_tokens)
        dataset, common = trainer_arguments(recipe, out_dir, dataset)

        peft_config = lora_config(recipe, loaded.model)
        # Full fine-tuning needs its own frozen reference; with LoRA the adapter-free base model is it.
        ref_model = (
            None if peft_config is not None else copy.deepcopy(loaded.model).eval().requires_grad_(False)
        )
        args = DPOConfig(
            **common,
            beta=recipe.beta,
            loss_type=[recipe.loss_type],
            max_length=None,  # the budget was enforced above by dropping; truncation would cut image tokens
        )
        logger = step_logger(run)
        trainer = DPOTrainer(
            model=loaded.model,
            ref_model=ref_model,
            args=args,
            train_dataset=dataset,
            processing_class=loaded.processor,
            peft_config=peft_config,
            callbacks=[logger, *callbacks],
        )
        run_trainer(trainer)
        return finish(trainer, run, logger, loaded.processor, recipe, len(dataset), dropped)


__all__ = ["train_dpo"]
