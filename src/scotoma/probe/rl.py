"""The RL questioner (paper 000, section 3.2): GRPO against the frozen target and the verifier, with the
non-stationary reward of Eq. 5, then an evaluation round on the same images.

Layout under the run directory, per RL method ("rl", "rl_sft"):

    <method>/grpo/       the training run (records of every step, metrics, model/ with the weights)
    <method>/banks.json  the memory banks, saved after every reward call

and every question scored during training is a record of the probe run (phase "train"), keyed
`<method>/train/a<attempt>/c<call>/<n>`, from which the FDR against cumulative questions is drawn.

Resume: a finished training (its metrics.json and model/ present) is reused. An interrupted one is
trained again from the start, since the training scripts keep no mid-run checkpoints, but the banks are
restored from banks.json, so the reward continues from the memory it had; the new attempt's records get
new keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scotoma.distributed import process_group, process_rank
from scotoma.probe.banks import MemoryBanks
from scotoma.probe.context import ProbeContext
from scotoma.probe.reward import ProbeReward
from scotoma.probe.samples import by_key
from scotoma.probe.training import (
    questioner_recipe,
    reward_timer,
    train_questioner_grpo,
    trained_questioner_spec,
)


def banks_for(ctx: ProbeContext, method: str) -> tuple[MemoryBanks, Path]:
    """The method's memory banks, restored from its banks.json when a previous attempt saved one."""
    path = ctx.out_dir / method / "banks.json"
    banks = MemoryBanks(ctx.embedder, ctx.config.prefix_length, ctx.config.prefix_source)
    banks.load(path)
    return banks, path


def _attempt(ctx: ProbeContext, method: str) -> int:
    prefix = f"{method}/train/a"
    attempts = {int(key[len(prefix) :].split("/")[0]) for key in ctx.run.done if key.startswith(prefix)}
    return max(attempts) + 1 if attempts else 0


def _finished(out: Path) -> dict[str, Any] | None:
    metrics = out / "metrics.json"
    if not metrics.is_file():
        return None
    result = json.loads(metrics.read_text(encoding="utf-8"))
    return result if result.get("model_path") and Path(result["model_path"]).is_dir() else None


def train_rl(ctx: ProbeContext, method: str, start_spec: str) -> str:
    """Train the questioner `start_spec` with GRPO; return the trained questioner's spec.

    Records the training summary (steps, step time, reward time per step and its share) in
    `ctx.info[method]`.
    """
    out = ctx.out_dir / method
    done = _finished(out / "grpo")
    if done is not None:
        ctx.info[method] = {"training": _summary(done), "resumed": True}
        return f"hf:{done['model_path']}"
    banks, banks_path = banks_for(ctx, method)
    reward = ProbeReward(
        ctx.probe(None),
        by_key(ctx.samples),
        banks,
        ctx.config.reward_config(),
        sink=ctx.run.append,
        on_update=lambda b: b.save(banks_path),
        attempt=_attempt(ctx, method),
        record_fields={"method": method, "phase": "train"},
        key_prefix=f"{method}/train",
    )
    recipe = questioner_recipe(
        "grpo", ctx.config.recipe, start_spec, ctx.config.recipe_overrides, base=ctx.config.questioner
    )
    timer = reward_timer(reward)
    result = train_questioner_grpo(
        recipe, ctx.samples, reward, ctx.prompts, ctx.config.k, out / "grpo", callbacks=[timer]
    )
    _wait_for_rank_zero()  # rank 0 saves the weights after training; the others read them from there
    if process_rank() == 0:
        banks.save(banks_path)
    summary = _summary(result.to_dict())
    steps = timer.per_step[1:] or timer.per_step  # the first step pays one-off setup
    summary["reward_seconds_per_step"] = sum(steps) / len(steps) if steps else None
    if summary["reward_seconds_per_step"] is not None and summary["mean_step_time_s"]:
        summary["reward_share"] = summary["reward_seconds_per_step"] / summary["mean_step_time_s"]
    summary["banks"] = banks.size
    ctx.info[method] = {"training": summary, "resumed": False}
    if result.model_path is None and (out / "grpo" / "model").is_dir():  # a rank > 0 saved nothing itself
        return f"hf:{out / 'grpo' / 'model'}"
    return trained_questioner_spec(result)


def _wait_for_rank_zero() -> None:
    """A barrier when torch.distributed runs (several training processes); nothing otherwise."""
    group = process_group()
    if group is not None and group.get_world_size() > 1:
        group.barrier()


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("steps", "samples", "dropped", "mean_step_time_s", "model_path", "adapter_path", "metrics")
    return {key: result.get(key) for key in keep}


__all__ = ["banks_for", "train_rl"]
