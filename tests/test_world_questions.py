"""The balanced question sampler: valid samples, determinism, balance, controls, planting, datasets."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from scotoma.runlog import RunDirError
from scotoma.types import ImageRef
from scotoma.world import (
    Box,
    Compare,
    Count,
    CountCompare,
    Filter,
    ImagesContaining,
    QueryAttribute,
    QuestionConfig,
    QuestionSampler,
    Relate,
    Relation,
    SamplingError,
    Scene,
    SceneSampler,
    WorldObject,
    WorldSample,
    box_image_ref,
    judge,
)
from scotoma.world.programs.nodes import Difference, Sum, Towers
from scotoma.world.programs.skills import FAMILIES
from scotoma.world.sampling.balance import SOMETHING, CountLimits, answer_domain, answer_kind, meets, plan
from scotoma.world.sampling.dataset import load_sample, read_samples, summarize, write_samples
from scotoma.world.sampling.specs import SceneConfig
from scotoma.world.sampling.targeted import retarget

YES_NO = {"existence", "comparison", "spatial", "cross_image", "statement"}  # families with only yes/no


@pytest.fixture(scope="module")
def balanced() -> list[WorldSample]:
    sampler = QuestionSampler(QuestionConfig(images_per_sample=3), seed=0)
    return list(sampler.samples(2000))


def test_every_sample_is_valid_and_its_english_gives_the_same_answer():
    sampler = QuestionSampler(QuestionConfig(images_per_sample=(1, 4)), seed=5)
    structures = Counter()
    for sample in sampler.samples(300):
        verdict = judge(sample.question, sample.scene)
        assert verdict.valid, (sample.question, verdict.reason, verdict.detail)
        assert (verdict.answer, verdict.skills, verdict.family) == (
            sample.answer,
            sample.skills,
            sample.family,
        )
        assert verdict.program == sample.program
        assert len(sample.images) == len(sample.scene.boxes)
        for image, box in zip(sample.images, sample.scene.boxes, strict=True):
            assert image.sha256 == box_image_ref(box).sha256  # the image is the box, rendered
            assert (image.width, image.height) == (100, 100) and image.data[:4] == b"\x89PNG"
        structures[sample.structure] += 1
    assert set(structures) == {"boxes", "sequence", "near_duplicates", "shared"}


def test_a_sample_depends_only_on_seed_and_index():
    config = QuestionConfig(images_per_sample=(1, 4))
    run = list(QuestionSampler(config, seed=3).samples(5, start=10))
    alone = [QuestionSampler(config, seed=3).sample(i) for i in (14, 12, 10, 13, 11)]
    assert run == sorted(alone, key=lambda s: s.index)
    assert [s.key for s in run] == [f"3-{i}" for i in range(10, 15)]
    assert [s.images for s in run] == [s.images for s in sorted(alone, key=lambda s: s.index)]
    other = QuestionSampler(config, seed=4).sample(10)
    assert other.key == "4-10" and other.scene != run[0].scene


def test_same_samples_in_another_process_with_another_hash_seed():
    code = (
        "import hashlib, json; from scotoma.world import QuestionConfig, QuestionSampler; "
        "s = QuestionSampler(QuestionConfig(), seed=3); "
        "print(hashlib.sha256(json.dumps([x.to_dict() for x in s.samples(40)]).encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    here = QuestionSampler(QuestionConfig(), seed=3).samples(40)
    assert out.stdout.strip() == hashlib.sha256(json.dumps([x.to_dict() for x in here]).encode()).hexdigest()


def test_the_balanced_set_is_valid_too(balanced):
    for sample in balanced:
        verdict = judge(sample.question, sample.scene)
        assert verdict.valid and (verdict.answer, verdict.skills) == (sample.answer, sample.skills)


def test_families_take_turns(balanced):
    counts = Counter(s.family for s in balanced)
    assert set(counts) == set(FAMILIES)
    assert max(counts.values()) - min(counts.values()) <= 1  # 2000 samples, 11 families: 181 or 182


def majority_shares(samples: list[WorldSample]) -> dict[str, float]:
    answers: dict[str, Counter] = defaultdict(Counter)
    for s in samples:
        answers[s.family][s.answer] += 1
    return {f: c.most_common(1)[0][1] / sum(c.values()) for f, c in answers.items()}


def test_pairs_ask_one_question_with_two_answers():
    sampler = QuestionSampler(QuestionConfig(images_per_sample=(1, 4), families=("existence", "counting")))
    pairs = [(sampler.sample(i), sampler.sample(i + 2)) for i in range(0, 160, 4) for i in (i, i + 1)]
    assert all(a.family == b.family for a, b in pairs)  # turns t, t + 1 of one family
    assert all(a.target != b.target for a, b in pairs)  # targets half the answer domain apart
    hit = [(a, b) for a, b in pairs if meets(a.answer, a.target) and meets(b.answer, b.target)]
    assert len(hit) >= 0.9 * len(pairs) and all(a.answer != b.answer for a, b in hit)
    same = sum(a.program == b.program and a.scene != b.scene for a, b in pairs)
    assert same >= 0.4 * len(pairs)  # the same question on two scenes: planted frames (not relations)


def test_answers_are_balanced_per_family(balanced):
    shares = majority_shares(balanced)
    # Always answering the prior (the majority answer) is no better than a coin on yes/no families...
    for family in YES_NO:
        assert shares[family] <= 0.55, (family, shares[family])
    # ...and well below it where answers are counts, attributes, images or changes.
    for family in set(FAMILIES) - YES_NO:
        assert shares[family] <= 0.36, (family, shares[family])
    unbalanced = majority_shares(
        list(QuestionSampler(QuestionConfig(images_per_sample=3, balance=False), seed=0).samples(1100))
    )
    for family in ("arithmetic", "comparison", "cross_image", "spatial", "statement", "sequence"):
        assert shares[family] < unbalanced[family] - 0.1, (family, shares[family], unbalanced[family])
    misses = sum(not meets(s.answer, s.target) for s in balanced)
    assert misses / len(balanced) < 0.05  # the sampler hits its target answer almost always


def test_counts_colours_and_images_spread(balanced):
    counts = Counter(s.answer for s in balanced if s.family == "counting" and s.answer.isdigit())
    assert set(counts) >= {"0", "1", "2", "3", "4"} and max(counts.values()) / sum(counts.values()) < 0.35
    colours = Counter(s.answer for s in balanced if answer_kind(s.program) == "color")
    assert set(colours) == {"yellow", "black", "blue"} and min(colours.values()) >= 10
    images = Counter(s.answer for s in balanced if s.answer.startswith("image "))
    assert set(images) == {"image 1", "image 2", "image 3"}
    assert max(images.values()) / sum(images.values()) < 0.45


def test_unbalanced_sampler_aims_at_nothing():
    sample = QuestionSampler(QuestionConfig(balance=False), seed=0).sample(0)
    assert sample.target is None and judge(sample.program, sample.scene).answer == sample.answer


def test_config_controls_families_images_objects_and_depth():
    config = QuestionConfig(
        images_per_sample=(1, 3), families=("cross_image", "counting"), objects_per_box=(2, 5), max_depth=2
    )
    sampler = QuestionSampler(config, seed=1)
    for sample in sampler.samples(60):
        assert sample.family in ("cross_image", "counting")
        k = len(sample.scene.boxes)
        assert (2 if sample.family == "cross_image" else 1) <= k <= 3  # cross_image needs two images
        assert all(2 <= len(box.objects) <= 5 for box in sample.scene.boxes)
    assert QuestionConfig(images_per_sample=2).images_per_sample == (2, 2)  # a single int is a range
    with pytest.raises(ValueError, match="no family"):
        QuestionSampler(QuestionConfig(images_per_sample=1, families=("sequence", "arithmetic")))
    with pytest.raises(ValueError, match="spatial needs 2 objects"):
        QuestionSampler(QuestionConfig(families=("spatial",), objects_per_box=1))
    assert "spatial" not in QuestionSampler(QuestionConfig(objects_per_box=1)).families
    with pytest.raises(ValueError, match="unknown families"):
        QuestionConfig(families=("colour",))
    with pytest.raises(ValueError, match="unknown skills"):
        QuestionConfig(skills=("telepathy",))
    with pytest.raises(ValueError, match="images_per_sample"):
        QuestionConfig(images_per_sample=(3, 9))


def test_statements_are_drawn_even_below_their_depth():
    sampler = QuestionSampler(QuestionConfig(families=("statement",), max_depth=2), seed=0)
    assert sampler.depth["statement"] == 4
    assert sampler.sample(0).answer in ("true", "false")


def test_skills_filter_keeps_only_matching_questions():
    config = QuestionConfig(images_per_sample=3, families=("spatial", "counting"), skills=("spatial:left",))
    for sample in QuestionSampler(config, seed=2).samples(15):
        assert "spatial:left" in sample.skills
    with pytest.raises(ValueError, match="no family"):
        QuestionSampler(QuestionConfig(families=("existence",), skills=("sequence:order",)))


def test_follow_ups_ask_new_valid_questions_of_the_same_scene():
    targets = ("arithmetic", "global_search", "comparison:count")
    sampler = QuestionSampler(QuestionConfig(skills=targets), seed=4)
    answers = Counter()
    for sample in sampler.samples(40):
        more = sampler.follow_ups(sample, 7)
        assert len(more) == 7
        assert len({sample.question, *(m.question for m in more)}) == 8  # never the same question twice
        for m in more:
            assert m.scene is sample.scene and m.images == sample.images
            verdict = judge(m.question, sample.scene)  # the English, re-parsed, gives the stored answer
            assert verdict.valid and verdict.answer == m.answer and set(targets) & set(m.skills)
            assert m.key.startswith(f"{sample.key}/") and m.target is None
            answers[m.answer] += 1
        assert [m.question for m in sampler.follow_ups(sample, 7)] == [m.question for m in more]
    # The rarest-answer pick spreads the turns: no answer takes more than a quarter of them (measured:
    # at most 21%), where the first valid random program on these scenes answers "no" 37% of the time.
    assert max(answers.values()) <= 0.25 * sum(answers.values()) and len(answers) >= 8


def test_structured_families_use_structured_scenes():
    sampler = QuestionSampler(QuestionConfig(images_per_sample=3, families=("sequence",)), seed=0)
    sample = sampler.sample(0)
    assert sample.structure == "sequence" and len(sample.detail.steps) == 2
    sampler = QuestionSampler(
        QuestionConfig(images_per_sample=3, families=("cross_image",), structure_prob=1)
    )
    assert {s.structure for s in sampler.samples(12)} == {"near_duplicates", "shared"}


def test_answer_domains():
    limits = CountLimits(max_count=4, per_box=8, min_per_box=2)
    blue = Filter(color="blue")
    assert answer_domain(Count(blue), 3, limits) == ("0", "1", "2", "3", "4")
    assert answer_domain(Count(Filter(), image=1), 3, limits) == ("2", "3", "4")  # a box holds 2+
    assert answer_domain(Count(Towers(), image=1), 3, limits) == ("0", "1")  # one tower a box
    assert answer_domain(Sum(blue, (1, 2)), 3, limits) == tuple(str(c) for c in range(7))
    assert answer_domain(Difference(blue, 1, 2), 3, limits) == ("0", "1", "2", "3")
    assert answer_domain(ImagesContaining(CountCompare(blue, "at_least", 1)), 2, limits) == ("0", "1", "2")
    assert answer_domain(QueryAttribute("size", blue), 3, limits) == ("small", "medium", "large")
    assert meets("the blue circle", SOMETHING) and not meets("nothing", SOMETHING)


@pytest.mark.parametrize(
    ("program", "target", "image", "counts"),
    [
        (Count(Filter("circle", "blue"), image=2), "3", 2, {3}),
        (CountCompare(Filter("triangle", edge="top"), "at_most", 1, image=1), "no", 1, {2, 3}),
        (CountCompare(Filter(size="large"), "exactly", 2, image=3), "yes", 3, {2}),
    ],
)
def test_planting_gives_exact_answers(program, target, image, counts):
    sampler = SceneSampler(SceneConfig())
    for seed in range(10):
        rng = random.Random(seed)
        constraints = plan(program, target, 3, CountLimits(), rng)
        spec = constraints[image - 1].exclude[0]  # the program's filter as an ObjectSpec
        scene = sampler.boxes(rng, 3, constraints).scene
        assert judge(program, scene).answer == target
        assert sum(spec.matches(o) for o in scene.boxes[image - 1].objects) in counts


def test_planting_declines_what_it_cannot_control():
    rng, limits = random.Random(0), CountLimits()
    assert plan(Count(Filter("circle")), "2", 3, limits, rng) is not None
    assert plan(Count(Filter("circle", relation=Relation("above", Filter()))), "2", 3, limits, rng) is None
    assert plan(Count(Towers()), "1", 3, limits, rng) is None
    blue, circles = Count(Filter(color="blue")), Count(Filter(shape="circle"))
    assert plan(Compare(blue, "more", circles), "yes", 3, limits, rng) is None  # blue circles count twice
    assert plan(
        Compare(Count(Filter(color="blue"), 1), "more", Count(Filter(shape="circle"), 2)),
        "yes",
        3,
        limits,
        rng,
    )


def test_retarget_chooses_the_objects_that_give_the_target():
    circle, square = WorldObject("circle", "blue", 20, 10, 10), WorldObject("square", "yellow", 20, 10, 60)
    scene = Scene((Box((circle, square)),))
    rng = random.Random(0)
    asked = retarget(QueryAttribute("color", Filter()), "blue", scene, rng)
    assert asked == QueryAttribute("color", Filter(shape="circle"))
    above = retarget(Relate(Filter(), "above", Filter()), "yes", scene, rng)
    assert judge(above, scene).answer == "yes"
    assert above == Relate(Filter(shape="circle"), "above", Filter(shape="square"))
    below = retarget(Relate(Filter(), "above", Filter()), "no", scene, rng)
    assert below == Relate(Filter(shape="square"), "above", Filter(shape="circle"))
    assert retarget(QueryAttribute("color", Filter()), "black", scene, rng) is None  # no black object


def test_record_round_trip():
    sample = QuestionSampler(QuestionConfig(images_per_sample=3, families=("sequence",)), seed=0).sample(1)
    record = json.loads(json.dumps(sample.to_dict()))
    assert record["key"] == "0-1" and record["images"][0]["sha256"] == sample.images[0].sha256
    assert "data" not in record["images"][0] and len(record["detail"]["steps"]) == 2
    back = WorldSample.from_dict(record)
    assert back == sample and back.images == sample.images


def test_write_samples_resumes_and_is_identical(tmp_path):
    sampler = QuestionSampler(QuestionConfig(images_per_sample=(2, 3)), seed=7)
    metrics = write_samples(sampler, 12, tmp_path)
    first = list(read_samples(tmp_path))
    assert metrics["n"] == 12 and [r["key"] for r in first] == [f"7-{i}" for i in range(12)]
    for record in first:
        for image in record["images"]:
            path = tmp_path / image["uri"]
            assert image["uri"].startswith("images/") and ImageRef.from_path(path).sha256 == image["sha256"]
    more = write_samples(QuestionSampler(sampler.config, seed=7), 20, tmp_path)
    records = list(read_samples(tmp_path))
    assert more["n"] == 20 and records[:12] == first and len({r["key"] for r in records}) == 20
    assert records[15] == json.loads(json.dumps(as_saved(sampler.sample(15))))
    assert load_sample(tmp_path, 15).question == records[15]["question"]
    assert load_sample(tmp_path, "7-3").images[0].load().size == (100, 100)
    with pytest.raises(KeyError, match="no sample"):
        load_sample(tmp_path, "9-9")
    with pytest.raises(RunDirError, match="different"):
        write_samples(QuestionSampler(sampler.config, seed=8), 5, tmp_path)


def test_workers_write_the_same_records(tmp_path):
    sampler = QuestionSampler(QuestionConfig(images_per_sample=(1, 3)), seed=2)
    write_samples(sampler, 40, tmp_path / "one", batch_size=8)
    write_samples(sampler, 40, tmp_path / "two", batch_size=8, workers=2)
    assert list(read_samples(tmp_path / "two")) == list(read_samples(tmp_path / "one"))
    assert sorted(p.name for p in (tmp_path / "two" / "images").iterdir()) == sorted(
        p.name for p in (tmp_path / "one" / "images").iterdir()
    )


def as_saved(sample: WorldSample) -> dict:
    """The record a sample gets in a dataset folder: image uris point into images/."""
    refs = tuple(ImageRef(i.sha256, f"images/{i.sha256}.png", i.width, i.height) for i in sample.images)
    return sample.with_images(refs).to_dict()


def test_summarize_counts_and_shares():
    def record(family: str, answer: str, images: int = 1, target: str | None = None) -> dict:
        return {"family": family, "answer": answer, "skills": [family], "structure": "boxes",
                "images": [{}] * images, "target": target}  # fmt: skip

    records = [record("existence", a) for a in ("yes", "yes", "no")]
    records.append(record("statement", "true", images=2, target="false"))
    metrics = summarize(records)
    assert metrics["n"] == 4 and metrics["families"] == {"existence": 3, "statement": 1}
    assert metrics["majority"]["existence"] == {"answer": "yes", "share": 2 / 3}
    assert metrics["yes_share"] == {"existence": 2 / 3, "statement": 1.0}
    assert metrics["misses"] == {"existence": 0, "statement": 1}
    assert metrics["skills"] == {"existence": 3, "statement": 1}
    assert metrics["images_per_sample"] == {"1": 3, "2": 1}


def test_impossible_skill_mix_fails_loudly():
    config = QuestionConfig(images_per_sample=1, families=("existence",), skills=("spatial:closest",))
    with pytest.raises(SamplingError, match="spatial:closest"):
        QuestionSampler(config, seed=0).sample(0)


def test_closest_relation_is_asked_and_valid():
    sampler = QuestionSampler(QuestionConfig(images_per_sample=(1, 3), families=("attribute",)), seed=3)
    closest = [s for s in sampler.samples(200) if "spatial:closest" in s.skills]
    assert len(closest) >= 5
    for sample in closest:
        verdict = judge(sample.question, sample.scene)
        assert verdict.valid and verdict.answer == sample.answer, sample.question
        assert "closest to" in sample.question
