"""Soak `scotoma serve` on 127.0.0.1: a few thousand requests with faults on, good and bad mixed.

    python benchmarks/serve_soak.py                        # 3,000 requests, 32 at a time, at most 120 s
    python benchmarks/serve_soak.py --requests 500 --model builtin:answerer

The server is `scotoma serve` in its own process on 127.0.0.1 (a free port), with an API key, fault
injection (slow 10% by 50 ms, 429 5%, 500 5%, connection drop 2%, seeded) and its default request limits
but a 2 MB body limit; the clients run in this process. Requests, drawn with a fixed seed:

    70%  good: a question with one small PNG (a 200, unless a fault hits it)
     6%  no API key (401)          6%  "stop": 5 (400)         6%  a body over the size limit (413)
     6%  17 images (400)           6%  a PNG declaring 20000 x 20000 pixels, 48 KB (400)

Meanwhile /health is polled every 50 ms: its latency shows whether the event loop stays free while
requests are parsed and images decoded. Printed: completions, errors by kind (each status code the server
sent, and dropped connections), whether every reply was the one its request calls for, p50/p99 latency
of the good requests, /health p50/p99, and requests per second. The run stops after --max-seconds
whatever is left, so it is bounded in time; nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from PIL import Image

from scotoma.serve.limits import ServeLimits

KEY = "soak-key"
FAULTS = "slow=0.1,delay=0.05,429=0.05,500=0.05,drop=0.02,seed=0"
KINDS = {
    "good": 0.70,
    "no_key": 0.06,
    "bad_stop": 0.06,
    "too_large": 0.06,
    "too_many_images": 0.06,
    "huge": 0.06,
}
# what each kind must be answered with when no fault hits it; faults only hit requests that pass the key
EXPECTED = {
    "good": 200,
    "no_key": 401,
    "bad_stop": 400,
    "too_large": 413,
    "too_many_images": 400,
    "huge": 400,
}
FAULT_STATUSES = {429, 500}
# the defaults, but a 2 MB body limit: the soak is about the server, not about moving 32 MB bodies
LIMITS = ServeLimits(max_body_bytes=2_000_000)


def png(size: tuple[int, int], mode: str = "RGB") -> str:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def bodies(limits: ServeLimits) -> dict[str, bytes]:
    """Each kind's request body, encoded once (the client's JSON encoding is not what is measured)."""
    small, huge = png((32, 32)), png((20000, 20000), "1")

    def chat(*images: str, **extra) -> dict:
        parts = [{"type": "image_url", "image_url": {"url": url}} for url in images]
        content = [*parts, {"type": "text", "text": "is there a blue circle ?"}]
        return {"model": "m", "messages": [{"role": "user", "content": content}], "max_tokens": 8, **extra}

    plain = {
        "good": chat(small),
        "no_key": chat(small),
        "bad_stop": chat(small, stop=5),
        "too_large": chat(small, padding="x" * (limits.max_body_bytes + 1)),
        "too_many_images": chat(*[small] * (limits.max_images + 1)),
        "huge": chat(huge),
    }
    return {kind: json.dumps(body).encode() for kind, body in plain.items()}


async def soak(
    base: str, limits: ServeLimits, n: int, concurrency: int, max_seconds: float, seed: int
) -> dict:
    prepared = bodies(limits)
    rng = random.Random(seed)
    kinds = rng.choices(list(KINDS), weights=list(KINDS.values()), k=n)
    outcomes: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    latencies: list[float] = []
    health: list[float] = []
    deadline = time.perf_counter() + max_seconds
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in kinds:
        queue.put_nowait(kind)
    done = asyncio.Event()

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty() and time.perf_counter() < deadline:
            kind = queue.get_nowait()
            headers = {"Content-Type": "application/json"}
            if kind != "no_key":
                headers["Authorization"] = f"Bearer {KEY}"
            started = time.perf_counter()
            try:
                response = await client.post("/chat/completions", content=prepared[kind], headers=headers)
            except httpx.TransportError:
                outcomes["dropped"] += 1
                continue
            status = response.status_code
            outcomes[str(status)] += 1
            if status != EXPECTED[kind] and not (kind != "no_key" and status in FAULT_STATUSES):
                wrong[f"{kind}->{status}"] += 1
            if kind == "good" and status == 200:
                latencies.append(time.perf_counter() - started)

    async def poll_health(client: httpx.AsyncClient) -> None:
        while not done.is_set():
            started = time.perf_counter()
            await client.get(base.removesuffix("/v1") + "/health")
            health.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    limits_http = httpx.Limits(max_connections=concurrency + 1)
    timeout = httpx.Timeout(30.0)
    # /health gets a client of its own: behind the workers' pool it would time the pool, not the server
    async with (
        httpx.AsyncClient(base_url=base, limits=limits_http, timeout=timeout) as client,
        httpx.AsyncClient(timeout=timeout) as health_client,
    ):
        started = time.perf_counter()
        poller = asyncio.create_task(poll_health(health_client))
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        done.set()
        await poller
    sent = sum(outcomes.values())
    return {
        "sent": sent,
        "left_unsent": n - sent,
        "seconds": seconds,
        "outcomes": dict(outcomes),
        "wrong": dict(wrong),
        "latencies": latencies,
        "health": health,
    }


def quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(model: str) -> Iterator[str]:
    """`scotoma serve` in a child process; yields its base URL once /health answers."""
    port = free_port()
    command = [sys.executable, "-c", "from scotoma.cli import main; main()", "serve", "--model", model]
    command += ["--port", str(port), "--api-key", KEY, "--faults", FAULTS]
    command += ["--max-body-bytes", str(LIMITS.max_body_bytes)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"scotoma serve exited: {server.stderr.read().decode()[-500:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument(
        "--model", default="scripted:yes", help="the backend served (scripted: no model time)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with served(args.model) as base:
        result = asyncio.run(soak(base, LIMITS, args.requests, args.concurrency, args.max_seconds, args.seed))
    ms = 1000
    print(f"serve soak: {args.model}, faults {FAULTS}, {args.concurrency} clients, 127.0.0.1")
    rate = result["sent"] / result["seconds"]
    print(f"requests sent      {result['sent']} in {result['seconds']:.1f} s ({rate:.0f} req/s)")
    print(f"left unsent        {result['left_unsent']} (the time limit)")
    print(f"completions (200)  {result['outcomes'].get('200', 0)}")
    errors = {k: v for k, v in sorted(result["outcomes"].items()) if k != "200"}
    print(f"errors by kind     {errors}")
    print(f"unexpected replies {result['wrong'] or 'none'}")
    print(
        f"good latency       p50 {quantile(result['latencies'], 0.5) * ms:.1f} ms, "
        f"p99 {quantile(result['latencies'], 0.99) * ms:.1f} ms (n={len(result['latencies'])})"
    )
    print(
        f"/health latency    p50 {quantile(result['health'], 0.5) * ms:.1f} ms, "
        f"p99 {quantile(result['health'], 0.99) * ms:.1f} ms, max {max(result['health']) * ms:.1f} ms "
        f"(n={len(result['health'])})"
    )


if __name__ == "__main__":
    main()
