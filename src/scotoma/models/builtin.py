"""`builtin:NAME`: the world models shipped inside the package, served through the `hf` code path.

They live in `scotoma/world_models/shipped/<NAME>/` as ordinary saved checkpoints (config.json, safetensors,
tokenizer, processor). The path is computed from the package location, without importing scotoma.world.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from scotoma.models.base import ModelError

#: hf options every builtin model gets unless the spec says otherwise. The world models are 6.5 MB, so a
#: batch of 64 fits on any machine; the backend's default of 16 is sized for real VLMs. (NLVR1 dev x 6
#: orders took 46.8 s at 64; a probe's reward share of a GRPO step went 22.7% -> 22.1%.)
DEFAULT_OPTIONS = {"batch_size": "64"}

TRAIN_COMMANDS = {
    "answerer": "scotoma world train-answerer",
    "questioner": "scotoma world train-questioner",
}


def builtin_models_root() -> Path:
    """The folder holding the shipped world models (it may not exist before they are trained)."""
    return Path(str(resources.files("scotoma"))) / "world_models" / "shipped"


def available_builtin_models(root: Path | None = None) -> list[str]:
    """Names of the shipped models present: folders under the root that hold a config.json."""
    root = builtin_models_root() if root is None else root
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def builtin_path(name: str) -> Path:
    """The folder of the shipped world model `name`, e.g. "answerer".

    Raises:
        ModelError: the name is unknown or the model has not been trained into the package yet; the
            message lists what is available and the commands that train the shipped models.
    """
    root = builtin_models_root()
    path = root / name
    if name and "/" not in name and name not in (".", "..") and (path / "config.json").is_file():
        return path
    available = available_builtin_models(root)
    how = "; ".join(f"`{command}` writes builtin:{model}" for model, command in TRAIN_COMMANDS.items())
    known = ", ".join(available) if available else "none (no world model has been trained in this install)"
    state = "is not trained yet" if name in TRAIN_COMMANDS else "is not a builtin model"
    raise ModelError(f"builtin:{name} {state}. Available builtin models: {known}. To train them: {how}.")


__all__ = ["DEFAULT_OPTIONS", "available_builtin_models", "builtin_models_root", "builtin_path"]
