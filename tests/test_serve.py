"""`scotoma serve`: the OpenAI-compatible app, its micro-batcher, API key, errors and fault injection."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import socket
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from scotoma.models import ScriptedModel
from scotoma.models.messages import image_to_data_url
from scotoma.serve import FaultConfig, create_app, parse_faults, serve, serve_in_thread
from scotoma.serve import app as app_module
from scotoma.types import Conversation, ImageRef


def png(color: str, size: tuple[int, int] = (8, 6)) -> ImageRef:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return ImageRef.from_bytes(buffer.getvalue())


def describe(conversation: Conversation) -> str:
    sizes = " ".join(f"{i.width}x{i.height}:{i.sha256[:6]}" for i in conversation.images)
    return f"{len(conversation.images)} images {sizes} | {conversation.messages[-1].text}".strip()


def asgi_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve/v1")


def chat(content, **settings) -> dict:
    return {"model": "any", "messages": [{"role": "user", "content": content}], **settings}


def post(app, body, headers=None) -> httpx.Response:
    async def go():
        async with asgi_client(app) as client:
            return await client.post("chat/completions", json=body, headers=headers)

    return asyncio.run(go())


def test_chat_completion_with_images_in_place():
    scripted = ScriptedModel(describe)
    red, blue = png("red"), png("blue", (4, 5))
    content = [
        {"type": "text", "text": "Image1: "},
        {"type": "image_url", "image_url": {"url": image_to_data_url(red)}},
        {"type": "text", "text": " Image2: "},
        {"type": "image_url", "image_url": {"url": image_to_data_url(blue)}},
        {"type": "text", "text": " same?"},
    ]
    response = post(create_app(scripted), chat(content, temperature=0, max_tokens=50))
    assert response.status_code == 200
    body = response.json()
    expected = f"2 images 8x6:{red.sha256[:6]} 4x5:{blue.sha256[:6]} | Image1:  Image2:  same?"
    assert body["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": expected}, "finish_reason": "stop"}
    ]
    assert body["model"] == "scripted:" and body["object"] == "chat.completion"
    # ScriptedModel counts words: "Image1: Image2: same?" is 3, the 8 words of `expected` are generated
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 8, "total_tokens": 11}
    seen = scripted.seen[0]
    assert [i.sha256 for i in seen.images] == [red.sha256, blue.sha256]
    assert seen.images[0].read_bytes() == red.read_bytes()


def test_n_and_stop_are_honoured():
    body = post(create_app(ScriptedModel("yes. more")), chat("q", n=2, stop=["."])).json()
    assert [c["message"]["content"] for c in body["choices"]] == ["yes", "yes"]
    assert [c["index"] for c in body["choices"]] == [0, 1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            [{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!"}}],
            "bad image data: .*base64",
        ),
        (
            [
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"no").decode()},
                }
            ],
            "bad image data: .*not a readable image",
        ),
        ([{"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}], "not a data URL"),
        ([{"type": "audio", "audio": "x"}], "only 'text' and 'image_url'"),
    ],
)
def test_bad_requests_get_400_with_a_clear_message(content, message):
    response = post(create_app(ScriptedModel("x")), chat(content))
    assert response.status_code == 400
    assert re.search(message, response.json()["error"]["message"])


def test_malformed_bodies_get_400():
    app = create_app(ScriptedModel("x"))
    cases = [
        ({"model": "m"}, "non-empty list"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "role 'tool'"),
        (chat("q", stream=True), "streaming is not supported"),
        (chat("q", top_p=0), "top_p"),
    ]
    for body, message in cases:
        response = post(app, body)
        assert response.status_code == 400 and message in response.json()["error"]["message"], body

    async def not_json():
        async with asgi_client(app) as client:
            return await client.post("chat/completions", content=b"{nope")

    response = asyncio.run(not_json())
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]


def test_too_many_images_is_400():
    scripted = ScriptedModel("x", max_images=1)
    url = image_to_data_url(png("red"))
    parts = [{"type": "image_url", "image_url": {"url": url}}] * 2
    response = post(create_app(scripted), chat(parts))
    assert response.status_code == 400 and "at most 1" in response.json()["error"]["message"]
    assert scripted.seen == []


def test_a_failing_model_is_500():
    def broken(conversation):
        raise RuntimeError("CUDA out of memory")

    response = post(create_app(ScriptedModel(broken)), chat("q"))
    assert response.status_code == 500 and "CUDA out of memory" in response.json()["error"]["message"]


def test_api_key_and_models_listing():
    app = create_app(ScriptedModel("x", spec="scripted:x"), api_key="k-123")

    async def go():
        async with asgi_client(app) as client:
            return [
                await client.get("models"),
                await client.get("models", headers={"Authorization": "Bearer wrong"}),
                await client.post("chat/completions", json=chat("q")),
                await client.get("models", headers={"Authorization": "Bearer k-123"}),
                await client.post(
                    "chat/completions", json=chat("q"), headers={"Authorization": "Bearer k-123"}
                ),
                await client.get("http://serve/health"),
            ]

    missing, wrong, chat_missing, models, answer, health = asyncio.run(go())
    assert missing.status_code == wrong.status_code == chat_missing.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key" and "k-123" not in wrong.text
    assert models.json()["data"][0]["id"] == "scripted:x"
    assert answer.status_code == 200 and health.json() == {"status": "ok"}


def test_concurrent_requests_share_generate_calls():
    scripted = ScriptedModel(lambda c: c.messages[-1].text.upper())
    app = create_app(scripted, batch_window_s=0.05, max_batch=4)

    async def go():
        async with asgi_client(app) as client:
            greedy = [client.post("chat/completions", json=chat(f"q{i}", temperature=0)) for i in range(6)]
            sampled = [client.post("chat/completions", json=chat(f"s{i}", temperature=1)) for i in range(2)]
            return await asyncio.gather(*greedy, *sampled)

    responses = asyncio.run(go())
    texts = [r.json()["choices"][0]["message"]["content"] for r in responses]
    assert texts == [f"Q{i}" for i in range(6)] + ["S0", "S1"]
    # 8 requests, at most 4 per batch, split by generation settings: fewer calls than requests
    assert sum(app.state.batcher.batch_sizes) == 8 and max(app.state.batcher.batch_sizes) <= 4
    assert scripted.calls == len(app.state.batcher.batch_sizes) < 8


# --- fault injection ------------------------------------------------------------------------------------


def test_parse_faults():
    assert parse_faults("slow=0.2,429=0.2,500=0.1,drop=0.1,seed=0") == FaultConfig(
        slow=0.2, rate_limit=0.2, server_error=0.1, drop=0.1, seed=0
    )
    assert parse_faults(" delay=0.5 , retry_after=2 ") == FaultConfig(delay=0.5, retry_after=2.0)
    for bad, message in [
        ("404=0.1", "KEY=VALUE"),
        ("slow", "KEY=VALUE"),
        ("drop=x", "not a number"),
        ("drop=1.5", r"\[0, 1\]"),
        ("429=0.6,500=0.6", "at most 1"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_faults(bad)


def test_injected_429_and_500():
    scripted = ScriptedModel("x")
    limited = post(create_app(scripted, faults="429=1,retry_after=1.5"), chat("q"))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2" and limited.headers["retry-after-ms"] == "1500"
    assert "rate limited" in limited.json()["error"]["message"]
    failed = post(create_app(scripted, faults="500=1"), chat("q"))
    assert failed.status_code == 500 and "injected" in failed.json()["error"]["message"]
    assert scripted.seen == []  # both happen before the model


def test_faults_leave_other_endpoints_alone():
    app = create_app(ScriptedModel("x"), faults="500=1")

    async def go():
        async with asgi_client(app) as client:
            return await client.get("models")

    assert asyncio.run(go()).status_code == 200


def test_a_drop_closes_the_socket_without_a_byte():
    scripted = ScriptedModel("answer")
    app = create_app(scripted, faults="drop=1")
    with serve_in_thread(app) as url:
        address = urlsplit(url)
        body = json.dumps(chat("q")).encode()
        request = (
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
            sock.sendall(request)
            assert sock.recv(1024) == b""  # EOF: no status line, no headers, nothing
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"{url}/chat/completions", json=chat("q"), timeout=5)
    assert len(scripted.seen) == 2 and app.state.fault_counts["drop"] == 2  # answered, then lost


def test_serve_checks_faults_before_loading_and_listens_on_loopback(monkeypatch):
    with pytest.raises(ValueError, match="KEY=VALUE"):
        serve("scripted:x", faults="boom=1")
    calls = {}

    class Server:  # uvicorn's, less the serving: records what it was given
        def __init__(self, config):
            calls["app"] = config.app

        def run(self, sockets):
            calls["address"] = sockets[0].getsockname()

    monkeypatch.setattr(app_module.uvicorn, "Server", Server)
    serve("scripted:hello", api_key="k", faults="slow=0.5", port=0)
    assert calls["address"][0] == "127.0.0.1" and calls["address"][1] > 0
    answer = post(calls["app"], chat("q"), headers={"Authorization": "Bearer k"})
    assert answer.json()["choices"][0]["message"]["content"] == "hello"
