"""One rank of a multi-process training run, started by `accelerate launch` from test_train_distributed.

    accelerate launch --cpu --num_processes 2 tests/distributed_worker.py STAGE MODEL_DIR OUT

STAGE is sft, dpo, grpo (the training scripts on a tiny VLM in MODEL_DIR) or probe (the probe's GRPO of
builtin:questioner against a scripted answerer). Every rank writes OUT/rank<N>.json with what the test
compares: a digest of all parameters when training began and when it ended, the logged losses, what the
script returned, and for the probe a digest of the memory banks the rank rewarded with.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from transformers import TrainerCallback

QUESTION = "is there a blue circle ?"
FAST = {"learning_rate": 1e-2, "warmup_ratio": 0.0, "max_steps": 2, "per_device_train_batch_size": 2}


def digest(model: Any) -> str:
    state = model.state_dict()
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().to(torch.float32).cpu().numpy().tobytes())
    return h.hexdigest()


class ParameterDigests(TrainerCallback):
    """The parameters' digest on this rank before the first step and after the last."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self.found["begin"] = digest(model)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self.found["end"] = digest(model)


COLOURS = ("blue", "yellow", "black", "white")


def images(row: int) -> list[Image.Image]:
    """Two images that differ from row to row: the ranks get different data, so only gradient averaging
    keeps their parameters equal."""
    return [Image.new("RGB", (100, 100), COLOURS[(row + k) % len(COLOURS)]) for k in range(2)]


def answer(row: int) -> str:
    return ("yes", "no")[row % 2]


def train(stage: str, model_dir: str, out: Path, digests: ParameterDigests) -> Any:
    from scotoma.train import DPORecipe, GRPORecipe, SFTRecipe, to_dataset
    from scotoma.train.dpo import train_dpo
    from scotoma.train.grpo import train_grpo
    from scotoma.train.sft import train_sft

    model = f"hf:{model_dir}"
    if stage == "sft":
        content = [{"type": "image"}, {"type": "image"}, {"type": "text", "text": QUESTION}]
        rows = [
            {
                "messages": [
                    {"role": "user", "content": content},
                    {"role": "assistant", "content": answer(i)},
                ],
                "images": images(i),
            }
            for i in range(8)
        ]
        return train_sft(
            SFTRecipe(model=model, lora=False, **FAST), to_dataset(rows, "sft"), out, callbacks=[digests]
        )
    if stage == "dpo":
        rows = [
            {"prompt": QUESTION, "chosen": answer(i), "rejected": answer(i + 1), "images": images(i)}
            for i in range(8)
        ]
        return train_dpo(DPORecipe(model=model, **FAST), to_dataset(rows, "dpo"), out, callbacks=[digests])
    rows = [{"prompt": QUESTION, "images": images(i), "answer": answer(i)} for i in range(4)]

    def characters(prompts: Any, completions: Any, **columns: Any) -> list[float]:
        return [float(len(completion[0]["content"])) for completion in completions]

    recipe = GRPORecipe(model=model, num_generations=2, max_completion_length=6, **FAST)
    return train_grpo(recipe, to_dataset(rows, "grpo"), out, reward_funcs=[characters], callbacks=[digests])


def probe(out: Path, digests: ParameterDigests) -> dict[str, Any]:
    import scotoma.probe.rl as rl
    import scotoma.probe.training as training
    from scotoma.models import ScriptedModel
    from scotoma.models.embed import HashingEmbedder
    from scotoma.probe.config import ProbeConfig
    from scotoma.probe.run import run_probe

    seen: dict[str, Any] = {}
    banks_for, train_grpo = rl.banks_for, training.train_grpo

    def keep_banks(ctx: Any, method: str) -> Any:
        seen["banks"], path = banks_for(ctx, method)
        return seen["banks"], path

    def with_digests(*args: Any, callbacks: Any = (), **kwargs: Any) -> Any:
        return train_grpo(*args, callbacks=[*callbacks, digests], **kwargs)

    rl.banks_for, training.train_grpo = keep_banks, with_digests
    config = ProbeConfig(
        questioner="builtin:questioner",
        answerer="scripted:a",
        methods=["rl"],
        world_samples=4,
        eval_generations=1,
        recipe_overrides=[
            "max_steps=2",
            "num_generations=2",
            "per_device_train_batch_size=2",
            "max_completion_length=24",
            "device=cpu",
        ],
        min_skill_questions=0,
        cache=str(out.parent / f"cache{os.environ['RANK']}.sqlite"),
    )
    result = run_probe(
        config, out, models={"scripted:a": ScriptedModel("no")}, embedder=HashingEmbedder(), quiet=True
    )
    state = json.dumps(seen["banks"].to_dict(), sort_keys=True)
    return {
        "banks": hashlib.sha256(state.encode()).hexdigest(),
        "bank_sizes": seen["banks"].size,
        "training": result.metrics["info"]["rl"]["training"],
    }


def main() -> None:
    stage, model_dir, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    torch.set_num_threads(1)
    digests = ParameterDigests()
    found: dict[str, Any] = {"rank": int(os.environ["RANK"]), "world_size": int(os.environ["WORLD_SIZE"])}
    if stage == "probe":
        found |= probe(out / "run", digests)
    else:
        result = train(stage, model_dir, out / "run", digests)
        found |= {"losses": result.losses, "steps": result.steps, "model_path": str(result.model_path)}
    found |= digests.found
    import torch.distributed as dist

    found["backend"] = dist.get_backend() if dist.is_initialized() else None
    found["group_size"] = dist.get_world_size() if dist.is_initialized() else 1
    (out / f"rank{found['rank']}.json").write_text(json.dumps(found, default=str))


if __name__ == "__main__":
    main()
