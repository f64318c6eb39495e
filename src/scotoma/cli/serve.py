"""`scotoma serve`: any backend as an OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    model: Annotated[str, typer.Option(help="Backend spec to expose, e.g. builtin:answerer or hf:PATH.")],
    host: Annotated[str, typer.Option(help="Interface to bind; loopback by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    api_key: Annotated[
        str | None, typer.Option(help="Require this bearer token (or set SCOTOMA_SERVE_API_KEY).")
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(
            help="Fault injection for client tests, e.g. 'slow=0.2,429=0.1,500=0.1,drop=0.05,seed=0'."
        ),
    ] = None,
    max_body_bytes: Annotated[
        int | None, typer.Option(min=1, help="Largest request body in bytes, 413 above [default: 32 MiB].")
    ] = None,
    max_images: Annotated[
        int | None, typer.Option(min=1, help="Most images per request [default: 16].")
    ] = None,
    max_image_pixels: Annotated[
        int | None, typer.Option(min=1, help="Largest image, width x height [default: 4096 x 4096].")
    ] = None,
    max_n: Annotated[
        int | None, typer.Option(min=1, help="Most completions per request [default: 16].")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Largest max_tokens [default: 8192].")] = None,
) -> None:
    """Expose any backend as an OpenAI-compatible /v1/chat/completions endpoint.

    With --api-key every path but /health needs `Authorization: Bearer <key>`, /openapi.json included.
    """
    import os

    from scotoma.serve import serve as run_server
    from scotoma.serve.limits import ServeLimits

    given = {
        "max_body_bytes": max_body_bytes,
        "max_images": max_images,
        "max_image_pixels": max_image_pixels,
        "max_n": max_n,
        "max_tokens": max_tokens,
    }
    limits = ServeLimits(**{name: value for name, value in given.items() if value is not None})
    key = api_key if api_key is not None else os.environ.get("SCOTOMA_SERVE_API_KEY")
    run_server(model, host=host, port=port, api_key=key, faults=faults, limits=limits)
