"""Image thumbnails for self-contained HTML pages (probe's summary.html and the report): PNG data URIs,
and a set of images drawn as figures numbered as questions name them ("image 2": 1-based, in order)."""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Sequence
from html import escape

from scotoma.types import ImageError, ImageRef


@functools.lru_cache(maxsize=1024)  # a page shows one image under several rows; shrink it once
def thumbnail_uri(image: ImageRef, side: int) -> str | None:
    """A data: URI of the image shrunk to fit `side` x `side`, or None when it cannot be read."""
    try:
        picture = image.load()
    except ImageError:
        return None
    picture.thumbnail((side, side))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def numbered_thumbnails(images: Sequence[ImageRef], side: int) -> str:
    """The images as figures captioned "image N", in a `thumbs` div; an unreadable image gets a note."""
    figures = []
    for n, image in enumerate(images, start=1):
        uri = thumbnail_uri(image, side)
        if uri is None:
            figures.append(f'<div class="noimg">image {n}: not available ({escape(str(image.uri))})</div>')
        else:
            figures.append(
                f'<figure><img src="{uri}" alt="image {n}"><figcaption>image {n}</figcaption></figure>'
            )
    return f'<div class="thumbs">{"".join(figures)}</div>'


__all__ = ["numbered_thumbnails", "thumbnail_uri"]
