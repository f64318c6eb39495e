"""Fault injection for `scotoma serve --faults "slow=0.2,429=0.2,500=0.1,drop=0.1,seed=0"`.

Each chat-completions request is, independently: delayed (`slow`, by `delay` seconds), then either
answered 429 with Retry-After (`429`), answered 500 (`500`), answered and then cut off (`drop`), or
served normally. 429 and 500 happen before the model sees the request, as a rate limiter or a crashed
worker would; a drop happens after the model answered, the worst case for a client (the work was done
but the answer lost), so a retrying client makes the server see that request twice, never more.

How a drop really closes the socket with no bytes sent: uvicorn (both its h11 and httptools protocols)
marks the response as started before it looks up the status line, and a status outside 100-599 has no
status line, so that send fails with nothing written; the exception we then raise makes uvicorn close
the transport instead of sending its own 500. If a server did write such a status line, the response
would still be cut off before its body, which the client sees as a dropped connection too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

Scope = dict[str, Any]

_KEYS = {"slow": "slow", "delay": "delay", "429": "rate_limit", "500": "server_error", "drop": "drop"}
_KEYS |= {"retry_after": "retry_after", "seed": "seed"}


class ConnectionDropped(Exception):
    """Raised inside the server to make it close a connection without answering (an injected fault)."""


@dataclass(frozen=True)
class FaultConfig:
    """Probabilities and sizes of injected faults.

    Attributes:
        slow: probability a request is delayed before anything else happens.
        delay: seconds a slow request waits.
        rate_limit: probability of a 429 answer with Retry-After (spec key "429").
        server_error: probability of a 500 answer (spec key "500").
        drop: probability the connection is closed without an answer, after the model answered.
        retry_after: seconds sent in Retry-After (rounded up) and retry-after-ms (exact) on a 429.
        seed: seed of the fault draws; None draws from system entropy.
    """

    slow: float = 0.0
    delay: float = 0.2
    rate_limit: float = 0.0
    server_error: float = 0.0
    drop: float = 0.0
    retry_after: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("slow", "rate_limit", "server_error", "drop"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"fault probability {name}={value} must be in [0, 1]")
        if self.rate_limit + self.server_error + self.drop > 1:
            raise ValueError(
                "fault probabilities 429 + 500 + drop must sum to at most 1 (they exclude each other)"
            )
        if self.delay < 0 or self.retry_after < 0:
            raise ValueError("fault delay and retry_after must be >= 0 seconds")


def parse_faults(text: str) -> FaultConfig:
    """Parse e.g. "slow=0.2,429=0.2,500=0.1,drop=0.1,seed=0".

    Keys: slow, delay, 429, 500, drop, retry_after, seed (see FaultConfig).

    Raises:
        ValueError: on an unknown key, a value that is not a number, or an out-of-range probability.
    """
    values: dict[str, Any] = {}
    for item in filter(None, (piece.strip() for piece in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in _KEYS:
            raise ValueError(f"fault {item!r} is not KEY=VALUE with KEY one of {', '.join(_KEYS)}")
        try:
            values[_KEYS[key]] = int(value) if key == "seed" else float(value)
        except ValueError as error:
            raise ValueError(f"fault {key}={value!r} is not a number") from error
    return FaultConfig(**values)


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from logging a traceback for every injected drop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


class FaultInjection:
    """ASGI middleware injecting faults into POST requests to the given paths.

    `counts` records what happened: "requests", "slow", "429", "500", "drop"; pass your own Counter
    to read it (Starlette builds middleware lazily, so the instance itself is out of reach).
    """

    def __init__(
        self,
        app: Any,
        faults: FaultConfig,
        counts: Counter[str] | None = None,
        paths: tuple[str, ...] = ("/v1/chat/completions",),
    ) -> None:
        self.app = app
        self.faults = faults
        self.paths = paths
        self.counts: Counter[str] = Counter() if counts is None else counts
        self._random = random.Random(faults.seed)
        logger = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _QuietDrops) for f in logger.filters):
            logger.addFilter(_QuietDrops())

    def _draw(self) -> tuple[bool, str | None]:
        slow = self._random.random() < self.faults.slow
        u = self._random.random()
        for name, probability in (
            ("429", self.faults.rate_limit),
            ("500", self.faults.server_error),
            ("drop", self.faults.drop),
        ):
            if u < probability:
                return slow, name
            u -= probability
        return slow, None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        slow, fault = self._draw()
        self.counts["requests"] += 1
        if slow:
            self.counts["slow"] += 1
            await asyncio.sleep(self.faults.delay)
        if fault is not None:
            self.counts[fault] += 1
        if fault == "429":
            seconds = self.faults.retry_after
            headers = [
                (b"retry-after", str(math.ceil(seconds)).encode()),
                (b"retry-after-ms", str(round(seconds * 1000)).encode()),
            ]
            await send_error(
                send, 429, "injected fault: rate limited, retry later", "rate_limit_exceeded", headers
            )
        elif fault == "500":
            await send_error(send, 500, "injected fault: internal server error", "server_error")
        elif fault == "drop":
            await self.app(scope, receive, _dropping(send))
        else:
            await self.app(scope, receive, send)


def _dropping(send: Any) -> Any:
    """A `send` that, instead of starting the response, closes the connection without a byte."""

    async def drop(message: dict[str, Any]) -> None:
        if message["type"] != "http.response.start":
            return
        try:
            # Status 999 has no status line in uvicorn: it fails after marking the response started, so
            # nothing is written and the exception below makes uvicorn close the socket (module docstring).
            await send({"type": "http.response.start", "status": 999, "headers": [(b"content-length", b"1")]})
        except Exception as error:
            raise ConnectionDropped("injected fault: connection dropped") from error
        raise ConnectionDropped("injected fault: connection dropped after the status line")

    return drop


async def send_error(
    send: Any, status: int, message: str, code: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"error": {"message": message, "type": code, "code": code}}).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start_headers + (headers or [])})
    await send({"type": "http.response.body", "body": body})
