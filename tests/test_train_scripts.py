"""SFT, DPO and GRPO for real on tiny random-weight VLMs (CPU): a couple of steps each, LoRA and full.

Each run checks that the loss is finite and moved the way it must, that the trained parameters changed
(the LoRA B matrices, which start at zero; with LoRA every other weight stays exactly as it was) and that
the run directory and the saved safetensors are complete.
"""

import json
import math

import pytest
from PIL import Image

from scotoma.train import DPORecipe, GRPORecipe, SFTRecipe, TrainError, to_dataset, train_from_files
from scotoma.train.dpo import train_dpo
from scotoma.train.grpo import train_grpo
from scotoma.train.sft import train_sft

pytestmark = pytest.mark.integration

QUESTION = "is there a blue circle ?"
FAMILIES = ("idefics3", "qwen2_5_vl")
# Fast settings for a model of 0.2 M parameters: a large step, no warm-up, 2 steps on one batch of 4.
FAST = {"learning_rate": 1e-2, "warmup_ratio": 0.0, "max_steps": 2, "per_device_train_batch_size": 4}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: these models are tiny, and on a shared 2-core machine a second thread spins
    against other processes (3x slower per op under load, measured); the default is restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def images(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (100, 100), color) for color in ("blue", "yellow", "black")[:n]]


def sft_rows() -> list[dict]:
    content = [{"type": "image"}, {"type": "image"}, {"type": "text", "text": QUESTION}]
    return [
        {
            "messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "yes"}],
            "images": images(2),
        }
    ] * 4


def weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def check_saved_weights(result, original_dir, lora: bool) -> None:
    """LoRA: adapters trained, merged weights differ exactly on the adapted layers. Full: weights moved."""
    original = weights(original_dir / "model.safetensors")
    trained = weights(result.model_path / "model.safetensors")
    assert trained.keys() == original.keys()
    changed = {name for name in original if not (trained[name] == original[name]).all()}
    if lora:
        adapter = weights(result.adapter_path / "adapter_model.safetensors")
        lora_b = [tensor for name, tensor in adapter.items() if "lora_B" in name]
        assert lora_b and all(tensor.abs().sum() > 0 for tensor in lora_b)  # B starts at zero
        # Adapters only on the language model's projections: the vision tower keeps its q_proj etc.
        assert changed and all(".layers." in name and "vision" not in name for name in changed)
        assert all(name.endswith("_proj.weight") for name in changed)
    else:
        assert any(
            name.startswith("lm_head") or "language_model" in name or "text_model" in name for name in changed
        )


def check_run_dir(result, stage: str) -> None:
    records = [json.loads(line) for line in (result.out_dir / "records.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, result.steps + 1))
    assert all(r["step_time_s"] > 0 and math.isfinite(r["loss"]) for r in records)
    metrics = json.loads((result.out_dir / "metrics.json").read_text())
    assert metrics["stage"] == stage and metrics["steps"] == result.steps
    spec = json.loads((result.out_dir / "spec.json").read_text())
    assert spec["command"] == f"train {stage}" and spec["config"]["recipe"]["stage"] == stage


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
@pytest.mark.parametrize("family", FAMILIES)
def test_sft(tiny_vlm_dir, tmp_path, family, lora):
    recipe = SFTRecipe(model=f"hf:{tiny_vlm_dir(family)}", lora=lora, **FAST)
    result = train_sft(recipe, to_dataset(sft_rows(), "sft"), tmp_path / "run")
    assert result.steps == 2 and result.samples == 4 and result.dropped == 0
    assert all(math.isfinite(loss) for loss in result.losses)
    assert result.losses[1] < result.losses[0]  # the same batch again, after one update
    assert (result.adapter_path is not None) is lora
    check_saved_weights(result, tiny_vlm_dir(family), lora)
    check_run_dir(result, "sft")


@pytest.mark.parametrize("family", FAMILIES)
def test_sft_loss_on_every_assistant_turn(tiny_vlm_dir, tmp_path, family):
    """loss_on=assistant: a two-question conversation trains both answers and their end-of-turn tokens,
    nothing of the user turns or images (the tiny templates' {% generation %} markers, read by TRL)."""
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    from scotoma.models.hf_processor import load_processor

    row = sft_rows()[0]
    follow_up = [{"role": "user", "content": "how many ?"}, {"role": "assistant", "content": "two"}]
    dataset = to_dataset([{**row, "messages": [*row["messages"], *follow_up]}] * 4, "sft")
    processor = load_processor(str(tiny_vlm_dir(family)), local_files_only=True)
    batch = DataCollatorForVisionLanguageModeling(processor, assistant_only_loss=True)([dataset[0]])
    trained = batch["input_ids"][0][batch["labels"][0] != -100]
    end = processor.tokenizer.eos_token
    assert processor.tokenizer.decode(trained).split() == ["yes", end, "two", end]
    recipe = SFTRecipe(model=f"hf:{tiny_vlm_dir(family)}", loss_on="assistant", **FAST)
    result = train_sft(recipe, dataset, tmp_path / "run")
    assert result.steps == 2 and result.losses[1] < result.losses[0]
    check_saved_weights(result, tiny_vlm_dir(family), lora=True)


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
@pytest.mark.parametrize("family", FAMILIES)
def test_dpo(tiny_vlm_dir, tmp_path, family, lora):
    rows = [{"prompt": QUESTION, "chosen": "yes", "rejected": "no", "images": images(2)}] * 4
    recipe = DPORecipe(model=f"hf:{tiny_vlm_dir(family)}", lora=lora, **FAST)
    result = train_dpo(recipe, to_dataset(rows, "dpo"), tmp_path / "run")
    # At step 1 the policy is the reference (the adapter-free base with LoRA, a frozen copy without), so
    # every margin is 0 and the loss is -log sigmoid(0) = log 2.
    assert result.losses[0] == pytest.approx(math.log(2), abs=1e-5)
    assert result.losses[1] < result.losses[0]
    check_saved_weights(result, tiny_vlm_dir(family), lora)
    check_run_dir(result, "dpo")


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
@pytest.mark.parametrize("family", FAMILIES)
def test_grpo(tiny_vlm_dir, tmp_path, family, lora):
    rows = [{"prompt": QUESTION, "images": images(2), "answer": "yes", "skill": "existence"}] * 2
    seen = {}

    def characters(prompts, completions, answer, skill, **columns):
        """Varies across a random model's samples, so advantages are non-zero and parameters move."""
        seen.update(answer=answer, skill=skill, columns=set(columns))
        return [float(len(completion[0]["content"])) for completion in completions]

    recipe = GRPORecipe(
        model=f"hf:{tiny_vlm_dir(family)}", lora=lora, num_generations=2, max_completion_length=6, **FAST
    )
    result = train_grpo(recipe, to_dataset(rows, "grpo"), tmp_path / "run", reward_funcs=[characters])
    assert result.steps == 2 and all(math.isfinite(loss) for loss in result.losses)
    # each of the 4 completions (2 prompts x 2 generations) gets its row's columns
    assert seen["answer"] == ["yes"] * 4 and seen["skill"] == ["existence"] * 4
    assert {"completion_ids", "trainer_state"} <= seen["columns"]
    assert result.metrics["rewards/characters/mean"] > 0
    check_saved_weights(result, tiny_vlm_dir(family), lora)
    check_run_dir(result, "grpo")


def test_budget_drop_and_curriculum_reach_the_trainer(tiny_vlm_dir, tmp_path):
    from scotoma.train.data import mix

    long_row = sft_rows()[0] | {"images": images(3)}
    long_row["messages"] = [
        {"role": "user", "content": [{"type": "image"}] * 3 + [{"type": "text", "text": QUESTION}]},
        long_row["messages"][1],
    ]
    easy, hard = to_dataset(sft_rows()[:2], "sft"), to_dataset([*sft_rows()[:1], long_row], "sft")
    # Idefics3 tiny: 2 images = 70 tokens, 3 images = 98 (see test_train_data)
    fast = FAST | {"max_steps": -1, "per_device_train_batch_size": 1}
    recipe = SFTRecipe(model=f"hf:{tiny_vlm_dir('idefics3')}", max_tokens=80, num_train_epochs=2, **fast)
    result = train_sft(recipe, mix([easy, hard], "curriculum"), tmp_path / "run")
    assert result.dropped == 1  # the 3-image sample
    assert (result.samples, result.steps) == (2 * 2 + 1 * 2, 6)  # every epoch of each stage, one row a step


def test_train_from_files_with_a_shipped_recipe(tiny_vlm_dir, tmp_path):
    Image.new("RGB", (100, 100), "blue").save(tmp_path / "a.png")
    row = {"messages": sft_rows()[0]["messages"], "images": ["a.png", "a.png"]}
    data = tmp_path / "chains.jsonl"
    data.write_text("\n".join(json.dumps(row) for _ in range(4)) + "\n")
    overrides = [f"model=hf:{tiny_vlm_dir('qwen2_5_vl')}", "max_steps=1", "merge_lora=false"]
    result = train_from_files("sft", "world_tiny/sft.yaml", [data], tmp_path / "run", overrides)
    assert result.steps == 1 and result.model_path is None
    assert (result.adapter_path / "adapter_model.safetensors").is_file()
    assert (result.adapter_path / "adapter_config.json").is_file()
    with pytest.raises(TrainError, match="already holds a training run"):
        train_from_files("sft", "world_tiny/sft.yaml", [data], tmp_path / "run", overrides)
