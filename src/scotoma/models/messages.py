"""The OpenAI chat-completions wire format, shared by the `openai:` client, the `vllm:` backend and `serve`,
and read from TRL's conversational completions, which are messages of the same format (`completion_text`).

Images travel as base64 data URLs, so a request is self-contained: no server ever fetches a path or URL.
Keeping both directions in one module means the client and the server cannot drift apart.
"""

from __future__ import annotations

import base64
import binascii
import io
import time
import uuid
from collections.abc import Sequence
from typing import Any

from PIL import Image, UnidentifiedImageError

from scotoma.types import (
    Completion,
    Conversation,
    GenConfig,
    ImageError,
    ImagePart,
    ImageRef,
    Message,
    Part,
    TextPart,
    cut_at_stop,
)

# Magic numbers of the formats every OpenAI-compatible server accepts; PIL is the fallback for the rest.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}

#: max_tokens a server uses when a request leaves it out (OpenAI's own default is "until done").
DEFAULT_MAX_TOKENS = 512


class MessageFormatError(ValueError):
    """A chat request or response that does not follow the OpenAI chat-completions format."""


def image_mime_type(data: bytes) -> str:
    """The MIME type of encoded image bytes, read from the bytes themselves (not a file name).

    Raises:
        ImageError: when the bytes are not an image PIL can identify.
    """
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    try:
        kind = Image.open(io.BytesIO(data)).format
    except (UnidentifiedImageError, OSError) as error:
        raise ImageError(
            f"image bytes of unknown format ({error}); re-export the image as PNG or JPEG"
        ) from error
    mime = Image.MIME.get(kind or "")
    if mime is None:
        raise ImageError(f"image format {kind} has no MIME type; re-export the image as PNG or JPEG")
    return mime


def image_to_data_url(image: ImageRef) -> str:
    """`data:<mime>;base64,<bytes>` for one image, with the MIME type taken from its bytes."""
    data = image.read_bytes()
    return f"data:{image_mime_type(data)};base64,{base64.b64encode(data).decode('ascii')}"


def image_from_data_url(url: str, max_pixels: int | None = None) -> ImageRef:
    """Decode a base64 data URL into an in-memory ImageRef of at most `max_pixels` pixels (default
    `scotoma.types.max_image_pixels()`).

    Raises:
        ImageError: when the URL is not a base64 data URL or its bytes are not a readable image.
    """
    if not url.startswith("data:"):
        raise ImageError(
            f"image URL {url[:40]!r} is not a data URL; send images inline as data:image/png;base64,... "
            "(this server never fetches images from paths or the network)"
        )
    header, sep, payload = url.partition(",")
    if not sep or not header.endswith(";base64"):
        raise ImageError(
            f"image data URL {header[:40]!r} is not base64-encoded; use data:<mime>;base64,<data>"
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ImageError(f"image data URL holds invalid base64 ({error})") from error
    return ImageRef.from_bytes(data, max_pixels=max_pixels)


def _part_to_openai(part: Part, data_urls: dict[str, str]) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    sha = part.image.sha256
    if sha not in data_urls:  # one image shown in many prompts is encoded once per call
        data_urls[sha] = image_to_data_url(part.image)
    return {"type": "image_url", "image_url": {"url": data_urls[sha]}}


def to_openai_messages(
    conversation: Conversation, data_urls: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Conversation -> OpenAI `messages`, images inline as data URLs, in their place among the text.

    Args:
        conversation: the conversation to send.
        data_urls: optional cache sha256 -> data URL shared across calls, so repeated images are encoded once.
    """
    data_urls = {} if data_urls is None else data_urls
    messages = []
    for message in conversation.messages:
        if all(isinstance(part, TextPart) for part in message.content):
            # Plain strings are what every server accepts for text-only turns (some reject lists for
            # system and assistant turns).
            messages.append({"role": message.role, "content": message.text})
        else:
            content = [_part_to_openai(part, data_urls) for part in message.content]
            messages.append({"role": message.role, "content": content})
    return messages


def _part_from_openai(item: Any, where: str, max_pixels: int | None) -> Part:
    if not isinstance(item, dict):
        raise MessageFormatError(f"{where} must be an object with a 'type', got {type(item).__name__}")
    kind = item.get("type")
    if kind == "text":
        return TextPart(str(item.get("text", "")))
    if kind == "image_url":
        image_url = item.get("image_url")
        url = image_url.get("url") if isinstance(image_url, dict) else image_url
        if not isinstance(url, str):
            raise MessageFormatError(f"{where} has no image_url.url string")
        try:
            return ImagePart(image_from_data_url(url, max_pixels))
        except ImageError as error:
            raise ImageError(f"{where}: {error}") from error
    raise MessageFormatError(f"{where} has type {kind!r}; only 'text' and 'image_url' are supported")


def from_openai_messages(messages: Sequence[Any], max_image_pixels: int | None = None) -> Conversation:
    """OpenAI `messages` -> Conversation, decoding data-URL images into in-memory ImageRefs.

    Args:
        messages: the request's `messages`.
        max_image_pixels: the largest image accepted (default `scotoma.types.max_image_pixels()`).

    Raises:
        MessageFormatError: on a malformed message (unknown role or part type, missing content).
        ImageError: when an image is not a base64 data URL of a readable image.
    """
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        raise MessageFormatError("'messages' must be a non-empty list of {role, content} objects")
    out = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise MessageFormatError(f"{where} must be an object with 'role' and 'content'")
        role = _ROLES.get(message.get("role"))  # type: ignore[arg-type]
        if role is None:
            raise MessageFormatError(
                f"{where} has role {message.get('role')!r}; roles: system, developer, user, assistant"
            )
        content = message.get("content")
        if content is None:
            parts: tuple[Part, ...] = ()
        elif isinstance(content, str):
            parts = (TextPart(content),)
        elif isinstance(content, list):
            parts = tuple(
                _part_from_openai(item, f"{where}.content[{i}]", max_image_pixels)
                for i, item in enumerate(content)
            )
        else:
            raise MessageFormatError(f"{where}.content must be a string or a list of parts")
        out.append(Message(role, parts))  # type: ignore[arg-type]
    return Conversation(tuple(out))


def completion_text(completion: str | Sequence[dict[str, Any]]) -> str:
    """The text of a completion as TRL hands it to reward functions: the string itself, or the joined text
    parts of a conversational completion (chat messages in this format, e.g. `[{"role": "assistant",
    "content": "..."}]`)."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(block.get("text") or "" for block in content if block.get("type") == "text")
    return "".join(parts)


def chat_request(
    model: str,
    conversation: Conversation,
    config: GenConfig,
    n: int | None = None,
    data_urls: dict[str, str] | None = None,
) -> dict:
    """The JSON body of one chat-completions request.

    Args:
        model: the model name the server knows.
        conversation: the prompt.
        config: generation settings; max_new_tokens is sent as max_tokens.
        n: completions to ask for, when not `config.n` (e.g. topping up a server that returned fewer).
        data_urls: optional sha256 -> data URL cache, see `to_openai_messages`.
    """
    body: dict[str, Any] = {
        "model": model,
        "messages": to_openai_messages(conversation, data_urls),
        "max_tokens": config.max_new_tokens,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "n": config.n if n is None else n,
        "seed": config.seed,
    }
    if config.stop:
        body["stop"] = list(config.stop)
    return body


def gen_config_from_request(body: dict[str, Any]) -> GenConfig:
    """GenConfig from a chat-completions request body; OpenAI's defaults where a field is missing.

    Raises:
        ValueError: when a field has the wrong type or an invalid value.
    """
    stop = body.get("stop")
    strings = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else None
    if stop is not None and (strings is None or not all(isinstance(s, str) for s in strings)):
        raise ValueError(
            f"invalid generation settings: 'stop' must be a string or a list of strings, got {stop!r}"
        )
    stops = () if stop is None else (stop,) if isinstance(stop, str) else tuple(stop)
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    temperature = body.get("temperature")
    top_p = body.get("top_p")
    seed = body.get("seed")
    try:
        return GenConfig(
            max_new_tokens=int(max_tokens),
            temperature=1.0 if temperature is None else float(temperature),
            top_p=1.0 if top_p is None else float(top_p),
            n=int(body.get("n") or 1),
            seed=0 if seed is None else int(seed),
            stop=tuple(str(s) for s in stops),
        )
    except (TypeError, ValueError) as error:
        raise ValueError(f"invalid generation settings: {error}") from error


def chat_response(model: str, completions: Sequence[Completion]) -> dict[str, Any]:
    """The JSON body answering one request whose n completions are `completions` (none of them errors)."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": index,
                "message": {"role": "assistant", "content": completion.text},
                "finish_reason": completion.finish_reason,
            }
            for index, completion in enumerate(completions)
        ],
        "usage": {
            "prompt_tokens": completions[0].prompt_tokens if completions else 0,
            "completion_tokens": sum(c.completion_tokens for c in completions),
            "total_tokens": (completions[0].prompt_tokens if completions else 0)
            + sum(c.completion_tokens for c in completions),
        },
    }


def completions_from_response(
    body: Any, stop: Sequence[str] = (), latency_s: float = 0.0
) -> list[Completion]:
    """The completions in a chat-completions response, in choice order.

    Usage covers the whole request: every completion gets the prompt's token count, and the generated
    tokens are split evenly over the choices (servers do not report them per choice). Stop strings are
    cut again here because some servers ignore `stop`; "content_filter" and unknown finish reasons
    become errors, so they are never cached as answers.

    Raises:
        MessageFormatError: when the body is not a chat-completions response.
    """
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
        raise MessageFormatError("response has no 'choices'; is this an OpenAI-compatible server?")
    if not all(isinstance(choice, dict) for choice in body["choices"]):
        raise MessageFormatError("response 'choices' must be objects")
    choices = sorted(body["choices"], key=lambda choice: choice.get("index") or 0)
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    generated = int(usage.get("completion_tokens") or 0)
    count = max(len(choices), 1)
    out = []
    for index, choice in enumerate(choices):
        message = choice.get("message")
        if not isinstance(message, dict):
            raise MessageFormatError(f"response choice {index} has no 'message' object")
        content = message.get("content") or ""
        if isinstance(content, list):  # a few servers answer with content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        text, stopped = cut_at_stop(str(content), stop)
        reason = choice.get("finish_reason")
        if stopped or reason in (None, "stop", "eos", "tool_calls", "function_call"):
            finish, error = "stop", None
        elif reason == "length":
            finish, error = "length", None
        else:
            finish, error = "error", f"the server ended the completion with finish_reason {reason!r}"
        out.append(
            Completion(
                text=text if finish != "error" else "",
                prompt_tokens=prompt_tokens,
                completion_tokens=generated // count + (1 if index < generated % count else 0),
                latency_s=latency_s / count,
                finish_reason=finish,  # type: ignore[arg-type]
                error=error,
            )
        )
    return out
