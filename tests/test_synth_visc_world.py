"""The exact VISC stages on scene graphs, and world chains that are correct by construction."""

import itertools
import random

import pytest

from scotoma.synth import SynthDrop, WorldChainConfig, WorldChainSynth
from scotoma.synth.visc_compose import ChainPlan, combine, plan_change_between, plan_first_appearance, realize
from scotoma.synth.visc_world import annotate, connect, profile_box, run_stages
from scotoma.world import Box, Filter, FirstAppearance, Scene, SequenceStep, WorldObject, judge
from scotoma.world.programs.nodes import Sum
from scotoma.world.sampling.generate_sets import SceneSample

CIRCLE = WorldObject("circle", "blue", 20, 10, 10)
CIRCLE_MOVED = WorldObject("circle", "blue", 20, 70, 10)
SQUARE = WorldObject("square", "yellow", 10, 60, 60)
TRIANGLE = WorldObject("triangle", "black", 20, 40, 70)
# A sequence: the blue circle moves (1 -> 2), then a black triangle appears (2 -> 3).
SEQUENCE = SceneSample(
    Scene((Box((CIRCLE, SQUARE)), Box((CIRCLE_MOVED, SQUARE)), Box((CIRCLE_MOVED, SQUARE, TRIANGLE)))),
    "sequence",
    steps=(SequenceStep("moved", CIRCLE_MOVED, CIRCLE), SequenceStep("added", TRIANGLE)),
)


def test_profiles_list_every_object_and_count_kinds():
    profile = profile_box(SEQUENCE.scene.boxes[2], 3)
    assert profile.image == 3
    assert profile.kinds == {"black triangle": 1, "blue circle": 1, "yellow square": 1}
    assert "Objects: medium blue circle , small yellow square , medium black triangle." in profile.text
    assert "blue circle at the top right" in profile.text


def test_connections_are_object_and_event_oriented():
    profiles = [profile_box(b, k) for k, b in enumerate(SEQUENCE.scene.boxes, 1)]
    edges = {c.pair: c for c in connect(profiles, SEQUENCE)}
    assert set(edges) == {(1, 2), (1, 3), (2, 3)}
    assert edges[(1, 2)].basis == ("object", "event")
    assert edges[(1, 3)].basis == ("object",)  # not one edit apart
    assert edges[(2, 3)].shared == ("blue circle", "yellow square")


def test_relevance_is_temporal_spatial_semantic_as_the_scene_says():
    profiles, connections, relevance = run_stages(SEQUENCE)
    first, second, skip = relevance[(1, 2)], relevance[(2, 3)], relevance[(1, 3)]
    assert first.relations["temporal"] == "Image 2 follows Image 1: the blue circle moved"
    assert first.relations["spatial"] == (
        "the small yellow square is at the same place in both; "
        "the blue circle moved from the top left to the top right"
    )
    assert first.relations["semantic"] == "both show blue circles (1 and 1), yellow squares (1 and 1)"
    assert second.relations["temporal"] == "Image 3 follows Image 2: the black triangle appeared"
    assert skip.kinds == ("spatial", "semantic")  # images 1 and 3 are two edits apart: not temporal
    assert annotate(connections[0], SEQUENCE, profiles) == first


def test_first_appearance_stops_where_the_object_appears():
    profiles, connections, _ = run_stages(SEQUENCE)
    plan = plan_first_appearance(random.Random(0), SEQUENCE, profiles, connections, max_images=4)
    assert plan.composite == FirstAppearance(Filter("triangle", "black"))
    assert plan.path == (1, 2, 3) and [focus for _, focus in plan.steps] == [(1, 2), (2, 3)]
    done = realize(plan, SEQUENCE, random.Random(0))
    assert [s.answer for s in done.chain.steps] == ["nothing", "the black triangle"]
    assert done.answer == done.chain.final_answer == "image 3"
    assert [s.stop for s in done.chain.steps] == [False, True]
    assert "sequence:order" in done.skills


def test_change_between_combines_the_one_change():
    profiles, connections, _ = run_stages(SEQUENCE)
    seen = set()
    for seed in range(12):
        plan = plan_change_between(random.Random(seed), SEQUENCE, profiles, connections, max_images=4)
        done = realize(plan, SEQUENCE, random.Random(seed))
        seen.add((plan.composite.change, done.answer))
    assert seen == {("moved", "the blue circle"), ("appeared", "the black triangle")}


def test_a_chain_whose_sub_answers_disagree_is_dropped():
    f = Filter("circle", "blue")
    wrong = ChainPlan("sum", Sum(f, (1, 2, 3)), ((Sum(f, (1, 2)), (1, 2)),), (1, 2, 3))  # forgets Image 3
    assert combine(wrong, ["2"]) == "2"
    with pytest.raises(SynthDrop, match="sub-answers"):
        realize(wrong, SEQUENCE, random.Random(0))


def test_world_chains_are_correct_by_construction():
    synth = WorldChainSynth(WorldChainConfig(images_per_sample=(3, 6), max_chain_images=5), seed=3)
    kinds = set()
    for index in range(60):
        sample = synth.sample(index)
        scene = Scene.from_nlvr(sample.meta["scene"])
        kinds.add(sample.meta["composite"])
        # the English of every question parses back to a program the oracle answers the same way
        assert judge(sample.question, scene).answer == sample.answer == sample.chain.final_answer
        for step in sample.chain.steps:
            assert judge(step.sub_question, scene).answer == step.answer
            assert set(step.focus) <= set(sample.meta["path"])
        if sample.meta["composite"] in ("sum", "difference"):
            assert sum(int(s.answer) for s in sample.chain.steps) == int(sample.answer)
        if sample.meta["composite"] == "sum":  # each image focused once
            focused = [k for s in sample.chain.steps for k in s.focus]
            assert sorted(focused) == sorted(set(focused)) == sample.meta["path"]
        path = sample.meta["path"]
        assert 3 <= len(path) <= 5 and len(sample.chain.steps) >= 2
        edges = {tuple(c["pair"]) for c in sample.meta["connections"]}
        assert all((min(a, b), max(a, b)) in edges for a, b in itertools.pairwise(path))
        assert all(r["relations"] for r in sample.meta["relevance"])
        assert len(sample.images) == len(scene.boxes)
        assert sample.prompt.startswith(sample.question + "\n")
    assert kinds == {"sum", "difference", "first_appearance", "change_between"}
    assert synth.timer.stages["question"].items == 60


def test_the_same_index_gives_the_same_sample():
    one = WorldChainSynth(seed=5).sample(7)
    two = WorldChainSynth(seed=5).sample(7)
    assert one.to_dict() == two.to_dict()


def test_skills_select_composites():
    synth = WorldChainSynth(WorldChainConfig(skills=("sequence:order",), instruction=False), seed=0)
    assert synth.composites == ("first_appearance",)
    sample = synth.sample(0)
    assert "sequence:order" in sample.skills and sample.prompt == sample.question
    with pytest.raises(ValueError, match="no composite needs"):
        WorldChainSynth(WorldChainConfig(skills=("spatial:on",)))
    with pytest.raises(ValueError, match="images_per_sample"):
        WorldChainConfig(images_per_sample=(2, 4))
