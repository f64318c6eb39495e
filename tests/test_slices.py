"""Failure slices: the Wilson interval and the lift ranking against hand-computed numbers, the predicates
of world and free-text questions, and the slices a probe run writes and shows."""

from __future__ import annotations

import json

import pytest

from scotoma.models import ScriptedModel
from scotoma.models.embed import HashingEmbedder
from scotoma.probe.config import ProbeConfig
from scotoma.probe.run import run_probe
from scotoma.slices import (
    bench_slices,
    question_predicates,
    rank_slices,
    record_slices,
    text_predicates,
    wilson_interval,
    world_predicates,
)
from scotoma.world.programs.parse import parse
from scotoma.world.scenes.scene import Box, Scene, WorldObject


def test_wilson_interval_matches_hand_computed_values() -> None:
    # 3 of 10 at 95%: center (0.3 + 1.92/10) / 1.384, half 1.96 * sqrt(0.021 + 0.0096) / 1.384
    assert wilson_interval(3, 10) == pytest.approx((0.10779, 0.60322), abs=1e-5)
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.16113), abs=1e-5)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_rank_slices_by_lift_lower_bound() -> None:
    # 40 questions, 10 failed (overall 25%). "a": 10 questions, 6 failed; "b": 20 questions, 8 failed;
    # "c": 5 questions, 5 failed (below the support of 10).
    rows = []
    for i in range(40):
        predicates = {"all"}
        if i < 10:
            predicates.add("a")
        if 10 <= i < 30:
            predicates.add("b")
        if i >= 35:
            predicates.add("c")
        failed = i < 6 or 10 <= i < 14 or i >= 35  # a: 6, b: 4 ... plus c's five
        rows.append((predicates, failed, i))
    # failures: a 6 (0..5), b 4 (10..13), c 5 (35..39): 15 of 40 overall
    ranked = rank_slices(rows, min_support=10, top=None)
    assert [s.predicate for s in ranked] == ["a", "all", "b"]
    a = ranked[0]
    assert (a.support, a.failures, a.failure_rate) == (10, 6, 0.6)
    assert a.lift == pytest.approx(0.6 / 0.375)
    # Wilson for 6 of 10: (0.31267, 0.83182), divided by the overall rate 0.375
    assert (a.lift_low, a.lift_high) == pytest.approx((0.31267 / 0.375, 0.83182 / 0.375), abs=1e-4)
    assert a.examples == (0, 1)  # the first two failed rows
    assert ranked[1].lift == pytest.approx(1.0)
    assert rank_slices([({"x"}, False, 0)] * 12) == []  # nothing failed: no slice has lift


def test_world_predicates_from_the_program_and_scene() -> None:
    box = Box(tuple(WorldObject("circle", "blue", 10, 10 * i, 0) for i in range(5)))
    scene = Scene((Box((WorldObject("square", "yellow", 20, 0, 50),)), box))
    found = world_predicates(parse("Is there a yellow square touching the left edge in Image 2?"), scene)
    assert {"color:yellow", "shape:square", "edge:left", "image:2", "image:last", "images:2"} <= found
    assert {"skill:existence", "family:localized", "objects>=5"} <= found and "objects>=6" not in found
    assert "image:1" not in found


def test_text_predicates_for_any_question() -> None:
    found = text_predicates("How many red cars are parked here?", topics=["counting vehicles"])
    assert found == {"prefix:how many", "word:red", "word:cars", "word:parked", "word:here",
                     "topic:counting vehicles"}  # fmt: skip
    scene = Scene((Box((WorldObject("square", "yellow", 20, 0, 50),)),))
    assert question_predicates("tell me a story", scene) == {"prefix:tell me", "word:tell", "word:story"}


def test_record_slices_skip_invalid_and_unjudged() -> None:
    records = [{"question": "Is it red?", "valid": True, "failed": True, "key": "k"}] * 10
    records += [{"question": "Is it red?", "valid": False, "failed": False}] * 10
    records += [{"question": "Is it blue?", "valid": True, "failed": False, "key": "j"}] * 10
    top = record_slices(records)[0]
    assert (top.predicate, top.support, top.failures, top.lift) == ("word:red", 10, 10, 2.0)


def test_probe_run_writes_and_shows_failure_slices(tmp_path) -> None:
    asks = (
        "<response_1>How many yellow objects are there?</response_1>"
        "<response_2>Is there a blue circle?</response_2>"
    )
    models = {"scripted:q": ScriptedModel(asks)}
    config = ProbeConfig(
        questioner="scripted:q", answerer="scotoma:yellow-unseen", methods=["zero_shot"], world_samples=12,
        eval_generations=1, batch_size=4, min_skill_questions=1, cache=None,
    )  # fmt: skip
    result = run_probe(config, tmp_path / "run", models=models, embedder=HashingEmbedder(), quiet=True)
    slices = json.loads((result.out_dir / "metrics.json").read_text())["failure_slices"]
    assert slices and slices[0]["lift"] > 1
    predicates = [s["predicate"] for s in slices]
    assert "color:yellow" in predicates[:3]
    html = (result.out_dir / "summary.html").read_text()
    assert "Top failure slices" in html and "color:yellow" in html


def test_bench_slices_from_records() -> None:
    def record(i: int, subtask: str, correct: bool) -> dict:
        question = f"How many {'squares' if subtask == 'A' else 'circles'} are there?"
        return {"item_id": f"i{i}", "question": question, "output": "2", "target": "3", "subtask": subtask,
                "skills": ["counting"], "correct": correct}  # fmt: skip

    records = [record(i, "A", i % 5 != 0) for i in range(10)] + [record(i, "B", True) for i in range(10, 20)]
    # failures: A 2 of 10 (i = 0, 5), B 0 of 10; overall 2 of 20, so subtask:A has lift 2
    top = bench_slices(records)
    assert [s.predicate for s in top[:2]] == ["subtask:A", "word:squares"]
    assert (top[0].support, top[0].failures, top[0].lift) == (10, 2, 2.0)
    assert top[0].examples[0] == {"item_id": "i0", "question": "How many squares are there?", "output": "2",
                                  "target": "3"}  # fmt: skip
