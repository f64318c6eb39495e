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


def test_distinct_slices_leave_out_overlapping_ones() -> None:
    # 20 questions; "all" holds every one, "same" and "twin" the first 8 (6 failed), "inner" questions 4-7
    # (2 failed), "other" the last 10 (2 failed): 8 of 20 failed overall (0.4)
    rows = []
    for i in range(20):
        predicates = {"all"} | ({"same", "twin"} if i < 8 else set()) | ({"inner"} if 4 <= i < 8 else set())
        predicates |= {"other"} if i >= 10 else set()
        rows.append((predicates, i < 6 or i in (10, 11), i))
    every = [s.predicate for s in rank_slices(rows, min_support=4, top=None)]
    # Wilson lower bounds 0.4093 (6/8), 0.2188 (8/20), 0.1500 (2/4), 0.0567 (2/10); ties by name
    assert every == ["same", "twin", "all", "inner", "other"]
    # Jaccard with what is kept: "twin" 8/8 of "same", "inner" 4/8 of it: left out; "all" 8/20 of "same":
    # kept; "other" 10/20 of "all": left out
    assert [s.predicate for s in rank_slices(rows, min_support=4, top=None, distinct=True)] == ["same", "all"]


def test_world_predicates_from_the_program_and_scene() -> None:
    box = Box(tuple(WorldObject("circle", "blue", 10, 10 * i, 0) for i in range(5)))
    scene = Scene((Box((WorldObject("square", "yellow", 20, 0, 50),)), box))
    found = world_predicates(parse("Is there a yellow square touching the left edge in Image 2?"), scene)
    assert {"color:yellow", "shape:square", "edge:left", "image:2", "image:last", "images:2"} <= found
    assert {"skill:existence", "family:localized", "objects>=5"} <= found and "objects>=6" not in found
    assert "image:1" not in found


def test_object_predicates_read_what_each_part_of_the_program_looks_at() -> None:
    from scotoma.world.programs.nodes import Count, Exists, Filter, Relation, SizeCompare, Towers

    yellow_circle = WorldObject("circle", "yellow", 20, 5, 5)
    blue_triangle = WorldObject("triangle", "blue", 10, 70, 60)
    image_2 = Box((
        WorldObject("square", "black", 30, 0, 0), WorldObject("circle", "blue", 10, 50, 0),
        WorldObject("square", "blue", 10, 50, 50), WorldObject("triangle", "yellow", 10, 80, 80),
    ))  # fmt: skip
    scene = Scene((Box((yellow_circle, blue_triangle)), image_2))

    def objects(program: object) -> set[str]:
        return {p for p in world_predicates(program, scene) if p.startswith("object:")}

    # every image: the two squares of Image 2 (large black, small blue), a box of 4, the last image
    assert objects(Count(Filter(shape="square"))) == {
        "object:color:black", "object:color:blue", "object:shape:square", "object:size:large",
        "object:size:small", "object:objects>=2", "object:objects>=3", "object:objects>=4",
        "object:image:last",
    }  # fmt: skip
    # Image 1 only: the yellow circle, in a box of 2, not the last image; no colour is named
    assert objects(Exists(Filter(shape="circle"), image=1)) == {
        "object:color:yellow", "object:shape:circle", "object:size:medium", "object:objects>=2"
    }  # fmt: skip
    # a relation's target is looked at too, in the same image
    left_of = Count(Filter(shape="circle", relation=Relation("left_of", Filter(color="blue"))), image=1)
    assert {"object:color:yellow", "object:color:blue", "object:shape:triangle"} <= objects(left_of)
    # each side of a size comparison in its own image: the yellow triangle of Image 2 is not read
    sides = SizeCompare(Filter(color="yellow"), "larger", Filter(shape="square", color="black"), 1, 2)
    assert objects(sides) == {
        "object:color:yellow", "object:shape:circle", "object:size:medium", "object:color:black",
        "object:shape:square", "object:size:large", "object:image:last", "object:objects>=2",
        "object:objects>=3", "object:objects>=4",
    }  # fmt: skip
    assert "object:color:black" in objects(Count(Towers(), image=2))  # towers are stacked squares
    assert objects(Count(Filter(color="yellow"), image=3)) == set()  # no Image 3: nothing is looked at


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
    # every yellow count fails; the top slices (what those questions look at) fail every time
    assert "color:yellow" in predicates and all(s["failures"] == s["support"] for s in slices[:3])
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
