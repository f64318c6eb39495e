"""Encode each distinct image of a batch once, for the `hf` backend.

Multi-image work repeats images all the time: the six orders of an NLVR1 example show the same three
boxes, a probe asks k questions (times the GRPO group) about one image set, a bench run's option shuffles
repeat every image. `generate` would run the vision tower on every copy; here the distinct images (by
content hash) go through `model.get_image_features` once, and each prompt gets its images' features in
its own order through transformers' `mm_encoder_outputs` (the pre-computed encoder output that
`generate` accepts in place of pixels). The vision tower sees each image alone in both paths (no
family here mixes images inside the encoder), so the features are the same up to float rounding. The
image processor still prepares every copy for the text expansion and once more for each distinct image;
that PIL work is cheap next to the vision tower (1.40x net, benchmarks/bench_throughput.py).

Every per-image field of the encoder's output is regrouped per prompt, so families with more than one
(Qwen3-VL's deepstack features, one list per layer) work the same way. Models whose `forward` takes no
`mm_encoder_outputs` (older architectures) keep the ordinary path, and so does sampling several
completions per prompt: `generate` then repeats each prompt's encoded images itself, and it repeats only
the pooled features.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

#: Processor outputs that only the vision tower reads; once features are given, generate must not get them.
PIXEL_KEYS = ("pixel_values", "pixel_attention_mask")


def supports_precomputed_features(model: Any) -> bool:
    """Whether the model's forward accepts `mm_encoder_outputs` and it has `get_image_features`."""
    return "mm_encoder_outputs" in inspect.signature(model.forward).parameters and callable(
        getattr(model, "get_image_features", None)
    )


def distinct_image_features(
    model: Any, processor: Any, images: Sequence[Sequence[Any]], keys: Sequence[Sequence[str]], dtype: Any
) -> Any | None:
    """`mm_encoder_outputs` for a batch whose prompts share images, or None when no image repeats.

    Args:
        model: a transformers image-text-to-text model (see `supports_precomputed_features`).
        processor: its processor; its image processor prepares the distinct images.
        images: per prompt, its PIL images in prompt order (already fitted to the pixel budget).
        keys: per prompt, the content hash of each image (same shape as `images`).
        dtype: the model's floating dtype for the pixel values.

    Returns:
        {"image": <the encoder's output class>(pooler_output=[features of prompt 0, prompt 1, ...], ...)}
        where each entry is the prompt's images' features concatenated in order, or None.
    """
    import torch

    slot: dict[str, int] = {}
    distinct = []
    for row_images, row_keys in zip(images, keys, strict=True):
        for image, key in zip(row_images, row_keys, strict=True):
            if key not in slot:
                slot[key] = len(distinct)
                distinct.append(image)
    if len(distinct) == sum(map(len, keys)):
        return None  # nothing repeats: the ordinary path costs the same
    device = next(model.parameters()).device
    # one image per "prompt" so that every family's encoder returns one feature block per image
    prepared = processor.image_processor(images=[[image] for image in distinct], return_tensors="pt")
    wanted = inspect.signature(model.get_image_features).parameters
    inputs = {name: value.to(device) for name, value in prepared.items() if name in wanted}
    inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
    with torch.inference_mode():
        encoded = model.get_image_features(**inputs, return_dict=True)
    if len(encoded.pooler_output) != len(distinct):
        raise RuntimeError(
            f"{type(model).__name__}.get_image_features gave {len(encoded.pooler_output)} feature blocks "
            f"for {len(distinct)} images; set the hf option share_images=false for this model"
        )
    rows = [[slot[key] for key in row_keys] for row_keys in keys]
    fields = {name: _per_prompt(value, rows, len(distinct)) for name, value in encoded.items()}
    return {"image": type(encoded)(**{k: v for k, v in fields.items() if v is not None})}


def _per_prompt(value: Any, rows: list[list[int]], distinct: int) -> Any:
    """A per-image field (a sequence of one tensor per image, or a list of such) regrouped per prompt.

    Fields of another shape (the encoder's last hidden state) are not read by the language model: None.
    """
    import torch

    if isinstance(value, list | tuple) and len(value) == distinct and all(torch.is_tensor(v) for v in value):
        empty = value[0][:0]
        return [torch.cat([value[i] for i in row]) if row else empty for row in rows]
    if isinstance(value, list | tuple) and value and all(isinstance(v, list | tuple) for v in value):
        return [_per_prompt(v, rows, distinct) for v in value]
    return None


__all__ = ["PIXEL_KEYS", "distinct_image_features", "supports_precomputed_features"]
