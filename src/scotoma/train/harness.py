"""What the SFT, DPO and GRPO scripts share: model loading, LoRA, trainer arguments, step logs, saving.

The model is loaded by `get_model` like every other backend, so a world model (`builtin:answerer`), a
saved folder and Qwen2.5-VL go through one path, with the processor rebuilt where transformers cannot load
it offline (scotoma.models.hf_processor). Each run writes a run directory (scotoma.runlog): spec.json (the
recipe), records.jsonl (one record per logged step: loss, learning rate, step time, the trainer's metrics)
and metrics.json (the `TrainResult`), next to `adapter/` (LoRA) and `model/` (full or merged weights,
safetensors, loadable as `hf:<out>/model`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scotoma.distributed import process_rank
from scotoma.errors import ScotomaError
from scotoma.models.base import ModelError
from scotoma.models.hf import HFModel
from scotoma.progress import library_bars_hidden
from scotoma.runlog import RunDir
from scotoma.train.config import TrainRecipe
from scotoma.train.data import curriculum_order

if TYPE_CHECKING:
    from datasets import Dataset


class TrainError(ScotomaError, RuntimeError):
    """A training run that cannot start as asked; the message says what to do."""


@dataclass
class TrainResult:
    """What a training run did and where its weights are.

    Attributes:
        stage: "sft", "dpo" or "grpo".
        steps: optimiser steps taken.
        losses: the training loss at each logged step.
        step_times_s: wall time of each optimiser step (data, forward, backward, update; GRPO:
            generation too).
        samples: training rows used, after the token-budget drop.
        dropped: rows dropped for exceeding `max_tokens`.
        out_dir: the run directory.
        model_path: full weights (full fine-tuning, or LoRA merged), loadable as hf:<model_path>; None if
            LoRA was not merged.
        adapter_path: the LoRA adapter (PEFT format), or None for full fine-tuning.
        metrics: the trainer's summary (train_runtime, train_loss, ...) and the last logged metrics.
    """

    stage: str
    steps: int
    losses: list[float]
    step_times_s: list[float]
    samples: int
    dropped: int
    out_dir: Path
    model_path: Path | None
    adapter_path: Path | None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def mean_step_time_s(self) -> float:
        """Mean step time, leaving out the first step (it pays one-off setup) when there are several."""
        times = self.step_times_s[1:] or self.step_times_s
        return sum(times) / len(times) if times else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to metrics.json."""
        return {**asdict(self), "mean_step_time_s": self.mean_step_time_s}


def open_run(out_dir: str | Path, recipe: TrainRecipe, samples: int, overwrite: bool) -> RunDir | None:
    """The run directory for a training run; refuses to train over a finished or partial run.

    Only the main process writes it: under torchrun / accelerate launch (env RANK > 0) this returns None,
    since a run directory admits one writing process.

    Raises:
        TrainError: `out_dir` already holds a training run and `overwrite` is False.
    """
    if process_rank() != 0:
        return None
    config = {"recipe": recipe.to_dict(), "samples": samples}
    run = RunDir.open(out_dir, f"train {recipe.stage}", config, recipe.seed, overwrite=overwrite)
    if len(run) or run.read_metrics() is not None:
        run.close()
        raise TrainError(
            f"{out_dir} already holds a training run; training does not resume. Use a new --out "
            "directory, or overwrite=True (--force) to start over"
        )
    return run


def load_model_to_train(recipe: TrainRecipe, model: HFModel | None = None) -> HFModel:
    """The model a run trains: `model` when given (trained in place), else the recipe's model spec loaded
    through `get_model` in the training dtype.

    dtype "auto" is bfloat16 for LoRA on a GPU and float32 otherwise: full fine-tuning needs fp32 master
    weights, since lr x weight falls below bfloat16's resolution at the papers' learning rates.

    Raises:
        ModelError: the spec is not a local-weights backend (hf:, builtin: or a folder).
    """
    if model is not None:
        return model
    import torch

    from scotoma.models import get_model

    spec = recipe.model if ":" in recipe.model.split("?")[0] else f"hf:{recipe.model}"
    if not spec.startswith(("hf:", "builtin:")):
        raise ModelError(
            f"cannot train {recipe.model}: training needs local weights; use hf:<folder or cached hub id>, "
            "builtin:<name> or a folder"
        )
    on_gpu = recipe.device != "cpu" and torch.cuda.is_available()
    dtype = recipe.dtype if recipe.dtype != "auto" else ("bfloat16" if recipe.lora and on_gpu else "float32")
    loaded = get_model(spec, device=recipe.device, dtype=dtype)
    assert isinstance(loaded, HFModel)  # hf: and builtin: both resolve to HFModel
    return loaded


def lora_config(recipe: TrainRecipe, model: Any) -> Any:
    """The PEFT LoraConfig of the recipe, or None for full fine-tuning.

    By default adapters go on the language model's linear layers only: a regex over module names under
    the decoder (`model.get_decoder()`), because the vision towers reuse names such as q_proj (Idefics3)
    and gate_proj (Qwen2.5-VL). `lora_vision` puts them on every layer of those names.
    """
    if not recipe.lora:
        return None
    import re

    from peft import LoraConfig

    names = recipe.lora_target_modules
    targets: str | list[str] = list(names)
    if not recipe.lora_vision:
        decoder = model.get_decoder()
        prefix = next(name for name, module in model.named_modules() if module is decoder)
        targets = rf"{re.escape(prefix)}\..*\.({'|'.join(map(re.escape, names))})"
    return LoraConfig(
        r=recipe.lora_rank,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )


def trainer_arguments(recipe: TrainRecipe, out_dir: Path, dataset: Dataset) -> tuple[Dataset, dict[str, Any]]:
    """The dataset in training order and the TRL config arguments every stage shares.

    No checkpoints are written mid-run (the weights are saved at the end), nothing is reported to an
    external tracker, and `use_cpu` is set whenever no CUDA device is used. A curriculum dataset is
    unrolled (`curriculum_order`) and read in order for a single pass.
    """
    import torch

    on_gpu = recipe.device != "cpu" and torch.cuda.is_available()
    bf16 = recipe.precision == "bf16" or (
        recipe.precision == "auto" and on_gpu and torch.cuda.is_bf16_supported()
    )
    epochs, sampling = recipe.num_train_epochs, "random"
    if "curriculum_stage" in dataset.column_names:
        dataset, epochs, sampling = curriculum_order(dataset, epochs, recipe.seed), 1.0, "sequential"
    return dataset, {
        "output_dir": str(out_dir / "trainer"),
        "seed": recipe.seed,
        "learning_rate": recipe.learning_rate,
        "num_train_epochs": epochs,
        "max_steps": recipe.max_steps,
        "per_device_train_batch_size": recipe.per_device_train_batch_size,
        "gradient_accumulation_steps": recipe.gradient_accumulation_steps,
        "warmup_steps": recipe.warmup_ratio,  # a float below 1 is a ratio of the total steps
        "lr_scheduler_type": recipe.lr_scheduler_type,
        "weight_decay": recipe.weight_decay,
        "max_grad_norm": recipe.max_grad_norm,
        # transformers 5 renamed gradient_checkpointing; TRL's configs still default the old name to True,
        # which warns unless the new one is set
        "activation_checkpointing": recipe.gradient_checkpointing,
        "activation_checkpointing_kwargs": (
            {"use_reentrant": False} if recipe.gradient_checkpointing else None
        ),
        "bf16": bf16,
        "fp16": recipe.precision == "fp16",
        "use_cpu": not on_gpu,
        "logging_steps": recipe.logging_steps,
        "save_strategy": "no",
        "report_to": "none",
        "train_sampling_strategy": sampling,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }


def step_logger(run: RunDir | None) -> Any:
    """A TrainerCallback that times each optimiser step and appends each log to the run's records."""
    from transformers import TrainerCallback

    class StepLogger(TrainerCallback):
        def __init__(self) -> None:
            self.step_times_s: list[float] = []
            self.losses: list[float] = []
            self.last_logs: dict[str, float] = {}
            self._mark = time.perf_counter()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._mark = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            now = time.perf_counter()
            self.step_times_s.append(now - self._mark)
            self._mark = now

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            logs = {k: v for k, v in (logs or {}).items() if isinstance(v, int | float)}
            if "loss" in logs:
                self.losses.append(float(logs["loss"]))
            self.last_logs |= logs
            if run is not None and "train_runtime" not in logs:  # the summary goes to metrics
                step_time = self.step_times_s[-1] if self.step_times_s else None
                record = {"key": f"log-{len(run):06d}", "step": state.global_step, "step_time_s": step_time}
                run.append([record | logs])

    return StepLogger()


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """A training run without the libraries' own terminal output: their tqdm bars
    (`library_bars_hidden`) and one known-harmless FutureWarning. Callers show progress with
    `scotoma.train.display.training_display`."""
    with library_bars_hidden(), warnings.catch_warnings():
        # PEFT and TRL 1.16 read the model's deprecated `is_gradient_checkpointing` (TRL at every
        # generation); harmless, and not ours to rename
        warnings.filterwarnings(
            "ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning
        )
        yield


def run_trainer(trainer: Any) -> None:
    """`trainer.train()` without transformers' printing: its PrinterCallback prints every log dict (~1 KB
    a step) and its ProgressCallback draws tqdm bars. The logs go to the run directory (`step_logger`)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.train()


def sharded_weights(trainer: Any) -> bool:
    """Whether no single rank holds the whole weights (DeepSpeed ZeRO-3 or FSDP)."""
    if getattr(trainer, "is_fsdp_enabled", False):
        return True
    plugin = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    return plugin is not None and plugin.zero_stage == 3


def finish(
    trainer: Any,
    run: RunDir | None,
    logger: Any,
    processor: Any,
    recipe: TrainRecipe,
    samples: int,
    dropped: int,
) -> TrainResult:
    """Save the weights (adapter, merged or full model, safetensors) and the processor; write metrics."""
    from peft import PeftModel

    out_dir = Path(trainer.args.output_dir).parent  # trainer_arguments put it at out_dir / "trainer"
    model = trainer.accelerator.unwrap_model(trainer.model).eval()  # ready to serve, dropout off
    adapter_path = model_path = None
    if sharded_weights(trainer):
        # ZeRO-3 / FSDP split the weights over the ranks: every rank joins Trainer.save_model's gather,
        # rank 0 writes. LoRA is saved as the adapter, unmerged (merging needs the whole base weights).
        path = out_dir / ("adapter" if isinstance(model, PeftModel) else "model")
        trainer.save_model(str(path))
        if trainer.is_world_process_zero():
            processor.save_pretrained(path)
            adapter_path, model_path = (path, None) if isinstance(model, PeftModel) else (None, path)
    elif trainer.is_world_process_zero():
        if isinstance(model, PeftModel):
            adapter_path = out_dir / "adapter"
            model.save_pretrained(adapter_path)
            processor.save_pretrained(adapter_path)
            if recipe.merge_lora:
                model = model.merge_and_unload()
        if not isinstance(model, PeftModel):
            model_path = out_dir / "model"
            model.save_pretrained(model_path)
            processor.save_pretrained(model_path)
    result = TrainResult(
        stage=recipe.stage,
        steps=trainer.state.global_step,
        losses=logger.losses,
        step_times_s=logger.step_times_s,
        samples=samples,
        dropped=dropped,
        out_dir=out_dir,
        model_path=model_path,
        adapter_path=adapter_path,
        metrics=dict(logger.last_logs),
    )
    if run is not None:
        run.write_metrics(result.to_dict())
        run.close()
    return result


__all__ = [
    "TrainError",
    "TrainResult",
    "finish",
    "load_model_to_train",
    "lora_config",
    "open_run",
    "quiet_libraries",
    "run_trainer",
    "sharded_weights",
    "step_logger",
    "trainer_arguments",
]
