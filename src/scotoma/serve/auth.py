"""The API key check of `scotoma serve`, as the outermost ASGI middleware.

It runs before anything else, fault injection included, so an unauthorized client can learn nothing
from the server (not even its injected faults). With a key set, every path needs it except /health (for
load balancers and readiness probes); /openapi.json needs it too, since it describes the API. The header
must be `Authorization: Bearer <key>` (the scheme is case-insensitive, as HTTP says); a bare key is refused.
"""

from __future__ import annotations

import hmac
from typing import Any

from scotoma.serve.faults import send_error

OPEN_PATHS = ("/health",)


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None for any other form."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class RequireKey:
    """ASGI middleware answering 401 to every request without the right bearer token."""

    def __init__(self, app: Any, api_key: str) -> None:
        self.app = app
        self.api_key = api_key.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        if token is None or not hmac.compare_digest(token.encode(), self.api_key):
            await send_error(
                send, 401, "missing or wrong API key; send Authorization: Bearer <key>", "invalid_api_key"
            )
            return
        await self.app(scope, receive, send)


__all__ = ["OPEN_PATHS", "RequireKey", "bearer_token"]
