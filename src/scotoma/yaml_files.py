"""Reading a YAML mapping of settings (probe configs, training recipes) with errors a user can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def read_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """The mapping in a YAML file; an empty file is an empty mapping.

    Args:
        path: the file.
        what: what its keys are, for the error message (e.g. "probe settings").

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: the file is not valid YAML (with the line and column) or not a mapping.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such YAML file: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "cannot be parsed"
        raise ValueError(f"{path} is not valid YAML{where}: {problem}; fix the file") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must be a YAML mapping of {what}, not {type(data).__name__}")
    return data


__all__ = ["read_yaml_mapping"]
