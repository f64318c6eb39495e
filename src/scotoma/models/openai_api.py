"""`openai:<model>@<base_url>`: any OpenAI-compatible chat-completions server (vLLM, SGLang, Ollama, hosted).

Requests run concurrently on httpx (no openai SDK). Transient failures (429, 408, 5xx, timeouts, dropped
connections) are retried with exponential backoff and jitter, honouring Retry-After; any other 4xx means
the request itself is wrong and fails at once. A request that still fails after its retries comes back as
a Completion with finish_reason "error", so one bad request never loses a batch (the cache skips errors).
The API key is read from the environment on each call and kept out of the object, its repr and errors.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import random
import re
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx

from scotoma.models.base import ModelError, check_image_count
from scotoma.models.messages import MessageFormatError, chat_request, completions_from_response
from scotoma.models.spec import option
from scotoma.types import Completion, Conversation, GenConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
OPTIONS = ("concurrency", "max_retries", "timeout", "api_key_env", "backoff", "max_backoff", "max_images")
_TARGET = re.compile(r"^(?P<model>.+?)@(?P<url>https?://\S+)$")


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _server_message(response: httpx.Response) -> str:
    """The error text a server put in its body: OpenAI's error.message, FastAPI's detail, or raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500].strip() or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        for key in ("detail", "message", "error"):
            if body.get(key):
                return str(body[key])[:500]
    return str(body)[:500]


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms, or Retry-After as seconds or an HTTP date."""
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, in any thread, even one whose loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Inside a running loop (a notebook, an async caller) asyncio.run refuses; a fresh thread has none.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class _GaveUp(Exception):
    """A request that still failed after its last retry."""

    def __init__(self, message: str, latency_s: float) -> None:
        super().__init__(message)
        self.latency_s = latency_s


@dataclass
class _Call:
    """What the requests of one `generate` call share."""

    client: httpx.AsyncClient
    semaphore: asyncio.Semaphore
    key: str | None  # read from the environment per call, never stored on the model
    data_urls: dict[str, str]  # sha256 -> data URL: an image shown in many prompts is encoded once


class OpenAIModel:
    """A VLM behind an OpenAI-compatible `/chat/completions` endpoint.

    Options (strings, from the spec or get_model keywords): concurrency (16 requests in flight),
    max_retries (6), timeout (120 s per attempt), api_key_env (OPENAI_API_KEY; unset is fine for local
    servers), backoff (1.0 s, doubled per retry, with jitter), max_backoff (60 s, also caps Retry-After),
    max_images (no limit unless given).
    """

    def __init__(
        self,
        target: str,
        options: dict[str, str],
        spec: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Parse `<model>@<base_url>` (base URL defaults to OpenAI's) and the options.

        Args:
            target: "<model>@<base_url>", e.g. "gpt-4o@https://api.openai.com/v1".
            options: backend options as strings; unknown names are an error.
            spec: the full spec string, used in cache keys and error messages.
            transport: an httpx transport to use instead of the network (tests).
        """
        if "api_key" in options:
            raise ValueError(
                "do not put the API key in the model spec (specs are logged); put it in an environment "
                "variable and name it with the api_key_env option (default OPENAI_API_KEY)"
            )
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(unknown)} for openai:; known: {', '.join(OPTIONS)}"
            )
        match = _TARGET.match(target)
        if match:
            self.model_name, self.base_url = match["model"], match["url"].rstrip("/")
        elif "@" in target:
            raise ValueError(
                f"openai target {target!r}: the part after '@' must be a base URL starting with http:// "
                "or https://, e.g. openai:qwen@http://127.0.0.1:8000/v1"
            )
        else:
            self.model_name, self.base_url = target, DEFAULT_BASE_URL
        if not self.model_name:
            raise ValueError(f"openai target {target!r} names no model; write openai:<model>@<base_url>")
        self.spec = spec or f"openai:{target}"
        self.concurrency = option(options, "concurrency", 16, int)
        self.max_retries = option(options, "max_retries", 6, int)
        self.timeout = option(options, "timeout", 120.0, float)
        self.api_key_env = option(options, "api_key_env", "OPENAI_API_KEY")
        self.backoff = option(options, "backoff", 1.0, float)
        self.max_backoff = option(options, "max_backoff", 60.0, float)
        self.max_images: int | None = option(options, "max_images", None, int)
        if self.concurrency < 1 or self.max_retries < 0 or self.timeout <= 0 or self.backoff < 0:
            raise ValueError(
                "openai options need concurrency >= 1, max_retries >= 0, timeout > 0, backoff >= 0"
            )
        self._transport = transport
        self._random = random.Random()

    def __repr__(self) -> str:
        return f"OpenAIModel(spec={self.spec!r}, model={self.model_name!r}, base_url={self.base_url!r})"

    def generate(self, conversations: Sequence[Conversation], config: GenConfig) -> list[Completion]:
        """Answer every conversation, `config.n` completions each, conversation-major.

        Raises:
            ModelError: when the server rejects a request with a 4xx other than 408/429 (not retried).
            TooManyImagesError: when a prompt has more images than the max_images option allows.
        """
        check_image_count(self, conversations)
        if not conversations:
            return []
        completions = run_sync(self._generate(list(conversations), config))
        failed = [c.error for c in completions if c.finish_reason == "error"]
        if failed:  # one line per call, not per request: a batch against a dead server is thousands
            log.warning("%d of %d completions failed, e.g. %s", len(failed), len(completions), failed[0])
        return completions

    async def _generate(self, conversations: list[Conversation], config: GenConfig) -> list[Completion]:
        key = os.environ.get(self.api_key_env) or None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        semaphore = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            transport=self._transport,
        ) as client:
            call = _Call(client, semaphore, key, data_urls={})
            try:
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(self._answer(call, c, config)) for c in conversations]
            except BaseExceptionGroup as errors:
                # TaskGroup cancels the rest on the first failure; surface that failure itself.
                raise errors.exceptions[0] from None
        return [completion for task in tasks for completion in task.result()]

    async def _answer(self, call: _Call, conversation: Conversation, config: GenConfig) -> list[Completion]:
        """n completions for one conversation, topping up servers that ignore `n` (e.g. Ollama)."""
        out: list[Completion] = []
        for round_ in range(config.n):
            wanted = config.n - len(out)
            # A top-up with the same seed would repeat the first sample; shift it.
            round_config = config if round_ == 0 else replace(config, seed=config.seed + round_)
            async with call.semaphore:
                body = chat_request(self.model_name, conversation, round_config, wanted, call.data_urls)
                try:
                    got = await self._post(call, body, config.stop)
                except _GaveUp as failure:
                    error = Completion(
                        "", latency_s=failure.latency_s, finish_reason="error", error=str(failure)
                    )
                    return out + [error] * wanted
            out.extend(got[:wanted])
            if len(out) >= config.n:
                break
        return out

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with "equal jitter" (half fixed, half random); Retry-After as the floor."""
        base = min(self.max_backoff, self.backoff * 2**attempt)
        delay = base / 2 + self._random.uniform(0, base / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_backoff))
        return delay

    def _redact(self, text: str, key: str | None) -> str:
        return text.replace(key, "***") if key else text

    async def _post(self, call: _Call, body: dict, stop: Sequence[str]) -> list[Completion]:
        """POST one request, retrying transient failures.

        Raises:
            _GaveUp: when the retries ran out (the caller turns it into error Completions).
            ModelError: on a 4xx other than 408/429.
        """
        start = time.perf_counter()
        failure = ""
        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                response = await call.client.post("chat/completions", json=body)
            except httpx.TimeoutException as error:
                failure = f"timed out after {self.timeout:g} s ({type(error).__name__})"
            except httpx.TransportError as error:
                failure = f"connection failed ({type(error).__name__}: {error})"
            else:
                if response.status_code == 200:
                    try:
                        return completions_from_response(response.json(), stop, time.perf_counter() - start)
                    except (ValueError, MessageFormatError) as error:
                        failure = f"malformed response ({error})"
                elif _retryable(response.status_code):
                    failure = f"HTTP {response.status_code}: {_server_message(response)}"
                    retry_after = _retry_after(response.headers)
                else:
                    raise ModelError(
                        self._redact(
                            f"{self.spec} rejected the request with HTTP {response.status_code}: "
                            f"{_server_message(response)} (not retried: fix the request or the spec)",
                            call.key,
                        )
                    )
            failure = self._redact(failure, call.key)  # servers may echo the request's headers
            if attempt < self.max_retries:
                delay = self._delay(attempt, retry_after)
                log.debug(
                    "%s: attempt %d failed (%s); retrying in %.2f s", self.spec, attempt + 1, failure, delay
                )
                await asyncio.sleep(delay)
        error = f"{self.spec}: gave up after {self.max_retries + 1} attempts: {failure}"
        raise _GaveUp(error, time.perf_counter() - start)
