"""The `openai:` client and the shared wire format: request building, retries, errors, and a real server
with injected faults (429, 500, slow answers, dropped connections)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import time

import httpx
import pytest
from PIL import Image

from scotoma.models import ModelError, ScriptedModel, get_model
from scotoma.models.messages import (
    MessageFormatError,
    chat_request,
    chat_response,
    completions_from_response,
    from_openai_messages,
    gen_config_from_request,
    image_mime_type,
    to_openai_messages,
)
from scotoma.models.openai_api import OpenAIModel, _retry_after
from scotoma.serve.app import create_app, serve_in_thread
from scotoma.types import Completion, Conversation, GenConfig, ImageError, ImageRef

FAST = {"backoff": "0.001", "max_backoff": "0.01"}


def image(color: str, size: tuple[int, int] = (8, 6), fmt: str = "PNG") -> ImageRef:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return ImageRef.from_bytes(buffer.getvalue())


def ok(contents: list[str], prompt_tokens: int = 7, completion_tokens: int = 3, reason: str = "stop") -> dict:
    choices = [
        {"index": i, "message": {"role": "assistant", "content": c}, "finish_reason": reason}
        for i, c in enumerate(contents)
    ]
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    return {"choices": choices, "usage": usage}


def mock_model(
    handler, options: dict[str, str] | None = None, target: str = "m@http://test/v1"
) -> OpenAIModel:
    return OpenAIModel(target, {**FAST, **(options or {})}, transport=httpx.MockTransport(handler))


# --- wire format -------------------------------------------------------------------------------------


def test_mime_type_is_read_from_the_bytes():
    assert image_mime_type(image("red").read_bytes()) == "image/png"
    assert image_mime_type(image("red", fmt="JPEG").read_bytes()) == "image/jpeg"
    assert image_mime_type(image("red", fmt="GIF").read_bytes()) == "image/gif"
    assert image_mime_type(image("red", fmt="WEBP").read_bytes()) == "image/webp"
    assert image_mime_type(image("red", fmt="TIFF").read_bytes()) == "image/tiff"  # via PIL


def test_messages_round_trip_keeps_images_in_place():
    red, blue = image("red"), image("blue", (5, 4))
    conversation = Conversation.user("Image1: ", red, " Image2: ", blue, " same color?", system="Be brief.")
    conversation = conversation.then("assistant", "no").then("user", "sure?")
    messages = to_openai_messages(conversation)
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert [p["type"] for p in messages[1]["content"]] == ["text", "image_url", "text", "image_url", "text"]
    url = messages[1]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.partition(",")[2]) == red.read_bytes()
    assert messages[2] == {"role": "assistant", "content": "no"}
    back = from_openai_messages(json.loads(json.dumps(messages)))
    assert [m.role for m in back.messages] == ["system", "user", "assistant", "user"]
    assert [(i.sha256, i.width, i.height) for i in back.images] == [(red.sha256, 8, 6), (blue.sha256, 5, 4)]
    assert back.messages[1].text == "Image1:  Image2:  same color?"


def test_request_and_config_round_trip():
    config = GenConfig(max_new_tokens=9, temperature=0.7, top_p=0.9, n=3, seed=5, stop=("\n", "END"))
    body = chat_request("qwen", Conversation.user("hi"), config)
    assert body == {
        "model": "qwen",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 9,
        "temperature": 0.7,
        "top_p": 0.9,
        "n": 3,
        "seed": 5,
        "stop": ["\n", "END"],
    }
    assert gen_config_from_request(body) == config
    # OpenAI's defaults for what a request leaves out; a single stop string is a one-element tuple
    assert gen_config_from_request({"stop": "x"}) == GenConfig(
        max_new_tokens=512, temperature=1.0, stop=("x",)
    )
    with pytest.raises(ValueError, match="invalid generation settings"):
        gen_config_from_request({"temperature": -1})


def test_response_round_trip_splits_usage_and_maps_finish_reasons():
    completions = [Completion("a b", 10, 2), Completion("c", 10, 1, finish_reason="length")]
    body = chat_response("m", completions)
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    back = completions_from_response(body, latency_s=1.0)
    assert [(c.text, c.prompt_tokens, c.completion_tokens, c.finish_reason) for c in back] == [
        ("a b", 10, 2, "stop"),
        ("c", 10, 1, "length"),
    ]
    assert [c.latency_s for c in back] == [0.5, 0.5]
    filtered = completions_from_response(ok(["secret"], reason="content_filter"))
    assert (
        filtered[0].finish_reason == "error"
        and filtered[0].text == ""
        and "content_filter" in filtered[0].error
    )
    # a server that ignores stop strings is cut client-side
    assert completions_from_response(ok(["yes\nno"], reason="length"), stop=["\n"])[0].text == "yes"


# --- spec and options ---------------------------------------------------------------------------------


def test_target_parsing_and_options():
    model = get_model("openai:gpt-4o@https://api.openai.com/v1?concurrency=4&timeout=5")
    assert (model.model_name, model.base_url, model.concurrency, model.timeout) == (
        "gpt-4o",
        "https://api.openai.com/v1",
        4,
        5.0,
    )
    assert OpenAIModel("a@b@http://h:1/v1/", {}).model_name == "a@b"
    assert OpenAIModel("gpt-4o", {}).base_url == "https://api.openai.com/v1"
    with pytest.raises(ValueError, match="must be a base URL"):
        OpenAIModel("qwen@localhost:8000", {})
    with pytest.raises(ValueError, match="unknown option"):
        OpenAIModel("qwen@http://h/v1", {"concurency": "2"})
    with pytest.raises(ValueError, match="environment variable") as error:
        OpenAIModel("qwen@http://h/v1", {"api_key": "sk-123"})
    assert "sk-123" not in str(error.value)


def test_request_carries_settings_images_and_key(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-secret-1")
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization"), json.loads(request.content)))
        return httpx.Response(200, json=ok(["x", "y"], completion_tokens=5))

    model = mock_model(handler, {"api_key_env": "MY_KEY"})
    red = image("red")
    config = GenConfig(max_new_tokens=4, temperature=0.5, top_p=0.8, n=2, seed=3, stop=("!",))
    out = model.generate([Conversation.user(red, "color?")], config)
    url, auth, body = seen[0]
    assert url == "http://test/v1/chat/completions" and auth == "Bearer sk-secret-1"
    assert (
        body["max_tokens"],
        body["temperature"],
        body["top_p"],
        body["n"],
        body["seed"],
        body["stop"],
    ) == (
        4,
        0.5,
        0.8,
        2,
        3,
        ["!"],
    )
    assert body["messages"][0]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    # 5 generated tokens over 2 choices: 3 + 2; the prompt counts for each
    assert [(c.text, c.prompt_tokens, c.completion_tokens) for c in out] == [("x", 7, 3), ("y", 7, 2)]
    assert "sk-secret-1" not in repr(model) and "sk-secret-1" not in str(vars(model))


def test_no_key_sends_no_authorization(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    headers = []

    def handler(request):
        headers.append(request.headers.get("authorization"))
        return httpx.Response(200, json=ok(["x"]))

    mock_model(handler).generate([Conversation.user("q")], GenConfig())
    assert headers == [None]


def test_results_are_conversation_major_and_topped_up_when_the_server_ignores_n():
    seeds = []

    def handler(request):
        body = json.loads(request.content)
        seeds.append((body["messages"][0]["content"], body["seed"], body["n"]))
        return httpx.Response(
            200, json=ok([f"{body['messages'][0]['content']}-{body['seed']}"])
        )  # one choice

    out = mock_model(handler).generate(
        [Conversation.user("a"), Conversation.user("b")], GenConfig(n=3, seed=10)
    )
    assert [c.text for c in out] == ["a-10", "a-11", "a-12", "b-10", "b-11", "b-12"]
    assert sorted(seeds) == [
        ("a", 10, 3),
        ("a", 11, 2),
        ("a", 12, 1),
        ("b", 10, 3),
        ("b", 11, 2),
        ("b", 12, 1),
    ]


# --- retries and failures -------------------------------------------------------------------------------


def test_transient_failures_are_retried_until_success():
    script = iter(
        [
            httpx.Response(503, json={"error": {"message": "overloaded"}}),
            "timeout",
            "connect",
            httpx.Response(502, text="bad gateway"),
            httpx.Response(200, text="not json"),
            httpx.Response(200, json=ok(["finally"])),
        ]
    )
    calls = []

    def handler(request):
        calls.append(1)
        step = next(script)
        if step == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if step == "connect":
            raise httpx.ConnectError("refused", request=request)
        return step

    out = mock_model(handler).generate([Conversation.user("q")], GenConfig())
    assert [c.text for c in out] == ["finally"] and len(calls) == 6


def test_retry_after_is_honoured():
    calls = []

    def handler(request):
        calls.append(time.perf_counter())
        if len(calls) == 1:
            return httpx.Response(
                429, headers={"Retry-After": "0.3"}, json={"error": {"message": "slow down"}}
            )
        return httpx.Response(200, json=ok(["x"]))

    mock_model(handler, {"max_backoff": "5"}).generate([Conversation.user("q")], GenConfig())
    assert calls[1] - calls[0] >= 0.3
    assert _retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert _retry_after(httpx.Headers({"retry-after": "2"})) == 2.0
    assert _retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0  # in the past
    assert _retry_after(httpx.Headers({})) is None


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    model = OpenAIModel("m@http://h/v1", {"backoff": "1", "max_backoff": "6"})
    for attempt, (low, high) in enumerate([(0.5, 1), (1, 2), (2, 4), (3, 6), (3, 6)]):
        delays = [model._delay(attempt, None) for _ in range(200)]
        assert low <= min(delays) and max(delays) <= high and max(delays) - min(delays) > 0.1 * (high - low)
    assert model._delay(0, 4.0) == 4.0  # Retry-After wins over a shorter backoff
    assert model._delay(0, 100.0) == 6.0  # ... up to max_backoff


def test_a_client_error_fails_at_once_with_the_server_message(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-leaky")
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(400, json={"error": {"message": "context too long for sk-leaky"}})

    model = mock_model(handler, target="qwen@http://test/v1")
    with pytest.raises(ModelError) as error:
        model.generate([Conversation.user("q")] * 3, GenConfig())
    message = str(error.value)
    assert "HTTP 400" in message and "context too long" in message and model.spec in message
    assert "sk-leaky" not in message and "***" in message
    assert len(calls) <= 3  # no retries: at most one attempt per conversation before the batch stops


def test_exhausted_retries_give_an_error_completion_and_keep_the_batch(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-hidden")

    def handler(request):
        text = json.loads(request.content)["messages"][0]["content"]
        if text == "bad":
            return httpx.Response(500, json={"error": {"message": "boom, key sk-hidden"}})
        return httpx.Response(200, json=ok([text.upper()]))

    conversations = [Conversation.user(t) for t in ("a", "bad", "c")]
    out = mock_model(handler, {"max_retries": "2"}).generate(conversations, GenConfig(n=2))
    assert [c.text for c in out] == ["A", "A", "", "", "C", "C"]
    assert [c.finish_reason for c in out] == ["stop", "stop", "error", "error", "stop", "stop"]
    assert "3 attempts" in out[2].error and "HTTP 500: boom" in out[2].error
    assert "sk-hidden" not in out[2].error


def test_concurrency_is_bounded():
    state = {"now": 0, "peak": 0}

    async def handler(request):
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
        await asyncio.sleep(0.02)
        state["now"] -= 1
        return httpx.Response(200, json=ok(["x"]))

    out = mock_model(handler, {"concurrency": "3"}).generate([Conversation.user("q")] * 12, GenConfig())
    assert len(out) == 12 and state["peak"] == 3


def test_generate_works_inside_a_running_loop_and_in_a_thread():
    model = mock_model(lambda request: httpx.Response(200, json=ok(["x"])))

    async def from_async_code():
        return model.generate([Conversation.user("q")], GenConfig())

    assert [c.text for c in asyncio.run(from_async_code())] == ["x"]
    result = []
    thread = threading.Thread(
        target=lambda: result.extend(model.generate([Conversation.user("q")], GenConfig()))
    )
    thread.start()
    thread.join()
    assert [c.text for c in result] == ["x"]


# --- against a real server --------------------------------------------------------------------------------


def echo(conversation: Conversation) -> str:
    return "echo " + conversation.messages[-1].text


def test_survives_injected_faults_without_losing_or_duplicating_requests():
    scripted = ScriptedModel(echo)
    faults = "slow=0.2,delay=0.05,429=0.2,500=0.1,drop=0.1,seed=0,retry_after=0.01"
    app = create_app(scripted, faults=faults)
    with serve_in_thread(app) as url:
        # 40% of attempts fail: 20 retries make giving up on one of 60 requests a 1e-7 event
        client = OpenAIModel(f"scripted@{url}", {"backoff": "0.01", "max_retries": "20", "concurrency": "8"})
        out = client.generate([Conversation.user(f"question {i}") for i in range(60)], GenConfig())
    counts = app.state.fault_counts
    assert [c.text for c in out] == [f"echo question {i}" for i in range(60)]
    assert all(c.finish_reason == "stop" for c in out)
    assert min(counts["429"], counts["500"], counts["drop"], counts["slow"]) > 0  # every fault happened
    # every attempt reached the server; only dropped ones (answered, then cut off) reached the model twice
    assert counts["requests"] == 60 + counts["429"] + counts["500"] + counts["drop"]
    assert len(scripted.seen) == 60 + counts["drop"]
    texts = [c.messages[-1].text for c in scripted.seen]
    assert set(texts) == {f"question {i}" for i in range(60)}


def test_real_server_rejections_fail_at_once(monkeypatch):
    scripted = ScriptedModel(echo, max_images=1)
    app = create_app(scripted, api_key="right-key", faults="seed=0")  # faults on, all zero: counts requests
    two_images = Conversation.user(image("red"), image("blue"), "same?")
    with serve_in_thread(app) as url:
        monkeypatch.setenv("OPENAI_API_KEY", "right-key")
        with pytest.raises(ModelError, match=r"HTTP 400: .*at most 1"):
            OpenAIModel(f"s@{url}", FAST).generate([two_images], GenConfig())
        monkeypatch.setenv("OPENAI_API_KEY", "wrong-key")
        with pytest.raises(ModelError, match="HTTP 401") as error:
            OpenAIModel(f"s@{url}", FAST).generate([Conversation.user("q")], GenConfig())
        assert "wrong-key" not in str(error.value)
    # the wrong key is refused before fault injection: only the first request reached it
    assert app.state.fault_counts["requests"] == 1 and scripted.seen == []


def test_a_dead_server_gives_error_completions():
    with serve_in_thread(create_app(ScriptedModel("x"))) as url:
        pass  # the server is gone once the block ends: its port now refuses connections
    out = OpenAIModel(f"m@{url}", {**FAST, "max_retries": "2"}).generate(
        [Conversation.user("q")], GenConfig()
    )
    assert out[0].finish_reason == "error" and "connection failed" in out[0].error


def test_images_reach_a_real_server_intact():
    def describe(conversation: Conversation) -> str:
        return " ".join(f"{i.sha256}:{i.width}x{i.height}" for i in conversation.images)

    red, jpeg = image("red"), image("blue", (5, 3), fmt="JPEG")
    with serve_in_thread(create_app(ScriptedModel(describe))) as url:
        out = OpenAIModel(f"s@{url}", FAST).generate([Conversation.user(red, "and", jpeg, "?")], GenConfig())
    assert out[0].text == f"{red.sha256}:8x6 {jpeg.sha256}:5x3"


def test_malformed_responses_and_missing_images_fail_loud(tmp_path):
    with pytest.raises(MessageFormatError, match="must be objects"):
        completions_from_response({"choices": ["x"]})
    with pytest.raises(MessageFormatError, match="no 'choices'"):
        completions_from_response({"choices": []})
    gone = tmp_path / "gone.png"
    gone.write_bytes(image("red").read_bytes())
    ref = ImageRef.from_path(gone)
    gone.unlink()
    model = mock_model(lambda request: httpx.Response(200, json=ok(["x"])))
    with pytest.raises(ImageError, match="image file not found"):
        model.generate([Conversation.user(ref, "?")], GenConfig())


def test_a_failed_top_up_keeps_the_samples_already_made():
    def handler(request):
        if json.loads(request.content)["seed"] == 0:
            return httpx.Response(200, json=ok(["first"]))  # one choice although n=3 was asked
        return httpx.Response(503, json={"error": {"message": "gone"}})

    out = mock_model(handler, {"max_retries": "1"}).generate([Conversation.user("q")], GenConfig(n=3))
    assert [(c.text, c.finish_reason) for c in out] == [("first", "stop"), ("", "error"), ("", "error")]
