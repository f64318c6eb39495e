"""The one protocol every backend implements, and the errors backends raise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from scotoma.errors import ScotomaError
from scotoma.types import Completion, Conversation, GenConfig


class ModelError(ScotomaError, RuntimeError):
    """A backend could not serve a request; the message says what to do."""


class TooManyImagesError(ModelError):
    """A prompt carries more images than the model accepts."""


@runtime_checkable
class Model(Protocol):
    """A VLM behind `generate`.

    Attributes:
        spec: the spec string that `get_model` resolved; part of every cache key.
        max_images: most images one prompt may carry, or None when the backend sets no limit.
    """

    spec: str
    max_images: int | None

    def generate(self, conversations: Sequence[Conversation], config: GenConfig) -> list[Completion]:
        """Answer every conversation; with `config.n` > 1 returns n completions each, conversation-major."""
        ...


def check_image_count(model: Model, conversations: Sequence[Conversation]) -> None:
    """Fail before any work when a prompt has more images than the model allows."""
    if model.max_images is None:
        return
    for index, conversation in enumerate(conversations):
        count = len(conversation.images)
        if count > model.max_images:
            raise TooManyImagesError(
                f"conversation {index} has {count} images but {model.spec} accepts at most "
                f"{model.max_images} per prompt; drop images or raise the model's max_images option"
            )
