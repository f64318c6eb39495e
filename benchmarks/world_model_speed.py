"""How fast the world models train and answer: each stage of a training step, and greedy generation.

    python benchmarks/world_model_speed.py                  # 1 thread, 12 steps of batch 16 per setting
    python benchmarks/world_model_speed.py --threads 2 --steps 20

Stages: drawing examples (curriculum), collation (fast path vs the Idefics3 processor on PIL images, as a
naive loop does), and full optimiser steps (collate, forward, backward, AdamW) with and without sorting a
pool of batches by length; then greedy generation through the `hf` backend (answers/s). The machine is
shared, so numbers vary with its load: compare settings within one run.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from scotoma.world.scenes.render import render_box
from scotoma.world_models.curriculum import CurriculumConfig, ExampleStream, WorldTasks
from scotoma.world_models.data import WorldCollator
from scotoma.world_models.evaluation import generate, heldout_set, heldout_tasks
from scotoma.world_models.training import WorldTrainConfig, build_world_model, sft_loss


def per_second(n: int, seconds: float) -> float:
    return round(n / seconds, 1)


def processor_collate(processor, examples) -> dict:
    """What a naive loop does: the chat template and the processor on rendered PIL images."""
    texts = [
        processor.apply_chat_template(
            [
                {
                    "role": "user",
                    "content": [{"type": "image"}] * len(e.scene.boxes)
                    + [{"type": "text", "text": e.prompt}],
                },
                {"role": "assistant", "content": [{"type": "text", "text": e.target}]},
            ]
        )
        for e in examples
    ]
    images = [[render_box(box) for box in e.scene.boxes] for e in examples]
    return processor(text=texts, images=images, padding=True, return_tensors="pt")


def train_speed(kind: str, steps: int, pool_batches: int, model, collate, describe_only: int) -> float:
    config = WorldTrainConfig(
        kind=kind, pool_batches=pool_batches, curriculum=CurriculumConfig(describe_only_samples=describe_only)
    )
    stream = ExampleStream(WorldTasks(config.curriculum, 0), kind, config.batch_size, pool_batches)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    started = time.perf_counter()
    for step in range(steps):
        loss = sft_loss(model, collate(stream(step)), "sample")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return per_second(steps * config.batch_size, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, processor = build_world_model(0)
    collate = WorldCollator(processor)
    tasks = WorldTasks(CurriculumConfig(describe_only_samples=0), 0)
    results: dict[str, float] = {"threads": args.threads}

    started = time.perf_counter()
    answerer = [tasks.answerer_example(i) for i in range(512)]
    results["answerer_examples_per_s"] = per_second(512, time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(256):
        tasks.questioner_example(i)
    results["questioner_examples_per_s"] = per_second(256, time.perf_counter() - started)
    for name, fn in (("fast", collate), ("processor", lambda b: processor_collate(processor, b))):
        started = time.perf_counter()
        for i in range(0, 256, 16):
            fn(answerer[i : i + 16])
        results[f"collate_{name}_per_s"] = per_second(256, time.perf_counter() - started)

    for kind, describe_only in (("answerer", 10**9), ("answerer", 0), ("questioner", 0)):
        label = f"{kind}_{'describe' if describe_only else 'mix'}" if kind == "answerer" else kind
        for pool in (1, 8):
            results[f"train_{label}_pool{pool}_samples_per_s"] = train_speed(
                kind, args.steps, pool, model, collate, describe_only
            )
        print(json.dumps(results), flush=True)

    from scotoma.models.hf import HFModel

    served = HFModel.from_objects(model, processor, {"device": "cpu", "batch_size": "64"})
    examples = heldout_set(heldout_tasks(0), "qa", 12)
    _, results["generate_answers_per_s"] = generate(served, examples, 8)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
