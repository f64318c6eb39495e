"""Recipe files: where the shipped ones live, which stage a file is for, and finding one by name.

Their values are coerced to the recipe's field types by scotoma.overrides, as are "key=value" overrides.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

STAGES = ("sft", "dpo", "grpo")


def recipes_root() -> Path:
    """The folder of the recipes shipped with the package."""
    return Path(str(resources.files("scotoma"))) / "train" / "recipes"


def shipped_recipes() -> list[Path]:
    """Every shipped recipe file, sorted."""
    return sorted(recipes_root().rglob("*.yaml"))


def resolve_recipe_path(path: str | Path) -> Path:
    """`path` itself when it exists, else the shipped recipe of that relative name."""
    given = Path(path)
    if given.is_file():
        return given
    shipped = recipes_root() / given
    if shipped.is_file():
        return shipped
    names = ", ".join(str(p.relative_to(recipes_root())) for p in shipped_recipes())
    raise FileNotFoundError(f"no recipe file {path}; give a YAML path or a shipped recipe: {names}")


def stage_of(path: str | Path) -> str:
    """The stage a recipe file is for, from its name: sft*.yaml, dpo*.yaml or grpo*.yaml."""
    stem = Path(path).stem.split("_")[0]
    if stem not in STAGES:
        raise ValueError(f"recipe file {path} must be named <stage>[_name].yaml with stage in {STAGES}")
    return stem


__all__ = ["STAGES", "recipes_root", "resolve_recipe_path", "shipped_recipes", "stage_of"]
