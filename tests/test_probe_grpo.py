"""GRPO of a tiny questioner with the real probe reward (scripted target, exact oracle), and the whole
`run_probe` with training methods on tiny models (CPU).

The questioner is a tiny random-weight Idefics3 that first memorises one output (a few dozen plain
optimiser steps), so that the questions it samples, and so every reward component, are known by hand.
"""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from scotoma.judge.verifiers import OracleVerifier
from scotoma.models import ScriptedModel
from scotoma.models.embed import HashingEmbedder
from scotoma.probe.banks import MemoryBanks
from scotoma.probe.config import ProbeConfig
from scotoma.probe.core import Probe
from scotoma.probe.prompts import PromptSet
from scotoma.probe.reward import ProbeReward
from scotoma.probe.run import run_probe
from scotoma.probe.samples import ProbeSample
from scotoma.probe.training import grpo_rows, train_questioner_grpo
from scotoma.train import GRPORecipe
from scotoma.world.scenes.render import box_image_ref
from scotoma.world.scenes.scene import Box, Scene, WorldObject

pytestmark = pytest.mark.integration

Q1, Q2 = "is there a blue circle ?", "how many yellow squares are there ?"
TARGET = f"<response_1>{Q1}</response_1><response_2>{Q2}</response_2>"
VOCAB = (
    *("<", ">", "/", "_", "response", "1", "2", "ask", "two", "questions", "about", "the", "image", "."),
    *("is", "there", "a", "blue", "circle", "?", "how", "many", "yellow", "squares", "are"),
)
BOX = Box(
    (
        WorldObject("circle", "blue", 20, 10, 10),
        WorldObject("square", "yellow", 10, 60, 60),
        WorldObject("square", "yellow", 20, 40, 70),
    )
)
SAMPLE = ProbeSample("a", (box_image_ref(BOX),), Scene((BOX,)), "boxes")
PROMPTS = PromptSet.resolve("builtin:q", "builtin:a")  # the world prompts: short, no image labels


class TableEmbedder:
    """Exact vectors: cos(Q1, Q2) = 0.6."""

    def encode(self, texts):
        table = {Q1: [1.0, 0.0], Q2: [0.6, 0.8]}
        return np.array([table[t] for t in texts], dtype=np.float64).reshape(len(texts), 2)


@pytest.fixture(autouse=True)
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def questioner_dir(tmp_path_factory):
    """A tiny Idefics3 questioner that has memorised TARGET for the world prompt (greedy output = TARGET)."""
    import torch

    from scotoma.models.hf import HFModel
    from scotoma.models.tiny import build_tiny_vlm, save_tiny_vlm
    from scotoma.probe.prompts import questioner_conversation

    torch.set_num_threads(1)
    model, processor = build_tiny_vlm("idefics3", VOCAB, lowercase=True)
    messages = grpo_rows([SAMPLE], PROMPTS, 2)[0]["prompt"]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    images = [[SAMPLE.images[0].load()]]
    full = processor(
        text=[prompt + TARGET + processor.tokenizer.eos_token], images=images, return_tensors="pt"
    )
    n_prompt = len(processor(text=[prompt], images=images)["input_ids"][0])
    labels = full["input_ids"].clone()
    labels[:, :n_prompt] = -100
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(60):
        loss = model(**full, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert loss.item() < 0.05
    folder = save_tiny_vlm(model.eval(), processor, tmp_path_factory.mktemp("questioner") / "model")
    served = HFModel(str(folder), {"device": "cpu"})
    from scotoma.types import GenConfig

    (output,) = served.generate(
        [questioner_conversation(PROMPTS, SAMPLE.images, 2)], GenConfig(max_new_tokens=40)
    )
    assert output.text.replace(" ", "") == TARGET.replace(" ", "")
    return folder


def test_grpo_step_with_the_probe_reward(questioner_dir, tmp_path):
    records = []
    probe = Probe(None, ScriptedModel("no"), OracleVerifier(), PROMPTS, k=2)
    reward = ProbeReward(probe, {"a": SAMPLE}, MemoryBanks(TableEmbedder()), sink=records.extend)
    recipe = GRPORecipe(
        model=f"hf:{questioner_dir}",
        lora=False,
        num_generations=4,
        per_device_train_batch_size=4,
        max_steps=1,
        max_completion_length=40,
        temperature=0.05,  # the memorised output, every time
        learning_rate=1e-3,
        max_tokens=512,
    )
    result = train_questioner_grpo(recipe, [SAMPLE], reward, PROMPTS, 2, tmp_path / "grpo")
    assert result.steps == 1 and reward.calls == 1
    # Four identical completions scored against the empty banks: Q1 and Q2 are both failures (the target
    # says "no"; the answers are "yes" and "2"). Eq. 5 sums the terms: Q1: 1 + 1 = 2; Q2: delta_emb
    # 1 - 0.6 = 0.4, delta_ifreq 1 -> 1.4. The completion's reward is their mean, 1.7.
    assert [r["question"] for r in records] == [Q1, Q2] * 4
    assert [r["reward"] for r in records] == pytest.approx([2.0, 1.4] * 4)
    metrics = result.metrics
    expected = {
        "probe/reward": 1.7,
        "probe/question_reward": 1.7,
        "probe/valid": 1.0,
        "probe/fdr": 1.0,
        "probe/penalty": 0.0,
        "probe/missing": 0.0,
        "probe/unjudged": 0.0,
        "probe/delta_emb": 0.7,
        "probe/delta_ifreq": 1.0,
        "rewards/probe_reward/mean": 1.7,
    }
    assert {k: metrics[k] for k in expected} == pytest.approx(expected)
    # the banks now hold every failure of the batch, for the next step
    assert reward.banks.failures == {"a": [Q1, Q2] * 4}
    assert dict(reward.banks.prefixes) == {"is there": 4, "how many": 4}


def test_run_probe_trains_rl_then_evaluates_and_resumes(questioner_dir, tmp_path):
    spec = f"hf:{questioner_dir}"
    config = ProbeConfig(
        questioner=spec,
        answerer="scripted:a",
        questioner_prompt="questioner_world_v1",
        conme_prompt="conme_world_v1",
        image_label="",
        methods=["rl", "zero_shot"],
        world_samples=2,
        eval_generations=2,
        recipe="world_tiny/grpo_probe.yaml",
        recipe_overrides=["max_steps=2", "num_generations=2", "per_device_train_batch_size=4", "device=cpu"],
        min_skill_questions=0,
        cache=str(tmp_path / "cache.sqlite"),
    )
    models = {"scripted:a": ScriptedModel("no")}
    result = run_probe(config, tmp_path / "run", models=models, embedder=HashingEmbedder(), quiet=True)
    out = result.out_dir
    training = result.metrics["info"]["rl"]["training"]
    assert training["steps"] == 2 and (out / "rl" / "grpo" / "model" / "model.safetensors").is_file()
    assert 0 <= training["reward_share"] < 1 and training["reward_seconds_per_step"] > 0
    banks = json.loads((out / "rl" / "banks.json").read_text())
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    train = [r for r in records if r["phase"] == "train"]
    assert len(train) == 2 * 4 * 2  # 2 steps x 4 completions x k
    failed = [r for r in train if r["failed"]]
    assert sum(map(len, banks["failures"].values())) == len(failed) == training["banks"]["failures"]
    assert {r["method"] for r in records if r["phase"] == "eval"} == {"rl", "zero_shot"}
    assert result.metrics["methods"]["rl"]["questions"] == 2 * 2 * 2
    curve = result.metrics["fdr_curves"]["rl"]
    assert curve[-1][0] == len(train) + 8 and not math.isnan(curve[-1][1])
    # resume: the finished training is reused, the banks stay, nothing is written twice
    again = run_probe(config, tmp_path / "run", models=models, embedder=HashingEmbedder(), quiet=True)
    assert again.metrics["info"]["rl"]["resumed"] is True
    assert len((out / "records.jsonl").read_text().splitlines()) == len(records)
    # methods=conme on the finished run: the summary covers all three methods, not conme alone
    conme = replace(config, methods=["conme"])
    added = run_probe(conme, tmp_path / "run", models=models, embedder=HashingEmbedder(), quiet=True)
    saved = json.loads((out / "metrics.json").read_text())
    assert {"rl", "zero_shot", "conme"} <= set(saved["methods"]) == set(added.metrics["methods"])
    same = [json.dumps(m["methods"]["rl"], sort_keys=True) for m in (saved, result.metrics)]  # nan-safe
    assert saved["main_method"] == "rl" and same[0] == same[1]
    assert saved["info"]["rl"]["training"]["steps"] == 2 and set(saved["fdr_curves"]) == {
        "rl",
        "zero_shot",
        "conme",
    }
    page = (out / "summary.html").read_text()
    table = page[page.index('<table id="metrics"') :].split("</table>")[0]
    assert all(f"<tr><td>{m}</td>" in table for m in ("rl", "zero_shot", "conme"))


@pytest.mark.slow
def test_every_method_on_tiny_models(questioner_dir, tmp_path):
    config = ProbeConfig(
        questioner=f"hf:{questioner_dir}",
        answerer="scripted:a",
        questioner_prompt="questioner_world_v1",
        conme_prompt="conme_world_v1",
        image_label="",
        methods=["zero_shot", "conme", "sft", "expert_iteration", "rl", "rl_sft"],
        world_samples=2,
        eval_generations=1,
        expert_iteration_rounds=2,
        sft_questions=4,
        recipe_overrides=["max_steps=1", "num_generations=2", "per_device_train_batch_size=2", "device=cpu"],
        sft_overrides=["max_steps=1", "per_device_train_batch_size=2", "device=cpu"],
        min_skill_questions=0,
        cache=str(tmp_path / "cache.sqlite"),
    )
    result = run_probe(config, tmp_path / "run", models={"scripted:a": ScriptedModel("no")}, quiet=True)
    methods = result.metrics["methods"]
    assert set(methods) == {*config.methods, "conme_turn1"}
    assert all(m["questions"] == 2 * 1 * 2 for m in methods.values())
    assert (tmp_path / "run" / "sft" / "train" / "model").is_dir()
    assert result.metrics["info"]["expert_iteration"]["rounds"][0]["questions"] == 4
    assert result.metrics["info"]["rl_sft"]["training"]["steps"] == 1


def test_auto_recipes_follow_the_questioner_a_trained_one_descends_from():
    from scotoma.probe.training import questioner_recipe

    world = questioner_recipe("grpo", "auto", "builtin:questioner")
    # RL after SFT trains an hf: folder that the SFT stage wrote from builtin:questioner: still the world
    descendant = questioner_recipe("grpo", "auto", "hf:runs/x/sft/model", base="builtin:questioner")
    real = questioner_recipe("grpo", "auto", "hf:runs/x/sft/model")
    assert descendant.model == "hf:runs/x/sft/model"
    assert (descendant.learning_rate, descendant.lora) == (world.learning_rate, world.lora) == (2e-4, False)
    assert real.learning_rate != world.learning_rate  # the Qwen2.5-VL-3B recipe
    sft = questioner_recipe("sft", "auto", "hf:runs/x/ei/round0/model", base="builtin:questioner")
    assert sft.learning_rate == questioner_recipe("sft", "auto", "builtin:questioner").learning_rate == 1e-3
    assert questioner_recipe("sft", "auto", "hf:runs/x/ei/round0/model").learning_rate == 1e-5
