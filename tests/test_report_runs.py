"""Loading run directories for the report; also the builders of probe, bench and taxonomy run fixtures
that tests/test_report.py and tests/test_report_browser.py reuse (written with RunDir, as the jobs do)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from scotoma.bench.metrics import summarize
from scotoma.models.embed import HashingEmbedder
from scotoma.report import questions_to_embed
from scotoma.report.runs import (
    BenchRun,
    ProbeRun,
    RunError,
    load_run,
    load_runs,
    taxonomy_questions,
)
from scotoma.runlog import RunDir
from scotoma.taxonomy import ClusterConfig, TaxonomyConfig, world_questions

FAST_TAXONOMY = TaxonomyConfig(
    cluster=ClusterConfig(method="agglomerative", min_cluster_size=3, distance_threshold=0.6)
)


# -- fixture builders --------------------------------------------------------------------------------------
def write_run(
    path: Path,
    command: str,
    records: list[dict[str, Any]],
    config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """A run directory as the jobs write it (the records' images were saved under images/ first)."""
    with RunDir.open(path, command, config or {}, seed=0, own_files=("images",)) as run:
        run.append(records)
        if metrics is not None:
            run.write_metrics(metrics)
    return path


def save_images(run_dir: Path, images) -> list[dict[str, Any]]:
    """Write in-memory images under run_dir/images and return their refs with run-relative uris."""
    (run_dir / "images").mkdir(parents=True, exist_ok=True)
    refs = []
    for image in images:
        name = f"images/{image.sha256[:16]}.png"
        (run_dir / name).write_bytes(image.data)
        refs.append({**image.to_dict(), "uri": name})
    return refs


def _draw(*parts: Any) -> float:
    """A deterministic number in [0, 1) from the parts."""
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:8], 16) / 16**8


def probe_records(
    run_dir: Path,
    method: str,
    seed: int,
    n: int,
    fail_rate: float,
    phase: str = "eval",
    steps: int = 0,
    invalid_rate: float = 0.1,
) -> list[dict[str, Any]]:
    """`n` records of world questions; each fails with `fail_rate`, is invalid with `invalid_rate`."""
    records = []
    for i, q in enumerate(world_questions(n, seed=seed)):
        valid = _draw(method, seed, i, "v") >= invalid_rate
        failed = valid and _draw(method, seed, i, "f") < fail_rate
        records.append(
            {
                "key": f"{method}/{phase}/{i}",
                "question": q.question,
                "valid": valid,
                "judged": True,
                "failed": failed,
                "correct": None if not valid else not failed,
                "answer": "3" if failed else "2",
                "reference": "2",
                "reason": "the target miscounted" if failed else "right",
                "skills": list(q.exact_skills),
                "method": method,
                "phase": phase,
                "step": (i * steps) // n if steps else None,
                "images": save_images(run_dir, q.images),
            }
        )
    return records


def probe_run(
    path: Path, method: str, answerer: str, seed: int, fail_rate: float, train_steps: int = 0, n: int = 60
) -> Path:
    """A probe run: eval records, plus train records over `train_steps` steps when asked."""
    path.mkdir(parents=True, exist_ok=True)
    records = probe_records(path, method, seed, n, fail_rate)
    if train_steps:
        records += probe_records(path, method, seed + 100, n, fail_rate, "train", train_steps)
    config = {"method": method, "questioner": "builtin:questioner", "answerer": answerer}
    return write_run(path, "probe", records, config, {"methods": {method: {"semantic_diversity": 12.5}}})


def bench_run(path: Path) -> Path:
    """A small bench run with two subtasks, two image orders per item."""
    records = []
    for item in range(6):
        for order in ([0, 1], [1, 0]):
            correct = (item + order[0]) % 3 != 0
            records.append(
                {
                    "key": f"IQ/{item}/{order}",
                    "item_id": f"i{item}",
                    "setting": "IQ",
                    "image_order": order,
                    "option_order": "AB",
                    "identity": order == [0, 1],
                    "subtask": "count" if item < 3 else "order",
                    "level": None,
                    "n_images": 2,
                    "kind": "choice",
                    "question": "Which?",
                    "target": "A",
                    "output": "A" if correct else "B",
                    "extracted": "A" if correct else "B",
                    "answer_original": "A" if correct else "B",
                    "parsed": True,
                    "method": "rule",
                    "correct": correct,
                }
            )
    metrics = {"benchmark": "mini", "model": "scripted:", **summarize(records, n_boot=50)}
    return write_run(path, "bench mini", records, {"benchmark": "mini"}, metrics)


def world_runs(root: Path) -> list[Path]:
    """zero_shot and rl against a small target, rl also against a large one; rl has training records."""
    return [
        probe_run(root / "zero_shot", "zero_shot", "small", seed=11, fail_rate=0.3),
        probe_run(root / "rl_small", "rl", "small", seed=12, fail_rate=0.6, train_steps=10),
        probe_run(root / "rl_large", "rl", "large", seed=13, fail_rate=0.1),
    ]


def hashed_vectors(runs: list[Path]) -> dict[str, Any]:
    """Question text -> hashing embedding for the questions of `runs` the report would embed, as the CLI
    computes them for `write_report(vectors=...)`."""
    texts = questions_to_embed(load_runs(runs))
    return dict(zip(texts, HashingEmbedder().encode(texts), strict=True))


def taxonomy_run(root: Path, runs: list[Path]) -> Path:
    """The stand-in taxonomy of `runs`, with caches under root."""
    from scotoma.taxonomy import taxonomy_for_runs

    taxonomy_for_runs(
        taxonomy_questions(load_runs(runs)),
        root / "taxonomy",
        stand_in=True,
        embedder=HashingEmbedder(),
        config=FAST_TAXONOMY,
        cache=root / "responses.sqlite",
        store=root / "taxonomy.sqlite",
    )
    return root / "taxonomy"


# -- the loader --------------------------------------------------------------------------------------------
def test_probe_run_rows(tmp_path):
    path = probe_run(tmp_path / "rl", "rl", "small", seed=1, fail_rate=0.5, train_steps=5, n=20)
    run = load_run(path)
    assert isinstance(run, ProbeRun) and len(run.rows) == 40
    row = run.rows[0]
    assert row.method == "rl" and row.phase == "eval" and row.answerer == "small"
    assert row.questioner == "builtin:questioner"  # from the spec's config
    assert row.images and Path(row.images[0].uri).is_file()  # relative uri resolved against the run
    assert row.images[0].load().size == (100, 100)  # and the hash checks out
    assert row.skills and row.question_id == row.question_id
    train = [r for r in run.rows if r.phase == "train"]
    assert [r.step for r in train[:5]] == [0, 0, 0, 0, 1] and train[-1].step == 4
    assert [r.order for r in run.rows] == list(range(40))


def test_optional_fields_may_be_missing(tmp_path):
    records = [
        {"key": "a", "question": "Is there a circle?", "valid": True, "correct": False},
        {"key": "b", "question": "Is there a square?", "valid": True, "correct": True, "justification": "ok"},
        {"key": "c", "question": "Bad?", "valid": False},
        {"key": "d", "question": "Odd?", "valid": True, "judged": False},
        {"key": "e", "question": None, "valid": False},
    ]
    run = load_run(write_run(tmp_path / "zs", "probe", records, {"method": "zero_shot"}))
    a, b, c, d, e = run.rows
    assert a.failed is True and b.failed is False and c.failed is None and d.failed is None
    assert a.method == "zero_shot" and a.step is None and a.images == () and a.skills == ()
    assert b.reason == "ok" and not d.judged and e.question is None
    assert [q.question for q in taxonomy_questions([run])] == ["Is there a circle?", "Is there a square?"]


def test_images_from_the_runs_samples_file(tmp_path):
    ref = {"sha256": "ab" * 32, "uri": "img/x.png", "width": 10, "height": 10}
    path = write_run(tmp_path / "r", "probe", [{"key": "k", "question": "Q?", "valid": True, "sample": "s1"}])
    (path / "samples.jsonl").write_text(json.dumps({"key": "s1", "images": [ref]}) + "\n")
    (row,) = load_run(path).rows
    assert row.images[0].uri == str(path / "img" / "x.png") and row.images[0].width == 10


def test_what_is_not_a_run_is_refused_clearly(tmp_path):
    with pytest.raises(RunError, match="not a run directory"):
        load_run(tmp_path)
    path = write_run(tmp_path / "train", "train sft", [{"key": "a", "loss": 1.0}])
    with pytest.raises(RunError, match="not of probe, bench or taxonomy"):
        load_run(path)
    path = write_run(tmp_path / "bad", "probe", [{"key": "a", "question": "Q?"}])
    with pytest.raises(RunError, match="has no valid"):
        load_run(path)


def test_a_torn_last_line_is_skipped_but_a_damaged_middle_is_not(tmp_path):
    path = write_run(
        tmp_path / "r", "probe", [{"key": "a", "question": "Q?", "valid": True, "correct": True}]
    )
    with open(path / "records.jsonl", "a") as f:
        f.write('{"key": "b", "quest')
    assert len(load_run(path).rows) == 1
    (path / "records.jsonl").write_text(
        '{"key": "b", "quest\n{"key": "a", "question": "Q?", "valid": true}\n'
    )
    with pytest.raises(RunError, match="line 1 is not JSON"):
        load_run(path)


def test_kind_is_read_from_the_records_when_the_command_does_not_say(tmp_path):
    path = write_run(tmp_path / "r", "scotoma custom", [{"key": "a", "question": "Q?", "valid": True}])
    assert isinstance(load_run(path), ProbeRun)


def test_bench_runs_with_and_without_metrics(tmp_path):
    run = load_run(bench_run(tmp_path / "b"))
    assert isinstance(run, BenchRun) and run.label == "mini - scripted:"
    assert set(run.metrics["settings"]["IQ"]["by_subtask"]) == {"count", "order"}
    (tmp_path / "b" / "metrics.json").unlink()
    again = load_run(tmp_path / "b")
    assert (
        again.metrics["settings"]["IQ"]["accuracy"]["value"]
        == run.metrics["settings"]["IQ"]["accuracy"]["value"]
    )


def test_taxonomy_for_runs_needs_valid_questions(tmp_path):
    from scotoma.taxonomy import taxonomy_for_runs

    path = write_run(tmp_path / "r", "probe", [{"key": "a", "question": "Q?", "valid": False}])
    questions = taxonomy_questions(load_runs([path]))
    with pytest.raises(ValueError, match=f"no valid, judged question in {path}"):
        taxonomy_for_runs(questions, tmp_path / "tax", runs=[path], stand_in=True)
