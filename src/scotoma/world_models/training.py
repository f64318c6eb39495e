"""Training the built-in world models (`builtin:answerer`, `builtin:questioner`) from scratch.

    from scotoma.world_models.training import WorldTrainConfig, train_world_model
    result = train_world_model(WorldTrainConfig(kind="answerer"), "runs/answerer", minutes=90)

A plain PyTorch loop, not TRL's SFTTrainer: the model is trained from random weights on a stream of fresh
examples generated on the fly (no dataset exists to hand to a trainer), and on short one-image samples a
plain loop ran 100-145 samples/s on 2 cores against SFTTrainer's ~71 (NOTES-offline-stack.md). With
`world_data`'s fast collation and length-sorted pools (`ExampleStream`) the step is pure model compute
(matmuls and attention): ~18 samples/s on one busy thread for the real mix (1-4 boxes, ~120 tokens each).

The objective is the usual supervised fine-tuning loss (cross-entropy on the assistant's tokens only),
averaged per sample by default, so a one-word answer weighs as much as a 100-word description (token
averaging would drown the answers; `loss_average`).

Resumable and exact: example i is a pure function of (seed, i), a checkpoint (model, optimiser, scheduler,
torch RNG, step, samples seen, training time) is written every `checkpoint_minutes` into
`<out>/checkpoint/`, and running the same command again continues from it; a resumed run reaches the
same weights as an uninterrupted one. The run folder is a `RunDir`: spec.json, records.jsonl (loss and
held-out evaluation records: the learning curve), metrics.json; plus curve.png and model/ (safetensors,
loadable as `hf:<out>/model`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scotoma.models.tiny import WORLD_SIZES, save_tiny_vlm
from scotoma.runlog import RunDir
from scotoma.world_models.checkpoint import (
    has_checkpoint,
    load_checkpoint,
    load_weights,
    remove_checkpoint,
    save_checkpoint,
    weights_source,
)
from scotoma.world_models.curriculum import CurriculumConfig, ExampleStream, WorldTasks
from scotoma.world_models.data import PROMPT_WORDS, RESPONSE_TAGS, WorldCollator
from scotoma.world_models.evaluation import (
    evaluate_answerer,
    evaluate_questioner,
    headline,
    heldout_set,
    heldout_tasks,
)
from scotoma.world_models.plot import plot_curve
from scotoma.world_models.shipping import COMMANDS, INIT_COMMANDS, source_commands
from scotoma.world_models.vision import VISION_HEADS, VisionSupervision, vision_head

KINDS = ("answerer", "questioner")
MAX_CHAIN_IMAGES = 8  # "Image1".."Image8" and "Step_1".."Step_8" are words of the world models


@dataclass(frozen=True)
class WorldTrainConfig:
    """Everything that decides the weights (budgets and threads do not, so they are not here)."""

    kind: str = field(default="answerer", metadata={"help": "answerer or questioner"})
    seed: int = field(default=0, metadata={"help": "seed of the weights and of the example stream"})
    batch_size: int = field(default=16, metadata={"help": "examples per optimiser step"})
    lr: float = field(default=1e-3, metadata={"help": "peak learning rate (AdamW)"})
    betas: tuple[float, float] = field(default=(0.9, 0.98), metadata={"help": "AdamW betas"})
    weight_decay: float = field(default=0.05, metadata={"help": "AdamW weight decay"})
    warmup_steps: int = field(default=150, metadata={"help": "linear warmup steps"})
    schedule_samples: int = field(
        default=500_000,
        metadata={
            "help": "cosine decay horizon in samples (~8 h at 17 samples/s); the lr stays at its floor after"
        },
    )
    min_lr_ratio: float = field(default=0.1, metadata={"help": "the lr floor as a share of the peak"})
    grad_clip: float = field(default=1.0, metadata={"help": "gradient norm clip"})
    loss_average: str = field(default="sample", metadata={"help": "sample or token averaging of the loss"})
    vision_loss_weight: float = field(
        default=1.0,
        metadata={
            "help": "weight of the dense per-cell object loss on the visual tokens (world_vision); 0 off"
        },
    )
    text_layers: int = field(
        default=WORLD_SIZES["text_layers"],
        metadata={"help": "language-model layers (the rest of the architecture is WORLD_SIZES)"},
    )
    text_first: bool = field(
        default=False,
        metadata={"help": "the prompt's text before its images (the model's chat template); else after"},
    )
    vision_head: str = field(
        default="linear",
        metadata={
            "help": "the per-cell object head: words (tied to the word embeddings of colour, shape and "
            "size) or linear (a free one)"
        },
    )
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    init_from: str = field(
        default="",
        metadata={
            "help": "start from these weights instead of random ones: a run folder's checkpoint, a saved "
            "model folder or builtin:NAME; optimiser and lr schedule start afresh (continued training "
            "with a new schedule or mix)"
        },
    )
    eval_every_samples: int = field(
        default=25_000, metadata={"help": "held-out evaluation interval in samples; 0 never evaluates"}
    )
    eval_per_family: int = field(default=24, metadata={"help": "held-out questions per family"})
    eval_describe: int = field(default=24, metadata={"help": "held-out descriptions (answerer)"})
    eval_chain_per_family: int = field(default=4, metadata={"help": "held-out chain questions per family"})
    eval_questions: int = field(default=64, metadata={"help": "held-out questioner prompts"})
    checkpoint_minutes: float = field(default=10.0, metadata={"help": "minutes between checkpoints"})
    log_every_steps: int = field(default=50, metadata={"help": "steps per loss record"})
    pool_batches: int = field(
        default=8, metadata={"help": "batches drawn together and sorted by length (less padding)"}
    )

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r}: choose answerer or questioner")
        if self.loss_average not in ("sample", "token"):
            raise ValueError(f"loss_average={self.loss_average!r}: choose sample or token")
        if self.vision_head not in VISION_HEADS:
            raise ValueError(f"vision_head={self.vision_head!r}: choose one of {VISION_HEADS}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored in spec.json; a resume must match it)."""
        return dataclasses.asdict(self)


@dataclass
class WorldTrainResult:
    """What a (possibly resumed) training run reached: where, after how much, and its last evaluation."""

    out_dir: Path
    model_path: Path
    steps: int
    samples: int
    train_seconds: float
    losses: list[float]
    last_eval: dict[str, Any]


def world_vocabulary_words() -> list[str]:
    """The world models' vocabulary: the world's words, the prompt words, the focus-chain words.

    The chain words (paper 001's "Step_1: ... Focus: Image1,Image2 ... Final_answer: ..." and the chain
    instruction of `scotoma.judge.chain_inference`) let the same models read and write focus chains, so
    `synth`'s chains can train them and `bench`/`probe` can run them in chain mode. The questioner's tags
    are added as tokens of their own by `build_world_model`.
    """
    from scotoma.judge.chain_inference import chain_instruction
    from scotoma.models.tiny import split_words
    from scotoma.world.programs.language import world_vocabulary

    images = ",".join(f"Image{k}" for k in range(1, MAX_CHAIN_IMAGES + 1))
    steps = " ".join(f"Step_{k}" for k in range(1, MAX_CHAIN_IMAGES + 1))
    chain = split_words(f"{chain_instruction()} {steps} Focus: {images} Final_answer: Answer:")
    return list(dict.fromkeys([*world_vocabulary(), *PROMPT_WORDS, *chain]))


def build_world_model(
    seed: int = 0, text_first: bool = False, text_layers: int | None = None
) -> tuple[Any, Any]:
    """A random-weight world model (Idefics3 at `WORLD_SIZES`) and its processor.

    Both world models share this vocabulary; the `<response_i>` tags are ordinary (not special) tokens, so
    decoding with skip_special_tokens keeps them. With `text_first` the chat template puts a turn's text
    before its images (`IDEFICS3_TEXT_FIRST_CHAT_TEMPLATE`); the template ships with the model, so every
    caller of the `hf` backend gets that layout without knowing it.
    """
    import torch

    from scotoma.models.tiny import IDEFICS3_TEXT_FIRST_CHAT_TEMPLATE, build_tiny_vlm

    sizes = {**WORLD_SIZES, **({"text_layers": text_layers} if text_layers else {})}
    model, processor = build_tiny_vlm(
        "idefics3", world_vocabulary_words(), lowercase=True, seed=seed, **sizes
    )
    if text_first:
        processor.chat_template = processor.tokenizer.chat_template = IDEFICS3_TEXT_FIRST_CHAT_TEMPLATE
    processor.tokenizer.add_tokens(list(RESPONSE_TAGS))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model.resize_token_embeddings(len(processor.tokenizer), mean_resizing=False)
    return model, processor


def lr_factor(step: int, config: WorldTrainConfig) -> float:
    """Linear warmup, cosine decay to `min_lr_ratio` over `schedule_samples`, then flat."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    total = max(config.warmup_steps + 1, config.schedule_samples // config.batch_size)
    progress = min(1.0, (step - config.warmup_steps) / (total - config.warmup_steps))
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def sft_loss(model: Any, batch: dict[str, Any], average: str) -> Any:
    """Cross-entropy on the target tokens, averaged per sample (then over the batch) or per token."""
    import torch

    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs).logits[:, :-1].float()
    targets = labels[:, 1:]
    losses = torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), targets, ignore_index=-100, reduction="none"
    )
    mask = (targets != -100).float()
    if average == "token":
        return (losses * mask).sum() / mask.sum()
    return ((losses * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()


def evaluate(model: Any, processor: Any, config: WorldTrainConfig, device: str = "cpu") -> dict[str, Any]:
    """Held-out evaluation of the model being trained, through the `hf` backend (greedy)."""
    from scotoma.models.hf import HFModel

    served = HFModel.from_objects(model, processor, {"device": device, "batch_size": "64"}, "hf:training")
    tasks = heldout_tasks(config.seed, config.curriculum)
    try:
        if config.kind == "answerer":
            return evaluate_answerer(
                served, tasks, config.eval_per_family, config.eval_describe, config.eval_chain_per_family
            )
        return evaluate_questioner(served, heldout_set(tasks, "questions", config.eval_questions))
    finally:
        model.train()


def train_world_model(
    config: WorldTrainConfig,
    out: str | Path,
    minutes: float | None = None,
    samples: int | None = None,
    threads: int | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
    device: str = "auto",
    command: str | None = None,
) -> WorldTrainResult:
    """Train (or resume training) a world model until a budget is spent; see the module docstring.

    Args:
        config: the run's settings; resuming needs the same ones.
        out: the run folder.
        minutes: stop after this much training time in this call (None: no time limit).
        samples: stop once this many samples have been seen in total, across resumes (None: no limit).
        threads: torch CPU threads (1 is often fastest on a shared 2-core machine); None leaves torch's.
        force: delete an earlier run in `out` and start over.
        log: where progress lines go.
        device: "auto" (the first GPU if any, else CPU), "cpu" or "cuda[:N]". Not part of the config, so a
            run may move between machines; results are bit-exact only on the same device and thread count.
        command: the command line of this launch, appended to commands.txt in `out` (the shipped README
            lists every launch).
    """
    import torch

    if minutes is None and samples is None:
        raise ValueError("give a budget: minutes and/or samples (training would never stop)")
    if threads:
        torch.set_num_threads(threads)
    out = Path(out)
    # a folder that is not a run, or weights that are not there, are refused before anything is written
    RunDir.check_path(out)
    fresh = force or not has_checkpoint(out)
    source = weights_source(config.init_from) if config.init_from and fresh else None
    run = RunDir.open(out, f"world train-{config.kind}", config.to_dict(), config.seed, overwrite=force)
    if command is not None:
        with (out / COMMANDS).open("a") as file:  # the shipped README records every launch of the run
            file.write(command + "\n")
    if force:
        remove_checkpoint(out)
    where = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else device.replace("auto", "cpu")
    )
    model, processor = build_world_model(config.seed, config.text_first, config.text_layers)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        head = vision_head(config.vision_head, model, processor.tokenizer)
    # the auxiliary head trains and checkpoints with the model, and is left out of the shipped folder
    trainee = torch.nn.ModuleDict({"model": model, "vision_head": head}).to(where).train()
    supervision = VisionSupervision(model, head) if config.vision_loss_weight else None
    optimizer = torch.optim.AdamW(
        trainee.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, config))
    state = {"step": 0, "samples": 0, "train_seconds": 0.0}
    if has_checkpoint(out):
        state = load_checkpoint(out, trainee, optimizer, scheduler)
        log(f"resumed from {out / 'checkpoint'} at step {state['step']} ({state['samples']} samples)")
    elif source is not None:
        load_weights(source, trainee)
        # the launches that made those weights, kept now: a builtin folder may be replaced by the time
        # this run ships, and run folders do not outlive a working session
        (out / INIT_COMMANDS).write_text("".join(f"{line}\n" for line in source_commands(source)))
        log(f"started from the weights of {config.init_from}")
    stream, collate = (
        ExampleStream(
            WorldTasks(config.curriculum, config.seed), config.kind, config.batch_size, config.pool_batches
        ),
        WorldCollator(processor),
    )
    step, seen, trained = state["step"], state["samples"], state["train_seconds"]
    started = last_checkpoint = time.perf_counter()
    window: list[float] = []
    vision_window: list[float] = []
    losses: list[float] = []
    last_eval: dict[str, Any] = {}

    def record_eval() -> None:
        nonlocal last_eval
        key = f"eval-{seen}"
        if key in run.done or not config.eval_every_samples:
            return
        began = time.perf_counter()
        last_eval = evaluate(model, processor, config, str(where))
        # the run's counters last: they must not be shadowed by a result field of the same name
        run.append(
            [
                {
                    **last_eval,
                    "key": key,
                    "kind": "eval",
                    "step": step,
                    "samples": seen,
                    "train_seconds": trained,
                }
            ]
        )
        log(f"eval at {seen} samples ({time.perf_counter() - began:.0f} s): {headline(last_eval)}")

    if seen == 0:
        record_eval()
    while (samples is None or seen < samples) and (
        minutes is None or time.perf_counter() - started < minutes * 60
    ):
        tick = time.perf_counter()
        examples = stream(step)
        batch = {k: v.to(where) for k, v in collate(examples).items()}
        loss = text_loss = sft_loss(model, batch, config.loss_average)
        if supervision is not None:
            vision_loss = supervision.loss([e.scene for e in examples])
            vision_window.append(vision_loss.item())
            loss = loss + config.vision_loss_weight * vision_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainee.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        step, seen = step + 1, seen + config.batch_size
        trained += time.perf_counter() - tick
        window.append(text_loss.item())
        if step % config.log_every_steps == 0:
            mean = sum(window) / len(window)
            losses.append(mean)
            lr = scheduler.get_last_lr()[0]
            record = {"kind": "loss", "step": step, "samples": seen, "loss": mean, "lr": lr}
            if vision_window:
                record["vision_loss"] = sum(vision_window) / len(vision_window)
            if f"loss-{step}" not in run.done:
                run.append([{"key": f"loss-{step}", **record, "train_seconds": trained}])
            speed = seen / max(trained, 1e-9)
            vision = f" vision {record['vision_loss']:.4f}" if vision_window else ""
            log(
                f"step {step} samples {seen} loss {mean:.4f}{vision} lr {lr:.2e} "
                f"({speed:.0f} samples/s overall)"
            )
            window, vision_window = [], []
        if config.eval_every_samples and seen % config.eval_every_samples < config.batch_size:
            record_eval()
        if time.perf_counter() - last_checkpoint > config.checkpoint_minutes * 60:
            save_checkpoint(
                out, trainee, optimizer, scheduler, {"step": step, "samples": seen, "train_seconds": trained}
            )
            last_checkpoint = time.perf_counter()
    save_checkpoint(
        out, trainee, optimizer, scheduler, {"step": step, "samples": seen, "train_seconds": trained}
    )
    record_eval()
    model_path = save_tiny_vlm(model.eval(), processor, out / "model")
    evals = [r for r in run.records() if r.get("kind") == "eval"]
    if evals:
        plot_curve(evals, out / "curve.png", f"world {config.kind}, seed {config.seed}")
    last_eval = last_eval or (evals[-1] if evals else {})
    run.write_metrics({"steps": step, "samples": seen, "train_seconds": trained, "last_eval": last_eval})
    run.close()
    return WorldTrainResult(out, model_path, step, seen, trained, losses, last_eval)


__all__ = [
    "KINDS",
    "WORLD_SIZES",
    "WorldTrainConfig",
    "WorldTrainResult",
    "build_world_model",
    "evaluate",
    "lr_factor",
    "sft_loss",
    "train_world_model",
    "world_vocabulary_words",
]
