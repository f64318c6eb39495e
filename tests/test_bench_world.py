"""The world-backed bench suites: NLVR1 through the world's loader, the generated world / S2H / MMRA-like
suites, their exact answers in every image order the runner may show, and the oracle captioner."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from scotoma.bench import BenchConfig, PermuteConfig, load_benchmark, make_variants, run_bench
from scotoma.bench.nlvr1 import SHIPPED_ORDERS, is_tower_box
from scotoma.bench.oracle_captioner import box_of, oracle_captioner, remember_boxes
from scotoma.bench.permute import image_orders, referenced_positions_in
from scotoma.bench.world_relations import (
    change_answer,
    count_answer,
    direction,
    layout_answer,
    relation_answer,
    size_answer,
)
from scotoma.cli import app
from scotoma.models import ScriptedModel
from scotoma.types import Conversation, ImageRef
from scotoma.world import Box, Filter, Scene, WorldObject, caption_box, judge, load_nlvr1
from scotoma.world.scenes.nlvr import PERMUTATIONS
from scotoma.world.scenes.render import box_image_ref, png_bytes

GENERATED = ("world", "world-s2h-l1", "world-s2h-l2", "world-s2h-l3", "world-mmra")
ORACLE_ANSWERED = ("world", "world-s2h-l1", "world-s2h-l2", "world-s2h-l3")


def permuted(boxes, order):
    return tuple(boxes[i] for i in order)


@pytest.mark.parametrize("name", GENERATED)
def test_generated_suites_are_the_same_for_a_seed_and_differ_across_seeds(name: str) -> None:
    def fingerprint(seed: int) -> list[tuple]:
        bench = load_benchmark(name, seed=seed, n=16)
        return [
            (i.id, i.question, i.answer, i.options, tuple(r.sha256 for r in i.images)) for i in bench.items
        ]

    first = fingerprint(7)
    assert len(first) == 16 and first == fingerprint(7)
    assert [row[1:] for row in first] != [row[1:] for row in fingerprint(8)]


@pytest.mark.parametrize("name", ORACLE_ANSWERED)
def test_answers_are_the_oracles_in_every_order_the_runner_may_show(name: str) -> None:
    bench = load_benchmark(name, seed=5, n=44)
    for item in bench.items:
        scene = item.meta["scene"]
        assert [box_image_ref(box).sha256 for box in scene.boxes] == [i.sha256 for i in item.images]
        text = "\n".join([item.question, *(t for _, t in item.options)])
        assert referenced_positions_in(text, item.n_images) <= item.locked_positions  # the text's own names
        for order in image_orders(item, max_orders=None):
            verdict = judge(item.meta["program"], Scene(permuted(scene.boxes, order)))
            assert verdict.valid and verdict.answer == item.meta["oracle_answer"], (item.question, order)
    free = sum(len(image_orders(item, None)) > 1 for item in bench.items if item.n_images > 1)
    assert free > 0 or name == "world-s2h-l2"  # sums name their images, yet L2 keeps the distractors free


def test_world_mmra_answers_hold_in_every_allowed_order_and_are_balanced() -> None:
    bench = load_benchmark("world-mmra", seed=2, n=48)
    answers: dict[str, Counter] = defaultdict(Counter)
    for item in bench.items:
        answers[item.subtask][item.answer] += 1
        boxes = item.meta["boxes"]
        named = "Image 1" in item.question or any("Image" in text for _, text in item.options)
        assert item.locked_positions == (frozenset({0, 1}) if named else frozenset())
        for order in image_orders(item, max_orders=None):
            index = item.meta["answer_of"](permuted(boxes, order))
            assert index is not None and "ABCD"[index] == item.answer, (item.subtask, order)
        if not named:  # the free relations are symmetric: the swapped pair has the same answer
            assert image_orders(item, None) == [(0, 1), (1, 0)]
    assert len(answers) == 8 and {i.level for i in bench.items} == {"image", "entity"}
    for subtask, counts in answers.items():  # 6 items each: 2/2/2 over three options, 2/2/1/1 over four
        assert sum(counts.values()) == 6 and max(counts.values()) - min(counts.values()) <= 1, subtask


def obj(shape: str, color: str, size: int, x: int, y: int) -> WorldObject:
    return WorldObject(shape, color, size, x, y)


def test_two_box_relations_on_hand_made_boxes() -> None:
    circle, square = obj("circle", "blue", 20, 10, 10), obj("square", "black", 30, 60, 60)
    base = Box((circle, square))
    recolored = Box((obj("circle", "yellow", 20, 10, 10), square))
    moved_left = Box((obj("circle", "blue", 20, 10, 10), obj("square", "black", 30, 30, 62)))
    other = Box((obj("triangle", "yellow", 10, 5, 5), obj("circle", "black", 10, 80, 5)))
    assert relation_answer([base, base]) == 0
    assert relation_answer([base, recolored]) == 1 and change_answer([base, recolored]) == 0
    assert change_answer([base, moved_left]) == 3 and relation_answer([base, other]) == 2
    assert direction(square, moved_left.objects[1]) == 0  # 30 px left, 2 px down: left
    assert direction(square, obj("square", "black", 30, 40, 45)) is None  # 20 left, 15 up: no one answer
    assert direction(square, obj("square", "black", 30, 62, 20)) == 2  # up
    tower = Box((obj("square", "blue", 20, 40, 80), obj("square", "black", 20, 40, 59)))
    assert is_tower_box(tower) and not is_tower_box(base)
    assert [layout_answer(p) for p in ([tower, tower], [base, other], [base, tower])] == [0, 1, 2]
    three = Box((circle, square, obj("triangle", "blue", 10, 80, 10)))
    assert count_answer(Filter())([three, base]) == 0 and count_answer(Filter())([base, three]) == 1
    assert count_answer(Filter(color="blue"))([base, recolored]) == 0
    assert count_answer(Filter(shape="square"))([base, recolored]) == 2
    larger = size_answer(Filter(shape="square"), Filter(shape="circle"))
    assert larger([base, other]) == 0 and larger([tower, other]) is None  # two squares: not unique


def test_s2h_levels_name_the_images_their_level_says() -> None:
    l1 = load_benchmark("world-s2h-l1:n=20,distractors=5", seed=1).items
    assert {i.n_images for i in l1} == {6} and {i.level for i in l1} == {"L1"}
    for item in l1:
        (k,) = item.locked_positions
        assert f"Image {k + 1}" in item.question
    l2 = load_benchmark("world-s2h-l2", seed=1, n=20).items
    assert {i.subtask for i in l2} == {"sum", "difference"} and all(len(i.locked_positions) >= 2 for i in l2)
    l3 = load_benchmark("world-s2h-l3", seed=1, n=30).items
    assert {i.subtask for i in l3} == {"which_image", "images_containing", "quantified"}
    for item in l3:
        assert not re.search(r"Image \d", item.question)
        which = item.subtask == "which_image"
        assert item.locked_positions == (frozenset(range(4)) if which else frozenset())
        assert (item.kind, item.answer.startswith("image ")) == (
            ("text", True) if which else (item.kind, False)
        )


def test_generated_suites_explain_bad_options() -> None:
    with pytest.raises(ValueError, match="NAME=VALUE"):
        load_benchmark("world:some/folder")
    with pytest.raises(ValueError, match="unknown option"):
        load_benchmark("world-mmra:n=4,distractors=2")
    with pytest.raises(ValueError, match=r"distractors=9 must lie in 1\.\.7"):
        load_benchmark("world-s2h-l3", distractors=9)


def test_oracle_captioner_describes_world_images_and_refuses_others() -> None:
    item = load_benchmark("world-s2h-l3", seed=3, n=1).items[0]
    boxes = item.meta["scene"].boxes
    assert oracle_captioner().describe(item.images) == [caption_box(b) for b in boxes]
    box = Box((obj("circle", "blue", 10, 0, 0),))
    image = box_image_ref(box)
    remember_boxes([image], [box])
    assert box_of(image) is box and oracle_captioner().describe([image]) == ["small blue circle"]
    with pytest.raises(ValueError, match="does not know image"):
        oracle_captioner().describe([ImageRef.from_bytes(png_bytes(np.zeros((8, 8, 3), dtype=np.uint8)))])


def oracle_model(bench) -> ScriptedModel:
    """Answers a world question exactly from the images shown (their boxes, in the shown order); with
    descriptions and no image (DQ) says yes; with the bare question alone (QO) says no."""
    questions = sorted({item.question for item in bench.items}, key=len, reverse=True)

    def respond(conversation: Conversation) -> str:
        text = conversation.messages[-1].text
        if not conversation.images:
            return "no" if text in questions else "yes"
        question = next(q for q in questions if text.endswith(q))
        scene = Scene(tuple(box_of(image) for image in conversation.images))
        return judge(question, scene).answer

    return ScriptedModel(respond, spec="scripted:world-oracle")


def test_run_bench_in_all_four_settings_with_the_oracle_captioner(tmp_path: Path) -> None:
    bench = load_benchmark("world", seed=4, n=24)
    model = oracle_model(bench)
    config = BenchConfig(
        bench, model, "IQ,DQ,IDQ,QO", "images", captioner=oracle_captioner(), cache=tmp_path / "cache.sqlite",
        n_boot=100,
    )  # fmt: skip
    result = run_bench(config, tmp_path / "run")
    settings = result.metrics["settings"]
    assert set(settings) == {"IQ", "DQ", "IDQ", "QO"} and result.n_errors == 0
    orders = sum(len(image_orders(item)) for item in bench.items)
    assert orders > len(bench.items)  # some items were shown in other orders
    assert result.n_variants == 3 * orders + len(bench.items)  # QO shows no image: one order per item
    # exact answers in every order shown: the locked positions kept every question's meaning
    assert settings["IQ"]["accuracy"]["value"] == 1.0 and settings["IDQ"]["accuracy"]["value"] == 1.0
    assert settings["IQ"]["order_sensitivity"]["value"] == 0.0
    assert settings["QO"]["accuracy"]["value"] < 1.0 and settings["DQ"]["n_variants"] == orders
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["captioner"] == "oracle" and written["n_variants"] == result.n_variants
    # DQ shows the oracle's caption of each image, in the order shown, in place of the image
    item = bench.items[0]
    captions = [caption_box(box) for box in item.meta["scene"].boxes]
    dq = [
        c.messages[-1].text
        for c in model.seen
        if not c.images and c.messages[-1].text.endswith(item.question)
    ]
    assert " ".join(captions) + " " + item.question in dq


def mmra_oracle(bench) -> ScriptedModel:
    """Picks the right option of a world-mmra item from the boxes shown, in the letters shown."""
    items = {(item.question, frozenset(i.sha256 for i in item.images)): item for item in bench.items}

    def respond(conversation: Conversation) -> str:
        text = conversation.messages[-1].text
        question = re.search(r"Question: (.*)\n", text).group(1)
        item = items[(question, frozenset(i.sha256 for i in conversation.images))]
        index = item.meta["answer_of"]([box_of(image) for image in conversation.images])
        wanted = item.options[index][1]
        shown = re.search(rf"^([A-D])\. {re.escape(wanted)}$", text, re.M).group(1)
        return f"The answer is ({shown})."

    return ScriptedModel(respond, spec="scripted:mmra-oracle")


def test_world_mmra_runs_in_the_mmra_prompt_with_images_and_options_permuted(tmp_path: Path) -> None:
    bench = load_benchmark("world-mmra", seed=6, n=16)
    config = BenchConfig(
        bench, mmra_oracle(bench), permute="images,options", cache=tmp_path / "cache.sqlite", n_boot=100
    )
    result = run_bench(config, tmp_path / "run")
    iq = result.metrics["settings"]["IQ"]
    swapped = sum(len(image_orders(item)) - 1 for item in bench.items)
    assert swapped == 8 and iq["accuracy"]["value"] == 1.0 and iq["group_accuracy"]["value"] == 1.0
    assert set(iq["by_level"]) == {"image", "entity"} and len(iq["by_subtask"]) == 8


def test_cli_lists_the_suites_and_runs_one_with_the_oracle_captioner(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["bench", "list"]).output
    assert all(name in listed for name in ("nlvr1", *GENERATED))
    args = [
        "bench",
        "world-s2h-l1:n=6",
        "--model",
        "scripted:yes",
        "--setting",
        "DQ",
        "--captioner",
        "oracle",
    ]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "run"), "--n-boot", "20", "--no-html"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["captioner"] == "oracle" and metrics["source"] == "n=6" and metrics["n_items"] == 6


@pytest.fixture(scope="module")
def nlvr1():
    examples = load_nlvr1()
    if not examples[0].has_images:  # these tests compare with the corpus' PNGs (conftest._nlvr1_corpus)
        pytest.skip("the NLVR1 PNGs are not here: set SCOTOMA_NLVR1_DIR to a full NLVR checkout")
    return examples, load_benchmark("nlvr1")


def test_nlvr1_items_are_the_dev_split_with_the_shipped_box_orders(nlvr1) -> None:
    examples, bench = nlvr1
    assert len(bench.items) == 989 and bench.prompt_style == "bare"
    assert Counter(i.answer for i in bench.items) == {"yes": 547, "no": 442}
    assert Counter(i.subtask for i in bench.items) == {"tower": 676, "scatter": 313}
    assert all(
        i.kind == "yes_no" and i.n_images == 3 and i.locked_positions == frozenset() for i in bench.items
    )
    variants = make_variants(bench.items, ["IQ"], PermuteConfig(images=True))
    assert len(variants) == 5934  # 989 x 6
    for start in range(0, len(variants), 6):  # variant k of an item shows the box order of shipped image k
        assert tuple(v.image_order for v in variants[start : start + 6]) == SHIPPED_ORDERS == PERMUTATIONS
    example, item = examples[0], bench.items[0]
    assert item.question == example.sentence and item.answer == ("yes" if example.label else "no")
    assert oracle_captioner().describe(item.images) == [caption_box(b) for b in example.scene.boxes]


def test_nlvr1_permuted_crops_match_the_shipped_permutation_images(nlvr1) -> None:
    examples, bench = nlvr1
    identical = total = 0
    for example, item in zip(examples[:12], bench.items[:12], strict=True):
        shown = [np.asarray(image.load().convert("RGB")) for image in item.images]
        for k, order in enumerate(SHIPPED_ORDERS):
            for crop, index in zip(example.box_arrays(k), order, strict=True):
                differing = int((crop != shown[index]).any(-1).sum())
                assert differing <= 4  # measured: at most 4 anti-aliased pixels of 10,000 differ
                identical += differing == 0
                total += 1
    assert total == 216 and identical >= 0.9 * total


def test_several_benchmarks_generation_options_and_logged_prompts(tmp_path):
    """`bench world,nlvr1`: one run directory each under --out; records keep the prompt as sent and the
    images by hash and uri; --max-new-tokens and --temperature reach the run's generation settings."""
    import json

    from typer.testing import CliRunner

    from scotoma.cli import app

    args = ["bench", "world,nlvr1", "--model", "scripted:yes", "--limit", "3", "--n-boot", "0", "--no-html"]
    result = CliRunner().invoke(app, [*args, "--max-new-tokens", "7", "--out", str(tmp_path / "both")])
    assert result.exit_code == 0, result.output
    for name in ("world", "nlvr1"):
        spec = json.loads((tmp_path / "both" / name / "spec.json").read_text())
        assert spec["config"]["gen"]["max_new_tokens"] == 7 and spec["config"]["benchmark"] == name
        record = json.loads((tmp_path / "both" / name / "records.jsonl").read_text().splitlines()[0])
        images = [part["image"] for part in record["prompt"][-1]["content"] if part["type"] == "image"]
        assert [i["sha256"] for i in images] == [i["sha256"] for i in record["images"]]
        texts = "".join(part["text"] for part in record["prompt"][-1]["content"] if part["type"] == "text")
        assert record["question"] in texts
        harness = json.loads((tmp_path / "both" / name / "results.json").read_text())  # lmms-eval's layout
        metrics = json.loads((tmp_path / "both" / name / "metrics.json").read_text())
        assert harness["results"][name]["acc,none"] == metrics["settings"]["IQ"]["accuracy"]["value"]
    sampled = CliRunner().invoke(
        app,
        [
            "bench",
            "world",
            "--model",
            "scripted:yes",
            "--limit",
            "2",
            "--temperature",
            "0.7",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "t"),
        ],
    )
    assert sampled.exit_code == 0, sampled.output
    gen = json.loads((tmp_path / "t" / "spec.json").read_text())["config"]["gen"]
    assert (gen["temperature"], gen["seed"], gen["max_new_tokens"]) == (0.7, 3, 32)


def test_split_is_for_benchmarks_that_have_splits(tmp_path):
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['split'\]"):  # the suite's own check
        run_bench(BenchConfig("world", "scripted:yes", limit=2, split="test"), tmp_path / "w")
    with pytest.raises(ValueError, match="takes no split option"):
        run_bench(
            BenchConfig("mmra", "scripted:yes", data="tests/fixtures/mmra_mini", split="test"), tmp_path / "m"
        )
    from scotoma.world.scenes.nlvr import NLVRDataError

    with pytest.raises(NLVRDataError, match=r"test\.json"):  # nlvr1 has splits; the shipped copy only dev
        run_bench(BenchConfig("nlvr1", "scripted:yes", limit=2, split="test"), tmp_path / "n")
