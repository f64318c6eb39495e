"""The shipped accelerate configs and GRPO's vLLM options, which need GPUs to run: each config is read by
accelerate's own launcher, its launch environment reaches the objects TRL trains with, and the recipe's
vLLM fields reach TRL's GRPOConfig."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scotoma.cli import app
from scotoma.train import GRPORecipe, SFTRecipe
from scotoma.train.accelerate_configs import ACCELERATE_CONFIGS, accelerate_config
from scotoma.train.config import load_recipe


def launch_environment(name: str) -> tuple[Any, dict[str, str]]:
    """What `accelerate launch --config_file <shipped name> -m scotoma.cli train sft` would start with:
    the parsed launch arguments and the environment each rank gets (beyond the current one)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    command = ["--config_file", str(accelerate_config(name)), "-m", "scotoma.cli", "train", "sft"]
    args, defaults, _ = _validate_launch_command(launch_command_parser().parse_args(command))
    if args.use_deepspeed:
        args.deepspeed_fields_from_accelerate_config = ",".join(defaults.deepspeed_config)  # as launch does
        _, env = prepare_deepspeed_cmd_env(args)
    else:
        env = prepare_multi_gpu_env(args)
    return args, {k: v for k, v in env.items() if os.environ.get(k) != v}


def trl_config(recipe: Any, tmp_path: Path) -> Any:
    """The TRL config our scripts build for `recipe` (GRPOConfig or SFTConfig), without a model."""
    from datasets import Dataset
    from trl import SFTConfig

    from scotoma.train.grpo import grpo_config
    from scotoma.train.harness import trainer_arguments

    _, common = trainer_arguments(recipe, tmp_path, Dataset.from_list([{"prompt": "a"}]))
    if isinstance(recipe, GRPORecipe):
        return grpo_config(recipe, common)
    common.pop("train_sampling_strategy")
    return SFTConfig(**common)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("ddp", "multi_gpu"), ("zero2", "use_deepspeed"), ("zero3", "use_deepspeed"), ("fsdp", "use_fsdp")],
)
def test_each_shipped_config_is_read_by_accelerates_launcher(name: str, kind: str) -> None:
    args, env = launch_environment(name)
    assert getattr(args, kind) and args.num_processes == 8 and args.num_machines == 1
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"
    assert set(ACCELERATE_CONFIGS) == {"ddp", "zero2", "zero3", "fsdp"}


@pytest.mark.parametrize(("name", "stage"), [("zero2", 2), ("zero3", 3)])
def test_deepspeed_configs_reach_the_trl_config(
    name: str, stage: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from accelerate.utils import DeepSpeedPlugin

    _, env = launch_environment(name)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # The one step that needs the deepspeed package (a weak reference transformers keeps for ZeRO-3
    # model init); deepspeed is installed on GPU machines only.
    monkeypatch.setattr(DeepSpeedPlugin, "set_deepspeed_weakref", lambda self: None)
    for recipe in (SFTRecipe(model="hf:x"), GRPORecipe(model="hf:x")):
        plugin = trl_config(recipe, tmp_path).deepspeed_plugin
        assert plugin is not None and plugin.zero_stage == stage
        assert plugin.zero3_init_flag is (stage == 3) and plugin.zero3_save_16bit_model is (stage == 3)
        assert plugin.offload_optimizer_device == plugin.offload_param_device == "none"


def test_fsdp_config_reaches_the_plugin_the_trainer_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    from accelerate.utils import FullyShardedDataParallelPlugin
    from torch.distributed.fsdp import StateDictType

    _, env = launch_environment("fsdp")
    assert env["ACCELERATE_USE_FSDP"] == "true"  # the Trainer's Accelerator builds the plugin from these
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    assert plugin.state_dict_type == StateDictType.FULL_STATE_DICT and plugin.cpu_ram_efficient_loading
    assert plugin.auto_wrap_policy.__name__ == "transformer_auto_wrap_policy"
    assert plugin.activation_checkpointing is False


def test_an_unknown_config_is_named() -> None:
    with pytest.raises(ValueError, match="choose one of ddp, zero2, zero3, fsdp"):
        accelerate_config("zero4")
    result = CliRunner().invoke(app, ["train", "accelerate-config", "zero3"])
    assert result.exit_code == 0 and Path(result.output.strip()) == accelerate_config("zero3")


def test_grpo_generates_with_transformers_unless_the_recipe_asks_for_vllm(tmp_path: Path) -> None:
    default = trl_config(GRPORecipe(model="hf:x"), tmp_path)
    assert default.use_vllm is False
    server = load_recipe(
        "grpo",
        "qwen2_5_vl_3b/grpo_s2h.yaml",
        ["use_vllm=true", "vllm_mode=server", "vllm_server_host=10.0.0.2", "vllm_server_port=8001"],
    )
    args = trl_config(server, tmp_path)
    assert (args.use_vllm, args.vllm_mode, args.vllm_server_host, args.vllm_server_port) == (
        True,
        "server",
        "10.0.0.2",
        8001,
    )
    colocate = load_recipe(
        "grpo",
        "qwen2_5_vl_3b/grpo_s2h.yaml",
        ["use_vllm=true", "vllm_gpu_memory_utilization=0.25", "vllm_tensor_parallel_size=2"],
    )
    args = trl_config(colocate, tmp_path)
    assert (args.use_vllm, args.vllm_mode) == (True, "colocate")
    assert (args.vllm_gpu_memory_utilization, args.vllm_tensor_parallel_size) == (0.25, 2)
    assert args.num_generations == 8 and args.max_completion_length == 256  # the recipe's own values


def test_bad_vllm_options_are_refused() -> None:
    with pytest.raises(ValueError, match="vllm_mode='remote' must be one of colocate, server"):
        GRPORecipe(model="hf:x", vllm_mode="remote")
    with pytest.raises(ValueError, match="vllm_gpu_memory_utilization"):
        GRPORecipe(model="hf:x", vllm_gpu_memory_utilization=1.5)


def fake_trainer(tmp_path: Path, *, fsdp: bool = False, zero_stage: int | None = None, rank: int = 0) -> Any:
    """What `finish` reads of a Trainer after training, with a tiny torch module as the model."""
    from types import SimpleNamespace

    import torch

    plugin = None if zero_stage is None else SimpleNamespace(zero_stage=zero_stage)
    saved: list[str] = []
    return SimpleNamespace(
        args=SimpleNamespace(output_dir=str(tmp_path / "trainer")),
        model=torch.nn.Linear(2, 2),
        accelerator=SimpleNamespace(state=SimpleNamespace(deepspeed_plugin=plugin), unwrap_model=lambda m: m),
        is_fsdp_enabled=fsdp,
        is_world_process_zero=lambda: rank == 0,
        save_model=saved.append,
        saved=saved,
        state=SimpleNamespace(global_step=1),
    )


@pytest.mark.parametrize("rank", [0, 1])
@pytest.mark.parametrize(("fsdp", "zero_stage"), [(True, None), (False, 3)])
def test_sharded_weights_are_saved_by_every_rank_through_the_trainer(
    tmp_path: Path, fsdp: bool, zero_stage: int | None, rank: int
) -> None:
    """Under ZeRO-3 and FSDP no rank holds the whole weights: each joins Trainer.save_model's gather."""
    from types import SimpleNamespace

    from scotoma.train.harness import finish, sharded_weights

    trainer = fake_trainer(tmp_path, fsdp=fsdp, zero_stage=zero_stage, rank=rank)
    assert sharded_weights(trainer)
    written: list[Path] = []
    processor = SimpleNamespace(save_pretrained=written.append)
    logger = SimpleNamespace(losses=[1.0], step_times_s=[0.1], last_logs={})
    result = finish(trainer, None, logger, processor, SFTRecipe(model="hf:x", lora=False), 4, 0)
    assert trainer.saved == [str(tmp_path / "model")]  # on every rank
    assert written == ([tmp_path / "model"] if rank == 0 else [])  # the processor: rank 0 only
    assert result.model_path == (tmp_path / "model" if rank == 0 else None)


@pytest.mark.parametrize(("fsdp", "zero_stage"), [(False, None), (False, 2)])
def test_whole_weights_are_not_sharded(tmp_path: Path, fsdp: bool, zero_stage: int | None) -> None:
    from scotoma.train.harness import sharded_weights

    assert not sharded_weights(fake_trainer(tmp_path, fsdp=fsdp, zero_stage=zero_stage))
