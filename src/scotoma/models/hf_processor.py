"""Processors for the `hf` backend: loading them without torchvision, capping image pixels.

transformers 5.23 has no video processor class when torchvision is missing, so any processor with a
video slot (the Qwen-VL family, SmolVLM) fails to construct, and `AutoProcessor.from_pretrained` of such
a folder fails too (NOTES-offline-stack.md). `load_processor` therefore tries `AutoProcessor` first (it
works where torchvision exists, e.g. on GPU machines) and otherwise rebuilds the processor from
`AutoImageProcessor` + `AutoTokenizer` + an image-only subclass of the family's processor class.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path
from typing import Any

from PIL import Image

from scotoma.models.base import ModelError

# Image processors whose `size` is a pixel budget: shortest_edge = min pixels, longest_edge = max pixels.
PIXEL_BUDGET_IMAGE_PROCESSORS = frozenset({"Qwen2VLImageProcessor", "Qwen2VLImageProcessorPil"})

_IMAGE_ONLY_CLASSES: dict[type, type] = {}


def image_only_class(processor_class: type) -> type:
    """The processor class with its video slot removed, or the class itself when it has none.

    ProcessorMixin reads its sub-processor slots from the `__init__` signature, so a subclass whose
    `__init__` has no `video_processor` parameter is built and saved without one. The subclass keeps the
    family's class name, so a saved folder names the real processor class (loadable by AutoProcessor
    wherever torchvision exists).

    Args:
        processor_class: a transformers processor class, e.g. `Qwen2VLProcessor`.
    """
    if "video_processor" not in inspect.signature(processor_class.__init__).parameters:
        return processor_class
    if processor_class not in _IMAGE_ONLY_CLASSES:

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            processor_class.__init__(
                self, image_processor, tokenizer, None, chat_template=chat_template, **kwargs
            )

        _IMAGE_ONLY_CLASSES[processor_class] = type(
            processor_class.__name__,
            (processor_class,),
            {"__init__": __init__, "__module__": __name__, "__doc__": processor_class.__doc__},
        )
    return _IMAGE_ONLY_CLASSES[processor_class]


def load_processor(source: str, local_files_only: bool) -> Any:
    """Load the processor of a checkpoint folder or hub id, rebuilding it when AutoProcessor cannot.

    Args:
        source: a saved folder or a hub id already in the local cache.
        local_files_only: never touch the network (always true for folders).

    Raises:
        ModelError: neither AutoProcessor nor the rebuild produced a processor with an image processor.
    """
    from transformers import AutoProcessor, ProcessorMixin

    try:
        processor = AutoProcessor.from_pretrained(source, local_files_only=local_files_only)
        if isinstance(processor, ProcessorMixin) and getattr(processor, "image_processor", None) is not None:
            return processor
        first_failure = f"AutoProcessor returned a {type(processor).__name__}, not an image-text processor"
    except Exception as error:  # torchvision's absence surfaces as AttributeError, ImportError or ValueError
        first_failure = f"AutoProcessor failed: {type(error).__name__}: {error}"
    try:
        return rebuild_processor(source, local_files_only)
    except Exception as error:
        raise ModelError(
            f"cannot load the processor of {source}. {first_failure}. Rebuilding it from the image "
            f"processor and tokenizer failed too: {type(error).__name__}: {error}. Check that the folder "
            "holds config.json, preprocessor_config.json / processor_config.json and the tokenizer files; "
            "a hub id must already be in the local Hugging Face cache (nothing is downloaded)"
        ) from error


def rebuild_processor(source: str, local_files_only: bool) -> Any:
    """Build the family's image-only processor from its image processor, tokenizer and saved settings."""
    import transformers
    from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

    config = AutoConfig.from_pretrained(source, local_files_only=local_files_only)
    class_name = PROCESSOR_MAPPING_NAMES.get(config.model_type)
    if class_name is None:
        raise ValueError(f"transformers knows no processor for model type {config.model_type!r}")
    processor_class = image_only_class(getattr(transformers, class_name))
    image_processor = AutoImageProcessor.from_pretrained(source, local_files_only=local_files_only)
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    saved = _saved_processor_settings(source, local_files_only)
    chat_template = saved.pop("chat_template", None) or tokenizer.chat_template
    accepted = inspect.signature(processor_class.__init__).parameters
    extra = {k: v for k, v in saved.items() if k in accepted and k not in ("image_processor", "tokenizer")}
    return processor_class(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=chat_template, **extra
    )


def _saved_processor_settings(source: str, local_files_only: bool) -> dict[str, Any]:
    """processor_config.json plus the processor's chat template (chat_template.jinja or .json), if any."""
    from transformers.utils import cached_file

    def read(name: str) -> str | None:
        path = cached_file(
            source,
            name,
            local_files_only=local_files_only,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
        )
        return Path(path).read_text() if path else None

    settings: dict[str, Any] = json.loads(read("processor_config.json") or "{}")
    template = read("chat_template.jinja")
    if template is None and (legacy := read("chat_template.json")):
        template = json.loads(legacy).get("chat_template")
    if template is not None:
        settings["chat_template"] = template
    return settings


def set_pixel_budget(processor: Any, max_pixels: int) -> None:
    """Make the processor's own resize respect `max_pixels`, for families whose size is a pixel budget.

    The Qwen-VL image processors round sizes to multiples of patch*merge and may round up; capping their
    budget too keeps the image-token count bounded after that rounding. Families with a fixed tile size
    (Idefics3) need no change: their token count per image does not grow with pixels beyond one tile.
    """
    image_processor = processor.image_processor
    names = {cls.__name__ for cls in type(image_processor).__mro__}
    if not names & PIXEL_BUDGET_IMAGE_PROCESSORS:
        return
    from transformers.image_utils import SizeDict

    shortest = image_processor.size.get("shortest_edge") or 0
    image_processor.size = SizeDict(shortest_edge=min(shortest, max_pixels), longest_edge=max_pixels)


def fit_pixels(image: Image.Image, max_pixels: int | None) -> Image.Image:
    """Shrink `image` so width*height <= max_pixels, keeping its aspect ratio; smaller images pass as is.

    Args:
        image: an RGB image.
        max_pixels: the budget, or None for no limit.
    """
    if max_pixels is None or image.width * image.height <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (image.width * image.height))
    width, height = max(1, math.floor(image.width * scale)), max(1, math.floor(image.height * scale))
    # floor on both sides keeps the product within budget; shave one more pixel where float error bites
    while width * height > max_pixels:
        width, height = (width - 1, height) if width >= height else (width, height - 1)
    return image.resize((width, height), Image.Resampling.BICUBIC)


def control_tokens(tokenizer: Any) -> tuple[str, ...]:
    """The tokenizer's special tokens as text (image slots, turn markers, padding), longest first.

    A chat template's text is tokenized with special tokens recognised, so any of these inside a
    question would become the token itself: a literal "<|image_pad|>" an image slot with no image (the
    processor refuses the prompt), a literal "<|im_end|>" the end of the user's turn.
    """
    added = getattr(tokenizer, "added_tokens_decoder", {}).values()
    tokens = {token.content for token in added if token.special} | set(tokenizer.all_special_tokens)
    return tuple(sorted((t for t in tokens if t), key=len, reverse=True))


def drop_control_tokens(text: str, tokens: tuple[str, ...]) -> str:
    """`text` without the control tokens it spells out (see `control_tokens`), so it stays plain text."""
    for token in tokens:
        if token in text:
            text = text.replace(token, "")
    return text
