"""The shipped `accelerate launch` configs: one node of 8 GPUs with DDP, DeepSpeed ZeRO-2, ZeRO-3 or FSDP.

    accelerate launch --config_file "$(scotoma train accelerate-config zero2)" -m scotoma.cli train dpo ...

Each YAML under `scotoma/train/accelerate/` says in its header when to pick it. They set the launch
(processes, machines, mixed precision, sharding); the recipe still sets everything TRL trains with.
"""

from __future__ import annotations

from pathlib import Path

ACCELERATE_DIR = Path(__file__).with_name("accelerate")
ACCELERATE_CONFIGS = ("ddp", "zero2", "zero3", "fsdp")


def accelerate_config(name: str) -> Path:
    """The path of the shipped config `name` (ddp, zero2, zero3, fsdp)."""
    path = ACCELERATE_DIR / f"{name.removesuffix('.yaml')}.yaml"
    if name.removesuffix(".yaml") not in ACCELERATE_CONFIGS or not path.is_file():
        raise ValueError(
            f"no shipped accelerate config {name!r}; choose one of {', '.join(ACCELERATE_CONFIGS)}"
        )
    return path


__all__ = ["ACCELERATE_CONFIGS", "ACCELERATE_DIR", "accelerate_config"]
