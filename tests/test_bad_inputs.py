"""Every job refuses bad input the same way: one line on stderr that says what to do, exit code 2, no
traceback, and nothing on disk touched (no file changed, none removed, no run directory left behind).

The CLI cases run through the real command tree (typer's CliRunner over `scotoma.cli.app`, whose root
group is the error boundary); the serve cases send HTTP requests to the app.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from scotoma.cli import app
from scotoma.models import ScriptedModel
from scotoma.serve import create_app
from scotoma.serve.limits import ServeLimits

UNREACHABLE = "openai:m@http://127.0.0.1:9/v1?max_retries=0&timeout=2"  # port 9 (discard): nothing listens


def _huge_png() -> bytes:
    """48 KB of PNG that declares 20000 x 20000 pixels (1.2 GB once decoded)."""
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG")
    return buffer.getvalue()


def _small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a user's folder, a file, bad YAML, finished runs, a corrupt run and images."""
    ws = tmp_path_factory.mktemp("ws")
    runner = CliRunner()
    (ws / "notrun").mkdir()
    (ws / "notrun" / "keep.txt").write_text("the user's notes\n")
    (ws / "notrun" / "metrics.json").write_text('{"mine": true}\n')
    (ws / "afile.txt").write_text("not a folder\n")
    (ws / "bad.yaml").write_text("k: [1, 2\nmethods: {\n")
    (ws / "empty_model").mkdir()
    (ws / "imgs_huge").mkdir()
    (ws / "imgs_huge" / "huge.png").write_bytes(_huge_png())
    (ws / "evaluation.json").write_text("{}")
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}]}
    (ws / "sft.jsonl").write_text(json.dumps(row) + "\n")
    for name, model in (("other_run", "scripted:b"), ("corrupt", "scripted:c")):
        args = ["bench", "world", "--model", model, "--limit", "4", "--n-boot", "0", "--no-html"]
        done = runner.invoke(app, [*args, "--out", str(ws / name)])
        assert done.exit_code == 0, done.output
    records = (ws / "corrupt" / "records.jsonl").read_text().splitlines()
    (ws / "corrupt" / "records.jsonl").write_text("\n".join([records[0], "{not json", *records[1:]]) + "\n")
    done = runner.invoke(app, ["world", "generate", "--out", str(ws / "worldrun"), "--n", "2"])
    assert done.exit_code == 0, done.output
    return ws


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under `root`, with the sha256 of each file's bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


W = "{ws}"  # stands for the workspace in the cases below
NEW = f"{W}/new"  # a run directory that must not come to exist
BENCH = ["bench", "world", "--model", "scripted:a", "--limit", "2"]
TRAIN_SFT = ["train", "sft", "--recipe", "world_tiny/sft.yaml", "--data", f"{W}/sft.jsonl"]

# (id, argv, what the one line must say); every case must exit 2
CLI_CASES: list[tuple[str, list[str], str]] = [
    # bench
    (
        "bench-unknown-benchmark",
        ["bench", "nosuch", "--model", "scripted:a", "--out", NEW],
        "unknown benchmark",
    ),
    ("bench-no-model", ["bench", "world", "--out", NEW], "--model"),
    ("bench-spec-without-kind", ["bench", "world", "--model", "nokind", "--out", NEW], "has no kind"),
    (
        "bench-secret-in-spec",
        ["bench", "world", "--model", "openai:m@http://127.0.0.1:9/v1?api_key=sk-secret1", "--out", NEW],
        "environment variable",
    ),
    (
        "bench-secret-in-judge",
        [*BENCH, "--judge", "openai:m@http://u:sk-secret2@127.0.0.1:9/v1", "--out", NEW],
        "user:password",
    ),
    ("bench-out-not-a-run", [*BENCH, "--out", f"{W}/notrun"], "not a scotoma run directory"),
    ("bench-force-not-a-run", [*BENCH, "--out", f"{W}/notrun", "--force"], "removes only what it wrote"),
    ("bench-out-is-a-file", [*BENCH, "--out", f"{W}/afile.txt"], "is a file"),
    ("bench-other-spec", [*BENCH, "--out", f"{W}/other_run"], "different"),
    (
        "bench-corrupt-records",
        ["bench", "world", "--model", "scripted:c", "--limit", "4", "--n-boot", "0", "--out", f"{W}/corrupt"],
        "line 2",
    ),
    (
        "bench-hf-missing",
        ["bench", "world", "--model", f"hf:{W}/no/such/model", "--out", NEW],
        "no/such/model",
    ),
    (
        "bench-hf-not-a-model",
        ["bench", "world", "--model", f"hf:{W}/empty_model", "--out", NEW],
        "empty_model",
    ),
    ("bench-builtin-unknown", ["bench", "world", "--model", "builtin:nosuch", "--out", NEW], "not a builtin"),
    ("bench-limit-negative", [*BENCH[:-2], "--limit", "-1", "--out", NEW], "--limit"),
    ("bench-limit-zero", [*BENCH[:-2], "--limit", "0", "--out", NEW], "--limit"),
    ("bench-n-boot-negative", [*BENCH, "--n-boot", "-5", "--out", NEW], "--n-boot"),
    ("bench-image-orders-negative", [*BENCH, "--max-image-orders", "-2", "--out", NEW], "--max-image-orders"),
    ("bench-batch-size-zero", [*BENCH, "--batch-size", "0", "--out", NEW], "--batch-size"),
    ("bench-unknown-setting", [*BENCH, "--setting", "XX", "--out", NEW], "unknown input setting"),
    ("bench-unknown-permutation", [*BENCH, "--permute", "colours", "--out", NEW], "colours"),
    ("bench-dq-without-captioner", [*BENCH, "--setting", "DQ", "--out", NEW], "captioner"),
    ("bench-compare-one-run", ["bench", "compare", f"{W}/other_run"], "two run directories"),
    ("bench-compare-not-runs", ["bench", "compare", f"{W}/notrun", f"{W}/other_run"], "notrun"),
    (
        "bench-mmra-missing-data",
        ["bench", "mmra", "--model", "scripted:a", "--data", f"{W}/nowhere"],
        "nowhere",
    ),
    (
        "bench-jsonl-not-jsonl",
        ["bench", f"jsonl:{W}/afile.txt", "--model", "scripted:a", "--out", NEW],
        "afile",
    ),
    (
        "bench-unreachable-backend",
        ["bench", "world", "--model", UNREACHABLE, "--limit", "2", "--out", NEW],
        "every model call failed",
    ),
    (
        "bench-data-for-several",
        ["bench", "world,nlvr1", "--model", "scripted:a", "--data", f"{W}/afile.txt"],
        "NAME:PATH",
    ),
    ("bench-named-twice", ["bench", "world,world", "--model", "scripted:a", "--out", NEW], "named twice"),
    (
        "bench-split-without-splits",
        ["bench", "mmra", "--model", "scripted:a", "--split", "test", "--out", NEW],
        "split",
    ),
    ("bench-max-new-tokens-zero", [*BENCH, "--max-new-tokens", "0", "--out", NEW], "--max-new-tokens"),
    ("bench-extra-argument", ["bench", "world", "extra", "--model", "scripted:a"], "unexpected arguments"),
    # probe
    ("probe-invalid-yaml", ["probe", "--config", f"{W}/bad.yaml", "--out", NEW], "bad.yaml"),
    ("probe-missing-config", ["probe", "--config", f"{W}/nowhere.yaml", "--out", NEW], "nowhere.yaml"),
    ("probe-unknown-field", ["probe", "nosuchfield=1", "--out", NEW], "nosuchfield"),
    ("probe-not-key-value", ["probe", "methods", "--out", NEW], "key=value"),
    ("probe-unknown-method", ["probe", "methods=nope", "--out", NEW], "unknown methods"),
    ("probe-builtin-unknown", ["probe", "--answerer", "builtin:nosuch", "--out", NEW], "not a builtin"),
    ("probe-base-unknown", ["probe", "--base", "builtin:nosuch", "--out", NEW], "not a builtin"),
    ("probe-base-is-answerer", ["probe", "--base", "builtin:answerer", "--out", NEW], "answerer itself"),
    (
        "probe-huge-image",
        ["probe", "--images", f"{W}/imgs_huge", "--verifier", "judge:scripted:yes", "--out", NEW],
        "megapixels",
    ),
    (
        "probe-missing-images",
        ["probe", "--images", f"{W}/nowhere", "--verifier", "judge:scripted:yes", "--out", NEW],
        "nowhere",
    ),
    ("probe-images-need-judge", ["probe", "--images", f"{W}/imgs_huge", "--out", NEW], "judge:"),
    ("probe-out-not-a-run", ["probe", "--out", f"{W}/notrun"], "not a scotoma run directory"),
    (
        "probe-secret-in-answerer",
        ["probe", "--answerer", "openai:m@https://u:pw@127.0.0.1/v1", "--out", NEW],
        "secret",
    ),
    # synth
    ("synth-n-negative", ["synth", "visc", "--out", NEW, "--n", "-5"], "--n"),
    ("synth-seed-negative", ["synth", "visc", "--out", NEW, "--seed", "-1"], "--seed"),
    (
        "synth-out-not-a-run",
        ["synth", "visc", "--out", f"{W}/notrun", "--n", "2"],
        "not a scotoma run directory",
    ),
    ("synth-unknown-level", ["synth", "s2h", "--out", NEW, "--levels", "L9"], "L9"),
    ("synth-unknown-mixture", ["synth", "s2h", "--out", NEW, "--mixture", "nope"], "nope"),
    ("synth-distractors-negative", ["synth", "s2h", "--out", NEW, "--distractors", "-1"], "--distractors"),
    ("synth-l1-needs-model", ["synth", "s2h", "--out", NEW, "--levels", "L1"], "--model"),
    (
        "synth-missing-images",
        ["synth", "visc", "--out", NEW, "--model", "scripted:a", "--images", f"{W}/nowhere"],
        "nowhere",
    ),
    ("synth-bad-role", ["synth", "visc", "--out", NEW, "--role", "nonsense"], "nonsense"),
    (
        "synth-missing-relations",
        ["synth", "s2h", "--out", NEW, "--levels", "L2", "--relations", f"{W}/nowhere.jsonl"],
        "nowhere",
    ),
    ("synth-unknown-format", ["synth", "visc", "--out", NEW, "--formats", "parquet"], "parquet"),
    ("synth-unknown-override", ["synth", "visc", "--out", NEW, "nosuch=1"], "nosuch"),
    ("synth-unknown-export-override", ["synth", "s2h", "--out", NEW, "export.nosuch=1"], "nosuch"),
    (
        "synth-bad-override-value",
        ["synth", "visc", "--out", NEW, "max_chain_images=many"],
        "max_chain_images",
    ),
    ("synth-unknown-skill", ["synth", "visc", "--out", NEW, "--skills", "nosuchskill"], "nosuchskill"),
    # train
    (
        "train-invalid-yaml",
        ["train", "sft", "--recipe", f"{W}/bad.yaml", "--data", f"{W}/sft.jsonl", "--out", NEW],
        "bad.yaml",
    ),
    (
        "train-missing-recipe",
        ["train", "sft", "--recipe", "nosuch/sft.yaml", "--data", f"{W}/sft.jsonl", "--out", NEW],
        "nosuch",
    ),
    (
        "train-missing-data",
        ["train", "sft", "--recipe", "world_tiny/sft.yaml", "--data", f"{W}/nowhere.jsonl", "--out", NEW],
        "nowhere",
    ),
    (
        "train-data-not-jsonl",
        ["train", "sft", "--recipe", "world_tiny/sft.yaml", "--data", f"{W}/afile.txt", "--out", NEW],
        "afile",
    ),
    (
        "train-dpo-on-sft-rows",
        ["train", "dpo", "--recipe", "world_tiny/dpo.yaml", "--data", f"{W}/sft.jsonl", "--out", NEW],
        "prompt",
    ),
    ("train-unknown-field", [*TRAIN_SFT, "--out", NEW, "nosuch=1"], "nosuch"),
    ("train-lr-is-not-a-field", [*TRAIN_SFT, "--out", NEW, "lr=1e-4"], "learning_rate"),
    ("train-out-not-a-run", [*TRAIN_SFT, "--out", f"{W}/notrun"], "not a scotoma run directory"),
    ("train-unknown-accelerate-config", ["train", "accelerate-config", "zero9"], "zero9"),
    ("bench-unknown-engine", [*BENCH, "--engine", "spark", "--out", NEW], "spark"),
    ("synth-unknown-engine", ["synth", "visc", "--out", NEW, "--engine", "ray:actors=0"], "actors"),
    # loop
    ("loop-out-not-a-run", ["loop", "--out", f"{W}/notrun"], "not a scotoma run directory"),
    ("loop-unknown-field", ["loop", "nosuch=1", "--out", NEW], "nosuch"),
    ("loop-base-is-answerer", ["loop", "--base", "builtin:answerer", "--out", NEW], "answerer itself"),
    (
        "loop-secret-in-answerer",
        ["loop", "--answerer", "openai:m@http://127.0.0.1:9/v1?api_key=sk-3", "--out", NEW],
        "secret",
    ),
    # report and taxonomy
    ("report-missing-run", ["report", f"{W}/nowhere", "--out", NEW], "nowhere"),
    ("report-not-a-run", ["report", f"{W}/notrun", "--out", NEW], "notrun"),
    ("report-out-is-a-file", ["report", f"{W}/other_run", "--out", f"{W}/afile.txt"], "afile.txt"),
    ("taxonomy-needs-models", ["taxonomy", f"{W}/other_run", "--out", NEW], "--primitives"),
    ("taxonomy-missing-run", ["taxonomy", f"{W}/nowhere", "--out", NEW, "--stand-in"], "nowhere"),
    # world
    ("world-n-negative", ["world", "generate", "--out", NEW, "--n", "-1"], "--n"),
    ("world-workers-zero", ["world", "generate", "--out", NEW, "--workers", "0"], "--workers"),
    (
        "world-out-not-a-run",
        ["world", "generate", "--out", f"{W}/notrun", "--n", "2"],
        "not a scotoma run directory",
    ),
    ("world-out-is-a-file", ["world", "generate", "--out", f"{W}/afile.txt", "--n", "2"], "is a file"),
    ("world-unknown-family", ["world", "generate", "--out", NEW, "--families", "nope"], "unknown families"),
    (
        "world-too-many-images",
        ["world", "generate", "--out", NEW, "--images-per-sample", "9"],
        "images_per_sample",
    ),
    ("world-bad-range", ["world", "generate", "--out", NEW, "--objects", "a-b"], "N1-N2"),
    ("world-show-missing", ["world", "show", f"{W}/nowhere"], "scotoma world generate"),
    ("world-show-no-sample", ["world", "show", f"{W}/worldrun", "7-7"], "no sample"),
    ("world-train-no-budget", ["world", "train-answerer", "--out", NEW], "--minutes and/or --samples"),
    (
        "world-train-not-a-run",
        ["world", "train-answerer", "--out", f"{W}/notrun", "--samples", "1"],
        "not a scotoma run directory",
    ),
    (
        "world-ship-missing-eval",
        ["world", "ship-model", f"{W}/notrun", "--name", "answerer", "--evaluation", f"{W}/nowhere.json"],
        "nowhere.json",
    ),
    # serve (startup)
    ("serve-bad-faults", ["serve", "--model", "scripted:a", "--faults", "boom=1"], "KEY=VALUE"),
    ("serve-spec-without-kind", ["serve", "--model", "nokind", "--port", "0"], "has no kind"),
    ("serve-port-out-of-range", ["serve", "--model", "scripted:a", "--port", "70000"], "--port"),
    ("serve-empty-key", ["serve", "--model", "scripted:a", "--port", "0", "--api-key", " "], "empty"),
    ("serve-limit-zero", ["serve", "--model", "scripted:a", "--max-images", "0"], "--max-images"),
    # the CLI itself
    ("unknown-option", ["bench", "world", "--nope"], "No such option"),
    ("unknown-command", ["nosuchjob"], "nosuchjob"),
]


@pytest.mark.parametrize(("argv", "says"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_bad_cli_input_gets_one_line_and_exit_2(ws: Path, argv: list[str], says: str):
    args = [a.replace(W, str(ws)) for a in argv]
    before = snapshot(ws)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    assert says in errors[0], errors[0]
    assert "Traceback" not in result.output and "sk-secret" not in result.output
    assert snapshot(ws) == before  # nothing written, changed or removed


def test_a_port_in_use_is_one_line(ws: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--model", "scripted:a", "--port", str(port)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_debug_shows_the_traceback_and_bugs_exit_1(ws: Path, monkeypatch: pytest.MonkeyPatch):
    args = ["bench", "nosuch", "--model", "scripted:a", "--out", str(ws / "new")]
    debugged = CliRunner().invoke(app, ["--debug", *args])
    assert debugged.exit_code == 2 and "Traceback" in debugged.stderr
    assert debugged.stderr.strip().splitlines()[-1].startswith("error: unknown benchmark")

    import scotoma.bench

    def broken(*args, **kwargs):
        raise KeyError("an internal bug")

    monkeypatch.setattr(scotoma.bench, "run_bench", broken)
    bug = CliRunner().invoke(app, ["bench", "world", "--model", "scripted:a", "--out", str(ws / "new")])
    assert bug.exit_code == 1 and bug.stderr.count("\n") == 1
    assert "unexpected KeyError" in bug.stderr and "--debug" in bug.stderr
    assert not (ws / "new").exists()


# ---------------------------------------------------------------------------------------------- serve


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _chat(*parts: dict | str, **extra) -> dict:
    content = [{"type": "text", "text": p} if isinstance(p, str) else p for p in parts]
    return {"model": "m", "messages": [{"role": "user", "content": content}], **extra}


def _image(png: bytes) -> dict:
    return {"type": "image_url", "image_url": {"url": _data_url(png)}}


LIMITS = ServeLimits(max_body_bytes=200_000, max_images=2, max_image_pixels=1_000_000, max_n=4, max_tokens=64)
KEY = {"Authorization": "Bearer k"}

# (id, method, path, headers, body (dict, raw bytes or a function of nothing), status, what the message says)
SERVE_CASES: list[tuple[str, str, str, dict, object, int, str]] = [
    ("no-key", "POST", "/v1/chat/completions", {}, _chat("q"), 401, "API key"),
    ("key-without-bearer", "POST", "/v1/chat/completions", {"Authorization": "k"}, _chat("q"), 401, "Bearer"),
    ("wrong-key", "POST", "/v1/chat/completions", {"Authorization": "Bearer x"}, _chat("q"), 401, "API key"),
    ("models-without-key", "GET", "/v1/models", {}, None, 401, "API key"),
    ("openapi-without-key", "GET", "/openapi.json", {}, None, 401, "API key"),
    ("stop-not-a-string", "POST", "/v1/chat/completions", KEY, _chat("q", stop=5), 400, "'stop'"),
    ("stop-list-of-numbers", "POST", "/v1/chat/completions", KEY, _chat("q", stop=[1]), 400, "'stop'"),
    ("not-json", "POST", "/v1/chat/completions", KEY, b"{nope", 400, "not valid JSON"),
    ("not-an-object", "POST", "/v1/chat/completions", KEY, b"[1, 2]", 400, "JSON object"),
    ("no-messages", "POST", "/v1/chat/completions", KEY, {"model": "m"}, 400, "messages"),
    ("streaming", "POST", "/v1/chat/completions", KEY, _chat("q", stream=True), 400, "streaming"),
    ("body-too-large", "POST", "/v1/chat/completions", KEY, _chat("x" * 300_000), 413, "request body over"),
    (
        "too-many-images",
        "POST",
        "/v1/chat/completions",
        KEY,
        _chat(*[_image(_small_png())] * 3),
        400,
        "at most 2",
    ),
    (
        "huge-image",
        "POST",
        "/v1/chat/completions",
        KEY,
        lambda: _chat(_image(_huge_png())),
        400,
        "megapixels",
    ),
    (
        "image-by-path",
        "POST",
        "/v1/chat/completions",
        KEY,
        _chat({"type": "image_url", "image_url": {"url": "/etc/passwd"}}),
        400,
        "not a data URL",
    ),
    ("n-too-large", "POST", "/v1/chat/completions", KEY, _chat("q", n=1000), 400, "n=1000"),
    (
        "max-tokens-too-large",
        "POST",
        "/v1/chat/completions",
        KEY,
        _chat("q", max_tokens=10**9),
        400,
        "max_tokens",
    ),
    (
        "n-not-a-number",
        "POST",
        "/v1/chat/completions",
        KEY,
        _chat("q", n="many"),
        400,
        "invalid generation settings",
    ),
]


@pytest.fixture(scope="module")
def served() -> TestClient:
    return TestClient(create_app(ScriptedModel("hello"), api_key="k", limits=LIMITS))


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "says"),
    [c[1:] for c in SERVE_CASES],
    ids=[c[0] for c in SERVE_CASES],
)
def test_bad_serve_request_gets_an_openai_error(
    served: TestClient, method: str, path: str, headers: dict, body: object, status: int, says: str
):
    if isinstance(body, Callable):
        body = body()
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    response = served.request(method, path, headers=headers, content=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert says in error["message"] and error["code"]


def test_the_key_is_checked_before_the_faults_and_health_stays_open():
    faulty = TestClient(create_app(ScriptedModel("hello"), api_key="k", faults="500=1.0"))
    assert faulty.post("/v1/chat/completions", json=_chat("q")).status_code == 401  # not the fault's 500
    assert faulty.post("/v1/chat/completions", json=_chat("q"), headers=KEY).status_code == 500  # injected
    assert faulty.get("/health").status_code == 200
    assert (
        faulty.post(
            "/v1/chat/completions", json=_chat("q"), headers={"Authorization": "bearer k"}
        ).status_code
        == 500
    )


def test_a_good_request_is_answered(served: TestClient):
    response = served.post("/v1/chat/completions", json=_chat(_image(_small_png()), "q"), headers=KEY)
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "hello"


def test_the_suite_covers_every_job():
    jobs = {argv[0] for _, argv, _ in CLI_CASES}
    assert {"bench", "probe", "synth", "train", "loop", "report", "taxonomy", "world", "serve"} <= jobs
    assert len(CLI_CASES) + len(SERVE_CASES) >= 60


def test_a_server_that_refuses_the_key_is_one_line(ws: Path, monkeypatch: pytest.MonkeyPatch):
    from scotoma.serve import serve_in_thread

    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with serve_in_thread(create_app(ScriptedModel("yes"), api_key="right")) as url:
        args = ["bench", "world", "--model", f"openai:m@{url}", "--limit", "2", "--out", str(ws / "new")]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "HTTP 401" in result.stderr and "sk-wrong" not in result.stderr
    assert not (ws / "new").exists()
