"""`scotoma serve`: any backend as an OpenAI-compatible `/v1/chat/completions` and `/v1/models`.

Requests arriving within a few milliseconds of each other with the same generation settings are
answered by one `generate` call, because hf backends answer a batch far faster than its prompts one by
one. `generate` runs in a worker thread, one call at a time (backends are not thread-safe). Errors use
OpenAI's shape, {"error": {"message", "type", "code"}}, so OpenAI clients show the message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import logging
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from scotoma.models.base import Model, TooManyImagesError, check_image_count
from scotoma.models.messages import (
    MessageFormatError,
    chat_response,
    from_openai_messages,
    gen_config_from_request,
)
from scotoma.serve.auth import RequireKey
from scotoma.serve.faults import FaultConfig, FaultInjection, parse_faults
from scotoma.serve.limits import ServeLimits
from scotoma.types import Completion, Conversation, GenConfig, ImageError

log = logging.getLogger(__name__)


class APIError(Exception):
    """An error answered to the client with an HTTP status and OpenAI's error body."""

    def __init__(self, status: int, message: str, code: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class MicroBatcher:
    """Gathers requests arriving within `window_s` into one `generate` call per generation config.

    Args:
        model: the backend; its `generate` runs in a worker thread, one call at a time.
        window_s: how long the first request of a batch waits for company.
        max_batch: most conversations in one `generate` call.
    """

    def __init__(self, model: Model, window_s: float = 0.005, max_batch: int = 32) -> None:
        self.model = model
        self.window_s = window_s
        self.max_batch = max_batch
        # Sizes of the most recent generate calls, for tests and tuning (bounded: servers run for days).
        self.batch_sizes: deque[int] = deque(maxlen=10_000)
        self._queue: asyncio.Queue[tuple[Conversation, GenConfig, asyncio.Future]] | None = None
        self._worker: asyncio.Task | None = None

    async def submit(self, conversation: Conversation, config: GenConfig) -> list[Completion]:
        """The `config.n` completions for one conversation, answered as part of a batch."""
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done() or self._worker.get_loop() is not loop:
            # Created on first use inside the serving loop: the app may be built outside any loop, and a
            # test client may serve it from a new loop each time.
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._run(self._queue))
        assert self._queue is not None
        future: asyncio.Future = loop.create_future()
        await self._queue.put((conversation, config, future))
        return await future

    async def _run(self, queue: asyncio.Queue) -> None:
        while True:
            batch = [await queue.get()]
            # Sleep, then take what has arrived: unlike wait_for(queue.get()), this can never lose an item
            # to a timeout that fires just as the item is handed over.
            await asyncio.sleep(self.window_s)
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            groups: dict[GenConfig, list[tuple[Conversation, asyncio.Future]]] = {}
            for conversation, config, future in batch:
                groups.setdefault(config, []).append((conversation, future))
            for config, items in groups.items():
                await self._answer(config, items)

    async def _answer(self, config: GenConfig, items: list[tuple[Conversation, asyncio.Future]]) -> None:
        conversations = [conversation for conversation, _ in items]
        self.batch_sizes.append(len(conversations))
        try:
            completions = await asyncio.to_thread(self.model.generate, conversations, config)
        except Exception as error:  # every waiting request learns what went wrong
            for _, future in items:
                if not future.done():
                    future.set_exception(error)
            return
        for index, (_, future) in enumerate(items):
            if not future.done():  # the client may have gone away meanwhile
                future.set_result(completions[index * config.n : (index + 1) * config.n])


def _error_response(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": code, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(
    model: Model,
    api_key: str | None = None,
    faults: FaultConfig | str | None = None,
    *,
    limits: ServeLimits | None = None,
    batch_window_s: float = 0.005,
    max_batch: int = 32,
) -> FastAPI:
    """An OpenAI-compatible app answering with `model`.

    Args:
        model: any backend (hf, builtin, openai, vllm, scripted).
        api_key: when given, every request but /health needs `Authorization: Bearer <api_key>` (else 401),
            checked before anything else (scotoma.serve.auth).
        faults: fault injection for chat completions, a FaultConfig or a string for `parse_faults`.
        limits: what one request may ask (body size, images, pixels, n, max_tokens); default ServeLimits().
        batch_window_s: how long a request waits for others to share its `generate` call.
        max_batch: most conversations per `generate` call.

    `app.state.batcher` is the MicroBatcher and `app.state.fault_counts` counts injected faults.
    """
    app = FastAPI(title="scotoma serve", docs_url=None, redoc_url=None)
    batcher = MicroBatcher(model, batch_window_s, max_batch)
    app.state.batcher = batcher
    app.state.fault_counts = Counter()
    if isinstance(faults, str):
        faults = parse_faults(faults)
    limits = limits or ServeLimits()
    if faults is not None:
        app.add_middleware(FaultInjection, faults=faults, counts=app.state.fault_counts)
    if api_key is not None:  # added last, so it runs first: before fault injection and every route
        app.add_middleware(RequireKey, api_key=api_key)

    @app.exception_handler(APIError)
    async def api_error(_request: Request, error: APIError) -> JSONResponse:
        return _error_response(error.status, error.message, error.code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        return _error_response(400, f"invalid request: {error.errors()[:3]}", "invalid_request_error")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        entry = {"id": model.spec, "object": "model", "created": 0, "owned_by": "scotoma"}
        return {"object": "list", "data": [entry]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> dict[str, Any]:
        body = await _read_body(request, limits.max_body_bytes)
        # decoding images is CPU work: off the event loop, so one large request stalls no other
        conversation, config = await asyncio.to_thread(_parse, body, model, limits)
        try:
            completions = await batcher.submit(conversation, config)
        except TooManyImagesError as error:
            raise APIError(400, str(error)) from error
        except Exception as error:
            log.exception("generate failed")
            raise APIError(500, f"the model failed: {error}", "server_error") from error
        failed = [c for c in completions if c.finish_reason == "error"]
        if failed:
            raise APIError(500, f"the model failed: {failed[0].error}", "server_error")
        return chat_response(model.spec, completions)

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = APIError(
        413, f"request body over {limit} bytes; send fewer or smaller images", "request_too_large"
    )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _count_images(messages: Any) -> int:
    """Image parts in raw `messages`, counted before any is decoded."""
    if not isinstance(messages, list):
        return 0
    contents = [m.get("content") for m in messages if isinstance(m, dict)]
    return sum(
        1
        for c in contents
        if isinstance(c, list)
        for p in c
        if isinstance(p, dict) and p.get("type") == "image_url"
    )


def _parse(raw: bytes, model: Model, limits: ServeLimits) -> tuple[Conversation, GenConfig]:
    """A request body -> (conversation, config); every problem is a 400 that says what is wrong."""
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise APIError(400, f"request body is not valid JSON ({error})") from error
    if not isinstance(body, dict):
        raise APIError(400, "request body must be a JSON object")
    if body.get("stream"):
        raise APIError(400, "streaming is not supported; send stream=false")
    images = _count_images(body.get("messages"))
    if images > limits.max_images:
        raise APIError(
            400, f"{images} images in one request; this server accepts at most {limits.max_images}"
        )
    try:
        config = gen_config_from_request(body)
        if config.n > limits.max_n:
            raise APIError(400, f"n={config.n}; this server answers at most n={limits.max_n}")
        if body.get("max_completion_tokens") is None and body.get("max_tokens") is None:
            config = dataclasses.replace(config, max_new_tokens=min(config.max_new_tokens, limits.max_tokens))
        elif config.max_new_tokens > limits.max_tokens:
            raise APIError(
                400, f"max_tokens={config.max_new_tokens}; this server allows at most {limits.max_tokens}"
            )
        conversation = from_openai_messages(body.get("messages"), limits.max_image_pixels)
        check_image_count(model, [conversation])
    except ImageError as error:
        raise APIError(400, f"bad image data: {error}") from error
    except (MessageFormatError, TooManyImagesError, ValueError) as error:
        raise APIError(400, str(error)) from error
    return conversation, config


def serve(
    model_spec: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    faults: str | None = None,
    limits: ServeLimits | None = None,
) -> None:
    """Load `model_spec` and serve it until interrupted (the `scotoma serve` command).

    Args:
        model_spec: any spec `get_model` resolves, e.g. "hf:Qwen/Qwen2.5-VL-3B-Instruct".
        host: interface to listen on; loopback by default, so nothing outside this machine can reach it.
        port: TCP port.
        api_key: require `Authorization: Bearer <api_key>` on /v1 endpoints.
        faults: fault injection, e.g. "slow=0.2,429=0.2,500=0.1,drop=0.1,seed=0" (see serve.faults).
        limits: what one request may ask (see ServeLimits).
    """
    from scotoma.models.registry import get_model

    fault_config = parse_faults(faults) if faults else None  # fail on a typo before loading a model
    if api_key is not None and not api_key.strip():
        raise ValueError("the API key is empty; give a non-empty --api-key or leave it out")
    sock = bound_socket(host, port)  # a busy port or unknown host fails now, not after the model loads
    try:
        model = get_model(model_spec)
        if api_key is None and not _is_loopback(host):
            log.warning(
                "serving on %s without --api-key: anyone who can reach this port can use the model", host
            )
        app = create_app(model, api_key=api_key, faults=fault_config, limits=limits)
        uvicorn.Server(uvicorn.Config(app)).run(sockets=[sock])
    finally:
        sock.close()


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port); port 0 picks a free one.

    Raises:
        OSError: the port is in use, or the host is not an address of this machine.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(
            error.errno, f"cannot listen on {host}:{port} ({error.strerror}); pick another --port or --host"
        ) from None
    return sock


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `app` with uvicorn in a background thread; yields its base URL ("http://127.0.0.1:PORT/v1").

    Port 0 picks a free port. The server stops when the block exits. Used by tests and by jobs that
    want a real HTTP endpoint in-process.
    """
    sock = bound_socket(host, port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the in-process server did not start; see the uvicorn log above")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
