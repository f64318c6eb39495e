"""Checkpoints of a world-model training run: `<out>/checkpoint/`, replaced atomically.

A checkpoint holds the model's and the optimiser's state, the scheduler, the torch RNG and the counters
(step, samples seen, training seconds). It is written into `checkpoint.tmp/` and then swapped in with
renames, so a run killed at any moment leaves either the old or the new checkpoint, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

CHECKPOINT, PARTIAL, PREVIOUS = "checkpoint", "checkpoint.tmp", "checkpoint.old"


def has_checkpoint(out: Path) -> bool:
    """Whether `out` holds a complete checkpoint (or the previous one, if a swap was interrupted)."""
    return any((out / name / "state.json").is_file() for name in (CHECKPOINT, PREVIOUS))


def save_checkpoint(out: Path, model: Any, optimizer: Any, scheduler: Any, counters: dict[str, Any]) -> Path:
    """Write the training state into `out/checkpoint/` atomically; returns its folder."""
    import torch

    partial, final, previous = out / PARTIAL, out / CHECKPOINT, out / PREVIOUS
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    torch.save(model.state_dict(), partial / "model.pt")
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": torch.get_rng_state(),
        },
        partial / "trainer.pt",
    )
    # state.json last: its presence marks a complete checkpoint
    (partial / "state.json").write_text(json.dumps(counters, indent=1))
    shutil.rmtree(previous, ignore_errors=True)
    if final.exists():
        os.replace(final, previous)
    os.replace(partial, final)
    shutil.rmtree(previous, ignore_errors=True)
    return final


def _folder(out: Path) -> Path:
    """The complete checkpoint folder of `out` (the previous one if a swap was interrupted)."""
    return out / CHECKPOINT if (out / CHECKPOINT / "state.json").is_file() else out / PREVIOUS


def weights_source(source: str) -> Path:
    """The folder `init_from` names: `builtin:NAME` (a shipped model), a run folder or a saved model folder.

    Raises:
        FileNotFoundError: the folder holds neither a training checkpoint nor a saved model.
    """
    from scotoma.models.builtin import builtin_path

    folder = builtin_path(source.removeprefix("builtin:")) if source.startswith("builtin:") else Path(source)
    if has_checkpoint(folder) or (folder / "model.safetensors").is_file():
        return folder
    raise FileNotFoundError(
        f"{folder} holds no training checkpoint ({CHECKPOINT}/state.json) and no saved model "
        "(model.safetensors); give a run folder of scotoma world train-answerer or train-questioner, its "
        "model/ folder, or builtin:NAME"
    )


def load_weights(source: Path, trainee: Any) -> None:
    """Load only the weights of `source` into `trainee` (to continue training under a new plan).

    A run folder's checkpoint restores the model and its auxiliary vision head; a saved model folder (what
    ships as builtin:NAME, the only thing that outlives a working session's run folders) restores the
    model, and the vision head keeps its fresh weights: it is not shipped.
    """
    import torch

    if has_checkpoint(source):
        state = torch.load(_folder(source) / "model.pt", map_location="cpu", weights_only=True)
        trainee.load_state_dict(state)
        return
    from safetensors.torch import load_file

    try:
        trainee["model"].load_state_dict(load_file(source / "model.safetensors"))
    except RuntimeError as error:
        raise ValueError(
            f"the weights in {source} do not fit this model (were they trained with other --text-layers?): "
            f"{str(error).splitlines()[0]}"
        ) from None


def load_checkpoint(out: Path, model: Any, optimizer: Any, scheduler: Any) -> dict[str, Any]:
    """Restore model, optimiser, scheduler and RNG from `out`'s checkpoint; returns the counters."""
    import torch

    folder = _folder(out)
    model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
    trainer = torch.load(folder / "trainer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(trainer["optimizer"])
    scheduler.load_state_dict(trainer["scheduler"])
    torch.set_rng_state(trainer["rng"])
    return json.loads((folder / "state.json").read_text())


def remove_checkpoint(out: Path) -> None:
    """Delete every checkpoint folder of `out` (for a forced restart)."""
    for name in (CHECKPOINT, PARTIAL, PREVIOUS):
        shutil.rmtree(out / name, ignore_errors=True)


__all__ = ["has_checkpoint", "load_checkpoint", "load_weights", "remove_checkpoint", "save_checkpoint"]
