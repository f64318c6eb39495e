"""The training scripts and the probe's GRPO under `accelerate launch --num_processes 2` on CPU (gloo).

Each launch runs tests/distributed_worker.py on two ranks; every rank reports the digest of all its
parameters before and after training. Data parallelism holds when both ranks start and end with the
same parameters and those moved; only rank 0 writes the run directory and the weights; the probe's ranks
end with the same memory banks, holding both ranks' questions.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # two processes importing torch + TRL per launch: 25-60 s each on 2 cores

WORKER = Path(__file__).with_name("distributed_worker.py")


def launch(stage: str, model_dir: Path | str, out: Path) -> list[dict[str, Any]]:
    out.mkdir(parents=True, exist_ok=True)
    command = [
        *(sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"),
        *("--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"),
        *(str(WORKER), stage, str(model_dir), str(out)),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]


def check_data_parallel(ranks: list[dict[str, Any]]) -> None:
    first, second = ranks
    assert (first["rank"], second["rank"], first["world_size"]) == (0, 1, 2)
    assert first["backend"] == second["backend"] == "gloo" and first["group_size"] == 2
    assert first["begin"] == second["begin"]  # DDP started both from rank 0's weights
    # the ranks train on different rows; only the averaged gradient keeps them equal step after step
    assert first["end"] == second["end"]
    assert first["end"] != first["begin"]  # and it moved them


def check_only_rank_zero_wrote(out: Path, ranks: list[dict[str, Any]]) -> None:
    run = out / "run"
    records = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(
        range(1, ranks[0]["steps"] + 1)
    )  # one writer, one line a step
    assert json.loads((run / "metrics.json").read_text())["steps"] == ranks[0]["steps"]
    assert ranks[0]["model_path"] == str(run / "model") and ranks[1]["model_path"] == "None"
    assert (run / "model" / "model.safetensors").is_file()


@pytest.mark.parametrize("stage", ["sft", "dpo", "grpo"])
def test_training_scripts_on_two_processes(stage: str, tiny_vlm_dir: Any, tmp_path: Path) -> None:
    ranks = launch(stage, tiny_vlm_dir("idefics3"), tmp_path)
    check_data_parallel(ranks)
    check_only_rank_zero_wrote(tmp_path, ranks)
    losses = ranks[0]["losses"]
    assert len(losses) == 2 and all(map(math.isfinite, losses))
    if stage == "dpo":  # at step 1 the policy is the reference: -log sigmoid(0) on every rank
        assert losses[0] == pytest.approx(math.log(2), abs=1e-5)
    if stage != "grpo":  # GRPO's loss is ~0 by construction (group-normalised advantages)
        assert abs(losses[1] - losses[0]) > 1e-4  # step 2 has other rows: the loss moves, not always down
    assert ranks[0]["losses"] == ranks[1]["losses"]  # logged losses are averaged over the ranks


def test_the_probes_grpo_on_two_processes_rewards_with_the_same_banks(tmp_path: Path) -> None:
    ranks = launch("probe", "builtin:questioner", tmp_path)
    check_data_parallel(ranks)
    assert ranks[0]["banks"] == ranks[1]["banks"]
    run = tmp_path / "run"
    train = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    train = [r for r in train if r.get("phase") == "train"]
    # 2 steps x (2 ranks x 2 completions) x k=2 questions, all in rank 0's records
    assert len(train) == 2 * (2 * 2) * 2
    judged = [r for r in train if r["question"] is not None and r["judged"]]
    assert sum(ranks[0]["bank_sizes"].values()) > 0 and judged
    assert (run / "rl" / "banks.json").is_file() and not (run / ".rank1" / "rl" / "banks.json").exists()
    assert not (run / ".rank1" / "records.jsonl").exists() or not any(
        json.loads(line).get("phase") == "train"
        for line in (run / ".rank1" / "records.jsonl").read_text().splitlines()
    )
