"""Settings from text: "key=value" overrides and YAML values, coerced to a dataclass config's field types.

Every job's config takes them the same way (training recipes, probe, loop, synth): "learning_rate=1e-5" (a
string to YAML 1.1) becomes a float, "lora_target_modules=q_proj,v_proj" a list, "reward_weights=none"
None. Unknown names fail with the closest known ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any

#: Names other trainers and papers use for a field, which difflib cannot guess; offered for any config
#: that has the field.
ALIASES = {
    "lr": "learning_rate",
    "epochs": "num_train_epochs",
    "batch_size": "per_device_train_batch_size",
    "bs": "per_device_train_batch_size",
    "lora_r": "lora_rank",
    "r": "lora_rank",
}


def override_values(cls: type, overrides: typing.Sequence[str]) -> dict[str, Any]:
    """Field values of the dataclass `cls` from CLI-style "key=value" strings, coerced to the field types.

    Raises:
        ValueError: an item is not key=value, names no field of `cls`, or its value does not fit.
    """
    changes = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(
                f"override {item!r} is not key=value, e.g. {dataclasses.fields(cls)[0].name}=..."
            )
        changes[key.strip()] = coerce_field(cls, key.strip(), value.strip(), "override")
    return changes


def coerce_field(cls: type, key: str, value: Any, where: str) -> Any:
    """`value` (from YAML or an override string) as the type of field `key` of the dataclass `cls`.

    Raises:
        ValueError: `cls` has no such field (the message names the closest ones), or the value does not fit.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    if key not in names:
        close = [ALIASES[key]] if ALIASES.get(key) in names else difflib.get_close_matches(key, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known fields: {', '.join(names)}"
        raise ValueError(f"{where}: {cls.__name__} has no field {key!r}{hint}")
    kind = hints[key]
    optional = type(None) in typing.get_args(kind)
    if optional:
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    try:
        return _as(kind, value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {key}={value!r} is not a valid {_type_name(hints[key])}") from None


def _as(kind: Any, value: Any) -> Any:
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        if isinstance(value, str):
            value = [part.strip() for part in value.strip("[]").split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            raise TypeError(value)
        return [_as(item, part) for part in value]
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind is str:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise TypeError(value)
        return str(value)
    raise TypeError(f"unsupported recipe field type {kind}")


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", None) or str(kind).replace("typing.", "")


__all__ = ["ALIASES", "coerce_field", "override_values"]
