"""What one request to `scotoma serve` may ask, so that no request can exhaust the server.

Each limit is refused with OpenAI's error body: a body over `max_body_bytes` with 413, everything else
with 400. Images are counted before any is decoded, and their size is read from the header before their
pixels are (a 48 KB PNG can declare 20000 x 20000 pixels); decoding runs off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServeLimits:
    """Per-request limits of `scotoma serve`.

    Attributes:
        max_body_bytes: largest request body (base64 images included), in bytes.
        max_images: most images in one request.
        max_image_pixels: largest image, width x height.
        max_n: most completions per request (`n`).
        max_tokens: largest `max_tokens` / `max_completion_tokens`.
    """

    max_body_bytes: int = 32 * 1024 * 1024
    max_images: int = 16
    max_image_pixels: int = 16_777_216  # 4096 x 4096
    max_n: int = 16
    max_tokens: int = 8192

    def __post_init__(self) -> None:
        small = [name for name, value in vars(self).items() if not isinstance(value, int) or value < 1]
        if small:
            raise ValueError(f"serve limits must be whole numbers of at least 1: {', '.join(small)}")


__all__ = ["ServeLimits"]
