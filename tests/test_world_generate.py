"""Scene generators: valid NLVR1-style boxes, planted and banned objects, towers, structured sets."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter

import numpy as np
import pytest

from scotoma.world.sampling.generate import SceneSampler
from scotoma.world.sampling.generate_sets import SceneSample
from scotoma.world.sampling.specs import BoxConstraints, ObjectSpec, SamplingError, SceneConfig, touches
from scotoma.world.scenes.scene import Box, SceneError, WorldObject


def identity(obj: WorldObject) -> tuple[str, str, int]:
    return (obj.shape, obj.color, obj.size)


def gap_between(a: WorldObject, b: WorldObject) -> int:
    return max(b.x - a.right, a.x - b.right, b.y - a.bottom, a.y - b.bottom)


def test_boxes_are_valid_and_spread_over_the_config():
    sampler = SceneSampler(SceneConfig(n_objects=(1, 8), tower_prob=0.0))
    rng = random.Random(0)
    counts, shapes, edges = Counter(), Counter(), 0
    for _ in range(300):
        box = sampler.box(rng).validate()
        counts[len(box.objects)] += 1
        for i, a in enumerate(box.objects):
            shapes[a.shape, a.color, a.size] += 1
            edges += touches(a, "any")
            assert all(gap_between(a, b) >= 1 for b in box.objects[i + 1 :])
    assert set(counts) == set(range(1, 9))
    assert len(shapes) == 27  # every shape x colour x size occurs
    assert 0.2 < edges / sum(counts.elements()) < 0.6  # edge_prob 0.3 plus chance


def test_same_seed_same_scene_for_every_generator():
    sampler = SceneSampler(SceneConfig(tower_prob=0.5))
    for method in ("boxes", "sequence", "near_duplicates", "shared"):
        first = getattr(sampler, method)(random.Random(7), 3)
        again = getattr(sampler, method)(random.Random(7), 3)
        assert first == again and len(first.scene.boxes) == 3
    from_numpy = sampler.boxes(np.random.default_rng(3), 4)
    assert from_numpy == sampler.boxes(np.random.default_rng(3), 4)
    with pytest.raises(TypeError, match="rng must be"):
        sampler.box(3)  # type: ignore[arg-type]


def test_planting_and_banning_give_exact_counts():
    sampler = SceneSampler(SceneConfig(n_objects=(3, 8), edge_prob=0.5))
    spec = ObjectSpec("triangle", "yellow", edge="top")
    rng = random.Random(1)
    for planted in (0, 1, 2, 3):
        for _ in range(20):
            box = sampler.box(rng, must_include=[spec] * planted, must_exclude=[spec]).validate()
            assert sum(spec.matches(o) for o in box.objects) == planted
            assert all(o.y == 0 for o in box.objects if spec.matches(o))
    # a set where exactly one box holds a yellow triangle touching the top edge
    constraints = [
        BoxConstraints(exclude=(spec,)),
        BoxConstraints(include=(spec,)),
        BoxConstraints(exclude=(spec,)),
    ]
    sample = sampler.boxes(rng, 3, constraints=constraints)
    assert [any(spec.matches(o) for o in b.objects) for b in sample.scene.boxes] == [False, True, False]


def test_edge_specs_place_objects_where_asked():
    sampler = SceneSampler()
    rng = random.Random(2)
    for edge, test in (
        ("bottom", lambda o: o.bottom == 100),
        ("right", lambda o: o.right == 100),
        ("corner", lambda o: o.x in (0, 100 - o.size) and o.y in (0, 100 - o.size)),
        ("none", lambda o: o.x > 0 and o.right < 100 and o.y > 0 and o.bottom < 100),
    ):
        box = sampler.box(rng, must_include=[ObjectSpec(size="large", edge=edge)])
        assert any(o.size == 30 and test(o) for o in box.objects), edge
    edged = SceneSampler(SceneConfig(edge_prob=1.0)).box(rng)
    assert all(touches(o, "any") for o in edged.objects)


def test_tower_boxes_stack_squares_as_nlvr1():
    sampler = SceneSampler(SceneConfig(tower_prob=1.0))
    rng = random.Random(3)
    heights = Counter()
    for _ in range(100):
        box = sampler.box(rng).validate()
        ys = sorted((o.y for o in box.objects), reverse=True)
        assert all(o.shape == "square" and o.size == 20 and o.x == 40 for o in box.objects)
        assert ys == [80, 59, 38, 17][: len(ys)]
        heights[len(ys)] += 1
    assert set(heights) == {1, 2, 3, 4}
    blue_base = sampler.box(rng, must_include=[ObjectSpec(color="blue", edge="bottom")], kind="tower")
    assert any(o.color == "blue" and o.y == 80 for o in blue_base.objects)
    no_black = sampler.box(rng, must_exclude=[ObjectSpec(color="black")], kind="tower")
    assert all(o.color != "black" for o in no_black.objects)
    several = SceneSampler(SceneConfig(towers_per_box=(2, 3), tower_x=None))
    tower_counts = Counter()
    for _ in range(20):
        xs = sorted({o.x for o in several.box(rng, kind="tower").validate().objects})
        assert all(b - a >= 21 for a, b in itertools.pairwise(xs))  # block side plus the gap
        tower_counts[len(xs)] += 1
    assert max(tower_counts) >= 2
    sets = SceneSampler(SceneConfig(tower_prob=1.0)).boxes(rng, 3)
    assert all(o.shape == "square" for b in sets.scene.boxes for o in b.objects)
    # a planted circle cannot be a block, so the box falls back to scatter instead of failing
    circled = sampler.box(rng, must_include=[ObjectSpec("circle", "black")])
    assert any(o.shape == "circle" for o in circled.objects)
    assert SceneConfig.nlvr1().tower_prob == 0.68


def test_impossible_requests_fail_clearly():
    sampler = SceneSampler(SceneConfig(max_tries=5))
    rng = random.Random(4)
    with pytest.raises(SamplingError, match="at most 8"):
        sampler.box(rng, must_include=[ObjectSpec()] * 9)
    with pytest.raises(SamplingError, match="tower box"):
        sampler.box(rng, must_include=[ObjectSpec("circle")], kind="tower")
    with pytest.raises(SceneError, match="ObjectSpec color"):
        ObjectSpec(color="red")
    with pytest.raises(SceneError, match="n_objects"):
        SceneConfig(n_objects=(0, 3))
    with pytest.raises(SceneError, match="leaves the box"):
        SceneConfig(tower_heights=(1, 5))
    with pytest.raises(SceneError, match="one per box"):
        sampler.boxes(rng, 3, constraints=[BoxConstraints()])
    with pytest.raises(SceneError, match="1 to 8 boxes"):
        sampler.boxes(rng, 9)
    with pytest.raises(SceneError, match="kinds"):
        sampler.sequence(rng, 3, kinds=("teleported",))
    with pytest.raises(SceneError, match="attributes"):
        sampler.near_duplicates(rng, 3, attributes=("position",))
    with pytest.raises(SceneError, match="min_boxes"):
        sampler.shared(rng, 3, min_boxes=4)


def test_sequence_steps_replay_the_boxes():
    sampler = SceneSampler(SceneConfig(n_objects=(2, 6)))
    rng = random.Random(5)
    kinds = Counter()
    for _ in range(30):
        sample = sampler.sequence(rng, 5)
        boxes, steps = sample.scene.boxes, sample.steps
        assert sample.structure == "sequence" and len(steps) == 4
        gone: set = set()
        for before, after, step in zip(boxes[:-1], boxes[1:], steps, strict=True):
            after.validate()
            assert len({identity(o) for o in after.objects}) == len(after.objects)
            expected = Counter(before.objects)
            if step.kind == "removed":
                expected[step.obj] -= 1
                gone.add(identity(step.obj))
            elif step.kind == "added":
                expected[step.obj] += 1
                assert identity(step.obj) not in gone | {identity(o) for o in before.objects}
            else:
                expected[step.before] -= 1
                expected[step.obj] += 1
                assert identity(step.obj) == identity(step.before)
                assert max(abs(step.obj.x - step.before.x), abs(step.obj.y - step.before.y)) >= 10
            assert +expected == Counter(after.objects)
            kinds[step.kind] += 1
    assert set(kinds) == {"moved", "added", "removed"}
    moves_only = sampler.sequence(rng, 3, kinds=("moved",))
    assert [s.kind for s in moves_only.steps] == ["moved", "moved"]


def test_near_duplicates_differ_in_the_recorded_attribute_only():
    sampler = SceneSampler(SceneConfig(n_objects=(2, 6)))
    rng = random.Random(6)
    for _ in range(30):
        sample = sampler.near_duplicates(rng, 4)
        assert len(sample.changes) == 3 and sample.base is not None
        changed = {c.box for c in sample.changes}
        for i, box in enumerate(sample.scene.boxes):
            box.validate()
            if i not in changed:
                assert box == sample.base
        for change in sample.changes:
            box = sample.scene.boxes[change.box]
            assert set(sample.base.objects) - set(box.objects) == {change.before}
            assert set(box.objects) - set(sample.base.objects) == {change.after}
            for attribute in ("shape", "color", "size"):
                same = getattr(change.before, attribute) == getattr(change.after, attribute)
                assert same == (attribute != change.attribute)
        assert len(set(sample.scene.boxes)) == 4  # no two images alike
    odd_one = sampler.near_duplicates(rng, 3, n_changed=1, attributes=("color",))
    assert [c.attribute for c in odd_one.changes] == ["color"]
    assert sum(b == odd_one.base for b in odd_one.scene.boxes) == 2


def test_shared_objects_appear_exactly_where_recorded():
    sampler = SceneSampler(SceneConfig(n_objects=(1, 5)))
    rng = random.Random(8)
    for same_position in (True, False):
        for _ in range(20):
            sample = sampler.shared(rng, 4, n_shared=2, min_boxes=2, max_boxes=3, same_position=same_position)
            for shared in sample.shared:
                holders = [
                    i for i, b in enumerate(sample.scene.boxes) if shared.identity in map(identity, b.objects)
                ]
                assert holders == list(shared.boxes) and 2 <= len(holders) <= 3
                if same_position:
                    assert len({obj for _, obj in shared.instances}) == 1
            for box in sample.scene.boxes:
                box.validate()


def test_sample_to_dict_is_json():
    sampler = SceneSampler()
    rng = random.Random(9)
    for sample in (sampler.sequence(rng, 3), sampler.near_duplicates(rng, 3), sampler.shared(rng, 3)):
        data = json.loads(json.dumps(sample.to_dict()))
        assert data["structure"] == sample.structure and len(data["scene"]) == 3
    independent = SceneSample(sampler.boxes(rng, 2).scene, "independent")
    assert independent.to_dict()["steps"] == []
    assert isinstance(independent.scene.boxes[0], Box)
