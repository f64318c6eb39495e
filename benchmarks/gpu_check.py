"""The GPU check, one command: what scotoma does on one H100 at the Qwen2.5-VL-3B size (random weights).

    python benchmarks/gpu_check.py --out "$OUT"          # on the GPU machine, about 8 minutes
    python benchmarks/gpu_check.py --only generate       # one stage: generate, grpo, bench, tests
    python benchmarks/gpu_check.py --smoke               # the same plumbing on CPU with a tiny model

Stages, each timed and reported whatever the others do (a failed stage prints its error and the rest go on):

1. generate: Qwen2.5-VL-3B's architecture with random bf16 weights, 2 images of 448x448 and 64 new tokens
   per prompt (EOS masked, so every completion has exactly 64): the `hf` backend's tokens/s at batch 1, 8
   and 64, beside plain `model.generate` on the same inputs in the same run. Earlier H100 figures for
   plain generate: 13.2 tok/s at batch 1, 402 at 64 (792 with a static cache); the target for the backend
   is at least 1,600 tok/s at batch 64.
2. grpo: one step of the probe's GRPO (paper 000) with that model as questioner: LoRA r16, one prompt with
   8 generations of 128 tokens, the exact world oracle as verifier and a scripted target, through
   `run_probe` and the shipped qwen2_5_vl_3b/grpo_probe.yaml recipe. TRL baseline measured earlier: 10.2 s
   for such a step.
3. bench: NLVR1 (the dev split shipped with scotoma) with `--permute images`, 34 statements x 6 orders =
   204 variants through `run_bench`, the model served by the `hf` backend: variants/s.
4. tests: the `gpu` tier, `pytest -m gpu`.

The weights are saved once to a temp folder (about 7.5 GB) so the probe and bench load them as `hf:DIR`,
as a user's checkpoint would be. Results go to the terminal and, with --out, to gpu_check.json.

The GPU machine has no network: packages it lacks (TRL, datasets, the pinned transformers) travel as
wheels built here (see the device tool's notes); `pip install --no-deps <wheels>` there first.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # backend_throughput, beside this file

STAGES = ("generate", "grpo", "bench", "tests")
SIZES = {  # batches, new tokens, image side, NLVR1 statements, GRPO completion length
    "h100": {"batches": (1, 8, 64), "new_tokens": 64, "side": 448, "statements": 34, "completion": 128},
    "smoke": {"batches": (1, 2), "new_tokens": 4, "side": 100, "statements": 2, "completion": 16},
}


def plain_generate(model: Any, conversations: list, new_tokens: int) -> tuple[int, float]:
    """Tokens and seconds of one plain `model.generate` call on the processor's batch (no backend)."""
    import torch

    processor, network = model.processor, model.model
    texts, images = [], []
    for conversation in conversations:
        content = []
        for part in conversation.messages[-1].content:
            if hasattr(part, "image"):
                content.append({"type": "image"})
                images.append(part.image.load())
            else:
                content.append({"type": "text", "text": part.text})
        texts.append(
            processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
        )
    processor.tokenizer.padding_side = "left"
    inputs = processor(text=texts, images=images, return_tensors="pt", padding=True).to(network.device)
    sync = torch.cuda.synchronize if network.device.type == "cuda" else (lambda: None)
    sync()
    started = time.perf_counter()
    with torch.inference_mode():
        out = network.generate(
            **inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False
        )
    sync()
    return (out.shape[1] - inputs["input_ids"].shape[1]) * out.shape[0], time.perf_counter() - started


def stage_generate(state: dict[str, Any]) -> dict[str, Any]:
    from backend_throughput import prompts, timed
    from scotoma.types import GenConfig

    size = state["size"]
    model = load(state)
    config = GenConfig(max_new_tokens=size["new_tokens"])
    rows: dict[str, Any] = {}
    for batch in size["batches"]:
        conversations = prompts(batch, 2, size["side"])
        model.options = dataclasses.replace(model.options, batch_size=batch)
        backend = timed(model, conversations, config, one_at_a_time=False)
        plain_generate(model, conversations[:1], 4)  # warm-up at this shape
        tokens, seconds = plain_generate(model, conversations, size["new_tokens"])
        rows[str(batch)] = {
            "backend_tok_s": round(backend.tokens_per_s, 1),
            "plain_generate_tok_s": round(tokens / seconds, 1),
            "ratio": round(backend.tokens_per_s / (tokens / seconds), 2),
        }
        print(
            f"  batch {batch:3}: backend {rows[str(batch)]['backend_tok_s']} tok/s, plain generate "
            f"{rows[str(batch)]['plain_generate_tok_s']} tok/s",
            flush=True,
        )
    if "64" in rows:
        rows["target_batch_64_tok_s"] = 1600
        rows["target_met"] = rows["64"]["backend_tok_s"] >= 1600
    return rows


def load(state: dict[str, Any]) -> Any:
    """The model under check, built once: Qwen2.5-VL-3B's shape on CUDA, or a tiny one on CPU (--smoke)."""
    if "model" not in state:
        from backend_throughput import qwen25_vl_3b_random, tiny_cpu_model

        batch = max(state["size"]["batches"])
        smoke = state["size"] is SIZES["smoke"]
        state["model"] = tiny_cpu_model(batch, "qwen2_5_vl") if smoke else qwen25_vl_3b_random(batch, False)
    return state["model"]


def saved_model(state: dict[str, Any]) -> str:
    """The random 3B model saved once as a folder: its `hf:` spec."""
    if "spec" not in state:
        import torch

        model = load(state)
        folder = Path(tempfile.mkdtemp(prefix="qwen25vl-random-"))
        model.model.save_pretrained(folder)
        model.processor.save_pretrained(folder)
        state["spec"] = f"hf:{folder}?device={model.device.type}"
        del state["model"]  # the stages below load it again, as a user's checkpoint
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return state["spec"]


def stage_grpo(state: dict[str, Any]) -> dict[str, Any]:
    from scotoma.probe import ProbeConfig, run_probe

    spec = saved_model(state)
    config = ProbeConfig(
        questioner=spec,
        answerer="scripted:yes",
        verifier="oracle",
        methods=["rl"],
        world_samples=8,
        recipe="auto",
        recipe_overrides=[
            "max_steps=2",  # the first step pays one-off setup; the mean leaves it out
            "num_generations=8",
            f"max_completion_length={state['size']['completion']}",
            "per_device_train_batch_size=8",
            "gradient_accumulation_steps=1",
        ],
        cache=None,
    )
    result = run_probe(config, Path(tempfile.mkdtemp(prefix="gpu-probe-")), quiet=True)
    training = result.metrics["info"]["rl"]["training"]
    return {
        "steps": training["steps"],
        "mean_step_time_s": training["mean_step_time_s"],
        "reward_share": training.get("reward_share"),
        "trl_baseline_step_s": 10.2,
    }


def stage_bench(state: dict[str, Any]) -> dict[str, Any]:
    from scotoma.bench import BenchConfig, run_bench

    spec = saved_model(state)
    started = time.perf_counter()
    config = BenchConfig(
        "nlvr1",
        f"{spec}&batch_size=64",
        permute="images",
        max_image_orders=None,
        limit=state["size"]["statements"],
        n_boot=200,
        cache=Path(tempfile.mkdtemp(prefix="gpu-cache-")) / "responses.sqlite",
    )
    result = run_bench(config, Path(tempfile.mkdtemp(prefix="gpu-bench-")))
    seconds = time.perf_counter() - started
    return {
        "variants": result.n_variants,
        "seconds": round(seconds, 1),
        "variants_per_s": round(result.n_variants / seconds, 2),
        "accuracy": result.metrics["settings"]["IQ"]["accuracy"]["value"],
    }


def stage_tests(state: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    return {"exit_code": done.returncode, "summary": tail}


RUNNERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "generate": stage_generate,
    "grpo": stage_grpo,
    "bench": stage_bench,
    "tests": stage_tests,
}


def environment() -> dict[str, Any]:
    import torch
    import transformers

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=STAGES, action="append", help="run only these stages (repeatable)")
    parser.add_argument("--out", type=Path, help="folder for gpu_check.json")
    parser.add_argument("--smoke", action="store_true", help="a tiny model on CPU: checks the plumbing")
    args = parser.parse_args()

    import torch

    if not args.smoke and not torch.cuda.is_available():
        sys.exit("error: no CUDA device; run this on the GPU machine, or --smoke on CPU")
    report: dict[str, Any] = {"environment": environment(), "stages": {}}
    print(json.dumps(report["environment"]), flush=True)
    state: dict[str, Any] = {"size": SIZES["smoke" if args.smoke else "h100"]}
    for name in args.only or STAGES:
        print(f"[{name}]", flush=True)
        started = time.perf_counter()
        try:
            figures = RUNNERS[name](state)
        except Exception as error:  # a broken stage is reported; the others still run
            traceback.print_exc()
            figures = {"error": f"{type(error).__name__}: {error}"}
        figures["stage_seconds"] = round(time.perf_counter() - started, 1)
        report["stages"][name] = figures
        print(f"  {json.dumps(figures)}", flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["stages"], indent=1))


if __name__ == "__main__":
    main()
