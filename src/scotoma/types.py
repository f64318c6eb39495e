"""The data model every job shares: images by content hash, conversations, generation settings, completions.

Logs carry `ImageRef.to_dict()` (hash, uri, size), never pixels: a record stays small and an image is
identified by what it is, not where it happens to lie.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

Role = Literal["system", "user", "assistant"]


class ImageError(ValueError):
    """An image that cannot be used: missing, unreadable, corrupt or not an image at all."""


DEFAULT_MAX_IMAGE_PIXELS = 64_000_000  # 8000 x 8000: past any VLM's input size, far below a bomb


def max_image_pixels() -> int:
    """The largest image, in pixels, that scotoma decodes: $SCOTOMA_MAX_IMAGE_PIXELS or 64 million.

    A 48 KB PNG can declare 20000 x 20000 pixels (1.2 GB decoded); the size is read from the header and
    checked before any pixel is decoded.
    """
    value = os.environ.get("SCOTOMA_MAX_IMAGE_PIXELS", "")
    try:
        limit = int(value) if value else DEFAULT_MAX_IMAGE_PIXELS
    except ValueError:
        raise ImageError(f"SCOTOMA_MAX_IMAGE_PIXELS={value!r} is not a whole number of pixels") from None
    if limit < 1:
        raise ImageError(f"SCOTOMA_MAX_IMAGE_PIXELS={value!r} must be at least 1")
    return limit


def _too_large(where: str, width: int, height: int, limit: int) -> ImageError:
    return ImageError(
        f"{where} is {width}x{height} = {width * height / 1e6:.1f} megapixels, above the limit of "
        f"{limit / 1e6:g}; downscale it, or raise SCOTOMA_MAX_IMAGE_PIXELS"
    )


def _decode(data: bytes, where: str, limit: int | None = None) -> Image.Image:
    """Open and decode image bytes, refusing images over `limit` pixels (default `max_image_pixels()`)."""
    limit = max_image_pixels() if limit is None else limit
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        if image.width * image.height > limit:
            raise _too_large(where, image.width, image.height, limit)
        image.load()  # PIL is lazy; a truncated file only fails here
    except Image.DecompressionBombError as error:  # PIL's own ceiling, above ours unless raised
        raise ImageError(
            f"{where} is too large to decode safely ({error}); downscale it below {limit / 1e6:g} megapixels"
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ImageError(
            f"{where} is not a readable image ({error}); check the file or re-export it as PNG/JPEG"
        ) from error
    return image


@dataclass(frozen=True)
class ImageRef:
    """One image, identified by the sha256 of its encoded bytes.

    Attributes:
        sha256: hex digest of the encoded bytes; the identity used by caches and logs.
        uri: where the bytes came from (a path or URI), or None for images made in memory.
        width: width in pixels.
        height: height in pixels.
        data: the encoded bytes, kept in memory for images that were never written to disk; not logged.
    """

    sha256: str
    uri: str | None
    width: int
    height: int
    data: bytes | None = field(default=None, repr=False, compare=False, hash=False)

    @classmethod
    def from_bytes(cls, data: bytes, uri: str | None = None, max_pixels: int | None = None) -> ImageRef:
        """Hash and validate encoded image bytes (PNG, JPEG, ...).

        Raises:
            ImageError: not an image, or over `max_pixels` pixels (default `max_image_pixels()`).
        """
        image = _decode(data, uri or "image bytes", max_pixels)
        return cls(hashlib.sha256(data).hexdigest(), uri, image.width, image.height, data)

    @classmethod
    def from_path(cls, path: str | Path, keep_bytes: bool = False) -> ImageRef:
        """Hash and validate an image file; raises ImageError naming the file when it is unusable."""
        path = Path(path)
        if not path.is_file():
            raise ImageError(f"image file not found: {path}")
        ref = cls.from_bytes(path.read_bytes(), str(path))
        return ref if keep_bytes else cls(ref.sha256, ref.uri, ref.width, ref.height)

    @classmethod
    def from_pil(cls, image: Image.Image, uri: str | None = None) -> ImageRef:
        """Encode a PIL image as PNG and keep it in memory."""
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return cls.from_bytes(buffer.getvalue(), uri)

    def read_bytes(self) -> bytes:
        """The encoded bytes, from memory or from `uri`; checked against the hash."""
        if self.data is not None:
            return self.data
        if self.uri is None:
            raise ImageError(f"image {self.sha256[:12]} has neither bytes in memory nor a uri")
        path = Path(self.uri.removeprefix("file://"))
        if not path.is_file():
            raise ImageError(f"image file not found: {path} (sha256 {self.sha256[:12]})")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise ImageError(f"image file changed since it was hashed: {path}")
        return data

    def load(self) -> Image.Image:
        """Decode to an RGB PIL image."""
        return _decode(self.read_bytes(), self.uri or f"image {self.sha256[:12]}").convert("RGB")

    def to_dict(self) -> dict[str, Any]:
        """The logged form: hash, uri and size, no pixels."""
        return {"sha256": self.sha256, "uri": self.uri, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class TextPart:
    """A run of text inside a message."""

    text: str


@dataclass(frozen=True)
class ImagePart:
    """An image at its place inside a message."""

    image: ImageRef


Part = TextPart | ImagePart


@dataclass(frozen=True)
class Message:
    """One chat turn; `content` keeps text and images in order."""

    role: Role
    content: tuple[Part, ...]

    @property
    def text(self) -> str:
        """The text parts joined, images left out."""
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


def _parts(items: Iterable[str | ImageRef | Part]) -> tuple[Part, ...]:
    parts: list[Part] = []
    for item in items:
        if isinstance(item, str):
            parts.append(TextPart(item))
        elif isinstance(item, ImageRef):
            parts.append(ImagePart(item))
        elif isinstance(item, TextPart | ImagePart):
            parts.append(item)
        else:
            raise TypeError(f"a message part must be str, ImageRef, TextPart or ImagePart, not {type(item)}")
    return tuple(parts)


@dataclass(frozen=True)
class Conversation:
    """Ordered messages; images may sit anywhere, e.g. "Image1: <img> Image2: <img> question"."""

    messages: tuple[Message, ...]

    @classmethod
    def user(cls, *items: str | ImageRef | Part, system: str | None = None) -> Conversation:
        """A single user turn built from strings and images in order, with an optional system prompt."""
        messages = [Message("system", (TextPart(system),))] if system else []
        messages.append(Message("user", _parts(items)))
        return cls(tuple(messages))

    def then(self, role: Role, *items: str | ImageRef | Part) -> Conversation:
        """A copy with one more message appended."""
        return Conversation((*self.messages, Message(role, _parts(items))))

    @property
    def images(self) -> list[ImageRef]:
        """Every image in order of appearance."""
        return [p.image for m in self.messages for p in m.content if isinstance(p, ImagePart)]

    def to_dict(self) -> dict[str, Any]:
        """JSON form with images as hashes; stable, so it can be hashed for the cache."""
        return {
            "messages": [
                {
                    "role": m.role,
                    "content": [
                        {"type": "text", "text": p.text}
                        if isinstance(p, TextPart)
                        else {"type": "image", "image": p.image.to_dict()}
                        for p in m.content
                    ],
                }
                for m in self.messages
            ]
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        """Inverse of `to_dict`; images come back as references to their uri (bytes are not logged)."""
        messages = []
        for m in data["messages"]:
            parts: list[Part] = []
            for p in m["content"]:
                if p["type"] == "text":
                    parts.append(TextPart(p["text"]))
                else:
                    i = p["image"]
                    parts.append(ImagePart(ImageRef(i["sha256"], i["uri"], i["width"], i["height"])))
            messages.append(Message(m["role"], tuple(parts)))
        return cls(tuple(messages))


@dataclass(frozen=True)
class GenConfig:
    """How to generate.

    Attributes:
        max_new_tokens: upper bound on generated tokens per completion.
        temperature: 0 means greedy decoding.
        top_p: nucleus sampling mass (ignored when greedy).
        n: completions per conversation; `generate` returns them conversation-major.
        seed: sampling seed; part of the cache key so a seeded re-run is answered from the cache.
        stop: strings that end a completion (the stop string itself is cut off).
    """

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    seed: int = 0
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        object.__setattr__(self, "stop", tuple(self.stop))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stop": list(self.stop)}


FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class Completion:
    """One generated answer.

    Attributes:
        text: the generated text (empty on error).
        prompt_tokens: tokens in the prompt, images included, as the backend counts them.
        completion_tokens: tokens generated.
        latency_s: wall time of the call that produced it, divided evenly over a batch.
        finish_reason: "stop" (end of sequence or stop string), "length" (hit max_new_tokens) or "error".
        error: what went wrong when finish_reason is "error".
        cached: True when answered from the response cache.
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    finish_reason: FinishReason = "stop"
    error: str | None = None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Completion:
        return cls(**data)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` at the first stop string; return the text and whether a stop string was found."""
    cuts = [text.index(s) for s in stop if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


# How a sample's images are shown to a model: "labelled" ("Image1: <img>\nImage2: <img>\n<text>") or
# "bare" ("<img><img><text>", the layout the shipped world models are trained on).
LAYOUTS = ("labelled", "bare")


def check_layout(layout: str) -> str:
    """Return `layout` if known, else raise with the choices."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown prompt layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    return layout


def user_turn(images: Sequence[ImageRef], text: str, layout: str = "labelled") -> Conversation:
    """One user turn: the images in order (labelled "ImageK: " or bare), then `text`."""
    check_layout(layout)
    parts: list[str | ImageRef] = []
    for k, image in enumerate(images, start=1):
        parts += [f"Image{k}: ", image, "\n"] if layout == "labelled" else [image]
    parts.append(text)
    return Conversation.user(*parts)
