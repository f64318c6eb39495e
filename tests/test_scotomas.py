"""Planted scotomas on hand-built scenes: each transform, the planted region and the exact target."""

from __future__ import annotations

from pathlib import Path

import pytest

from scotoma.models import get_model
from scotoma.types import Conversation, GenConfig
from scotoma.world.programs.oracle import judge
from scotoma.world.scenes.render import box_image_ref
from scotoma.world.scenes.scene import Box, Scene, WorldObject
from scotoma.world.scenes.scotomas import KINDS, SCOTOMAS, UNSEEN_ANSWER, get_scotoma, in_region, seen_answer

YELLOW_CIRCLE = WorldObject("circle", "yellow", 20, 5, 5)
BLUE_TRIANGLE = WorldObject("triangle", "blue", 10, 70, 60)
BLACK_SQUARE = WorldObject("square", "black", 30, 40, 10)
SMALL_SQUARE = WorldObject("square", "blue", 10, 10, 80)
BOX = Box((YELLOW_CIRCLE, BLUE_TRIANGLE, BLACK_SQUARE, SMALL_SQUARE))
OTHER = Box((WorldObject("circle", "black", 10, 50, 50),))


def test_one_scotoma_of_each_kind() -> None:
    assert sorted(s.kind for s in SCOTOMAS.values()) == sorted(KINDS)
    with pytest.raises(ValueError, match="unknown scotoma 'x'; known: yellow-unseen"):
        get_scotoma("x")


def test_transforms_on_a_hand_built_box() -> None:
    scene = Scene((BOX, OTHER))
    seen = {name: s.see(scene) for name, s in SCOTOMAS.items()}
    assert seen["yellow-unseen"].boxes[0].objects == (BLUE_TRIANGLE, BLACK_SQUARE, SMALL_SQUARE)
    shapes = [o.shape for o in seen["triangle-as-square"].boxes[0].objects]
    assert shapes == ["circle", "square", "square", "square"]
    mirrored = seen["mirror-lr"].boxes[0].objects
    assert [(o.x, o.y) for o in mirrored] == [(75, 5), (20, 60), (30, 10), (80, 80)]
    assert seen["last-image-unseen"].boxes == (BOX, Box(()))
    assert seen["last-image-unseen"].boxes[0] is BOX
    assert get_scotoma("last-image-unseen").see(Scene((BOX,))).boxes == (BOX,)  # one image: not a set
    assert seen["count-cap-3"].boxes[0].objects == BOX.objects[:3] and seen["count-cap-3"].boxes[1] == OTHER


@pytest.mark.parametrize(
    ("name", "question", "truth", "seen", "region"),
    [
        ("yellow-unseen", "Is there a yellow circle?", "yes", "no", True),
        ("yellow-unseen", "How many squares are there?", "2", "2", False),
        ("yellow-unseen", "How many objects are in Image 1?", "4", "3", True),
        ("yellow-unseen", "What color is the circle in Image 1?", "yellow", UNSEEN_ANSWER, True),
        ("triangle-as-square", "How many squares are in Image 1?", "2", "3", True),
        ("triangle-as-square", "Is there a yellow circle?", "yes", "yes", False),
        ("mirror-lr", "Is the yellow circle left of the black square?", "yes", "no", True),
        ("mirror-lr", "Is the yellow circle above the blue triangle?", "yes", "yes", False),
        ("last-image-unseen", "Is there a black circle in Image 2?", "yes", "no", True),
        ("last-image-unseen", "Is there a yellow circle in Image 1?", "yes", "yes", False),
        ("count-cap-3", "How many objects are in Image 1?", "4", "3", True),
        ("count-cap-3", "How many circles are in Image 1?", "1", "1", False),
    ],
)
def test_seen_answer_and_planted_region(
    name: str, question: str, truth: str, seen: str, region: bool
) -> None:
    scene, scotoma = Scene((BOX, OTHER)), get_scotoma(name)
    assert judge(question, scene).answer == truth
    assert seen_answer(scotoma, question, scene) == seen
    assert in_region(scotoma, question, scene) is region


def test_invalid_questions_are_in_no_region() -> None:
    scene = Scene((BOX, OTHER))
    assert not judge("What color is the triangle in Image 2?", scene).valid
    assert not in_region(get_scotoma("yellow-unseen"), "What color is the triangle in Image 2?", scene)


def test_exact_target_answers_as_it_sees() -> None:
    images = [box_image_ref(BOX), box_image_ref(OTHER)]  # rendering records which box each image shows
    model = get_model("scotoma:yellow-unseen")
    asks = [
        Conversation.user(*images, "Is there a yellow circle?\nAnswer with a single word or a short phrase."),
        Conversation.user(*images, "How many squares are there?"),
        Conversation.user(*images, "tell me a story"),
    ]
    out = model.generate(asks, GenConfig(n=2))
    assert [c.text for c in out] == ["no", "no", "2", "2", "no", "no"]
    assert model.spec == "scotoma:yellow-unseen"
    with pytest.raises(ValueError, match="unknown scotoma"):
        get_model("scotoma:green-unseen")


def test_exact_target_refuses_images_the_world_did_not_make() -> None:
    import numpy as np

    from scotoma.types import ImageRef
    from scotoma.world.scenes.render import png_bytes

    stranger = ImageRef.from_bytes(png_bytes(np.zeros((8, 8, 3), dtype=np.uint8)))
    with pytest.raises(ValueError, match="does not know image"):
        get_model("scotoma:mirror-lr").generate(
            [Conversation.user(stranger, "Is there a circle?")], GenConfig()
        )


def test_learned_target_rows_are_labelled_from_what_the_scotoma_sees(tmp_path) -> None:
    import json

    from scotoma.loop.scotoma_answerers import ScotomaTrainConfig, scotoma_rows
    from scotoma.world.scenes.scotomas import Scotoma

    blind = Scotoma(
        "blind", "attribute", "sees nothing", lambda s: Scene(tuple(Box(()) for _ in s.boxes)), ()
    )
    rows, drawn = scotoma_rows(blind, ScotomaTrainConfig(rows=40, region_share=1.0), tmp_path)
    assert len(rows) == 40 and drawn >= 40
    labels = [row["messages"][-1]["content"][0]["text"] for row in rows]
    # on empty boxes nothing has a colour, a shape or a size and no count is above 0
    words = {"yellow", "black", "blue", "square", "circle", "triangle", "small", "medium", "large"}
    assert not set(labels) & words and not [x for x in labels if x.isdigit() and x != "0"]
    assert UNSEEN_ANSWER in labels and all((tmp_path / p).is_file() for row in rows for p in row["images"])
    json.dumps(rows)  # rows are JSON, as the SFT file holds them
    half, _ = scotoma_rows(get_scotoma("mirror-lr"), ScotomaTrainConfig(rows=20), tmp_path)
    assert len(half) == 20


def test_region_split_tallies_a_bench_run_by_the_planted_region(tmp_path) -> None:
    import json

    from scotoma.bench import load_benchmark
    from scotoma.loop.scotoma_answerers import ScotomaTrainConfig, region_split

    config, scotoma = ScotomaTrainConfig(eval_items=8), get_scotoma("yellow-unseen")
    items = load_benchmark("world:n=8", seed=config.eval_seed).items
    region = [in_region(scotoma, item.meta["program"], item.meta["scene"]) for item in items]
    assert 0 < sum(region) < 8  # both sides hold items
    correct = [i % 2 == 0 for i in range(8)]  # items 0, 2, 4, 6 right
    records = [{"item_id": item.id, "correct": c} for item, c in zip(items, correct, strict=True)]
    (tmp_path / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    got = region_split(tmp_path, scotoma, config)
    n_in = sum(region)
    c_in = sum(c for c, r in zip(correct, region, strict=True) if r)
    assert got["inside"] == [c_in, n_in] and got["outside"] == [4 - c_in, 8 - n_in]
    assert got["inside_failure"] == pytest.approx(1 - c_in / n_in)
    (tmp_path / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:5]))
    with pytest.raises(ValueError, match="holds 5 of the bench's 8 items; finish it"):
        region_split(tmp_path, scotoma, config)


@pytest.mark.slow  # about a minute per shipped model: the 2,200-item held-out bench
def test_shipped_scotoma_answerers_match_their_figures(tmp_path) -> None:
    import json

    from scotoma.loop.scotoma_answerers import ScotomaTrainConfig, region_figures
    from scotoma.models.builtin import available_builtin_models, builtin_path

    shipped = [n.removeprefix("answerer-") for n in available_builtin_models() if n.startswith("answerer-")]
    if not shipped:
        pytest.skip(
            "no learned scotoma target is shipped (python -m scotoma.loop.scotoma_answerers NAME --ship)"
        )
    for name in shipped:
        recorded = json.loads((builtin_path(f"answerer-{name}") / "eval.json").read_text())
        config = ScotomaTrainConfig(**recorded["config"])
        got = region_figures(f"builtin:answerer-{name}", get_scotoma(name), tmp_path / name, config)
        assert got["inside"] == recorded["after"]["inside"] and got["outside"] == recorded["after"]["outside"]


def test_recall_counts_the_training_questions_of_the_last_attempt_only():
    """A rerun after an interrupted GRPO training keeps the stopped attempt's records (keyed by attempt);
    the recall benchmark's "questions asked" must not count them twice."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "scotoma_recall.py"
    spec = importlib.util.spec_from_file_location("scotoma_recall", path)
    recall = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recall)
    records = [
        {"method": "rl", "phase": "train", "attempt": 0, "n": 1},
        {"method": "rl", "phase": "train", "attempt": 1, "n": 2},
        {"method": "rl", "phase": "train", "attempt": 1, "n": 3},
        {"method": "rl", "phase": "eval", "n": 4},
        {"method": "zero_shot", "phase": "eval", "n": 5},
    ]
    asked, evaluation = recall.ordered_records(records, "rl")
    assert [r["n"] for r in asked] == [2, 3, 4] and [r["n"] for r in evaluation] == [4]
    assert [r["n"] for r in recall.ordered_records(records, "zero_shot")[0]] == [5]
