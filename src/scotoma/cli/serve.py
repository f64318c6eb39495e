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
) -> None:
    """Expose any backend as an OpenAI-compatible /v1/chat/completions endpoint."""
    import os

    from scotoma.serve import serve as run_server

    run_server(
        model, host=host, port=port, api_key=api_key or os.environ.get("SCOTOMA_SERVE_API_KEY"), faults=faults
    )
