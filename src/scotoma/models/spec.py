"""Spec strings: "kind:target?key=value&key=value", the only way names become backends."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from scotoma.credentials import HOW, find_credential


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec string.

    Attributes:
        kind: the backend ("hf", "openai", "vllm", "builtin", "scripted").
        target: what the backend loads (a path, hub id, "model@base_url", a builtin name, canned text).
        options: backend options given after "?" in the string, as strings (e.g. max_pixels=200704).
    """

    kind: str
    target: str
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str) -> ModelSpec:
        kind, sep, rest = spec.partition(":")
        if not sep or not kind:
            raise ValueError(
                f"model spec {spec!r} has no kind; write KIND:TARGET, e.g. hf:Qwen/Qwen2.5-VL-3B-Instruct, "
                "openai:gpt-4o@https://api.openai.com/v1, builtin:answerer, scripted:yes"
            )
        credential = find_credential(spec)
        if credential is not None:
            raise ValueError(f"model spec has a secret ({credential}); {HOW}")
        target, _, query = rest.partition("?")
        return cls(kind, target, dict(parse_qsl(query, keep_blank_values=True)))


def option(options: dict[str, str], name: str, default, cast=str):
    """Read one option, cast, with an error naming the option when the value is wrong."""
    if name not in options:
        return default
    try:
        return cast(options[name])
    except ValueError as error:
        raise ValueError(f"model option {name}={options[name]!r} is not a valid {cast.__name__}") from error
