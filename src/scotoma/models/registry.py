"""`get_model`: the one place a spec string becomes a backend. Heavy SDKs are imported only when used.

A backend loaded from a local folder (hf:<folder>, builtin:<name>) gets its weights' digest in its spec
(scotoma.models.weights), computed once here: every cache key of every role then tells retrained weights
in the same folder from the old ones.
"""

from __future__ import annotations

from typing import Any

from scotoma.models.base import Model
from scotoma.models.spec import ModelSpec
from scotoma.models.weights import weights_identity

KINDS = ("hf", "builtin", "openai", "vllm", "scripted", "scotoma")


def get_model(spec: str, **options: Any) -> Model:
    """Resolve a spec string to a backend.

    Args:
        spec: "hf:<path or hub id>", "builtin:<name>", "openai:<model>@<base_url>", "vllm:<path>",
            "scripted:<text>" or "scotoma:<name>" (an exact world target with a planted blind spot,
            `scotoma.world.scenes.scotomas`); options may follow after "?", e.g.
            "hf:Qwen/Qwen2.5-VL-3B-Instruct?max_pixels=200704".
        **options: the same options as keyword arguments; they win over those in the string.

    Returns:
        The backend; its `spec` is `spec`, with "#<weights digest>" for a local folder of weights.
    """
    parsed = ModelSpec.parse(spec)
    merged = {**parsed.options, **{k: str(v) for k, v in options.items()}}
    if parsed.kind == "scripted":
        from scotoma.models.scripted import ScriptedModel

        max_images = merged.get("max_images")
        return ScriptedModel(parsed.target, spec=spec, max_images=int(max_images) if max_images else None)
    if parsed.kind == "scotoma":
        from scotoma.models.scotoma_target import scotoma_model

        max_images = merged.get("max_images")
        return scotoma_model(parsed.target, spec, int(max_images) if max_images else None)
    if parsed.kind == "hf":
        from scotoma.models.hf import HFModel

        return HFModel(parsed.target, merged, spec=weights_identity(spec))
    if parsed.kind == "builtin":
        from scotoma.models.builtin import DEFAULT_OPTIONS, builtin_path
        from scotoma.models.hf import HFModel

        path = str(builtin_path(parsed.target))
        return HFModel(path, {**DEFAULT_OPTIONS, **merged}, spec=weights_identity(spec))
    if parsed.kind == "openai":
        from scotoma.models.openai_api import OpenAIModel

        return OpenAIModel(parsed.target, merged, spec=spec)
    if parsed.kind == "vllm":
        from scotoma.models.vllm import VLLMModel

        return VLLMModel(parsed.target, merged, spec=spec)
    raise ValueError(
        f"unknown model kind {parsed.kind!r} in spec {spec!r}; known kinds: "
        + ", ".join(f"{kind}:" for kind in KINDS)
    )
