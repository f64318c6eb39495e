"""Which process this is when a job runs as several (torchrun, accelerate launch, DeepSpeed).

Only one process writes a run directory, saves weights or banks; the others ask `process_rank` whether
they are that one. Asking never imports torch: a process that has not imported it runs no process group,
and a job on API models should not pay torch's import to find out.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


def process_group() -> ModuleType | None:
    """`torch.distributed` when a process group runs in this process, else None."""
    if "torch" not in sys.modules:
        return None
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def process_rank() -> int:
    """This process's global rank: the process group's when one runs, else the launcher's RANK variable
    (set before the group starts, e.g. while a run directory is opened), else 0 (a single process)."""
    group = process_group()
    if group is not None:
        return group.get_rank()
    return int(os.environ.get("RANK", "0"))


__all__ = ["process_group", "process_rank"]
