"""S2H preference pairs (paper 003): L1 with a scripted target, exact L2 arithmetic, relation flipping,
L3 global search, the similarity filter against hand-computed cosines, and the level mixture."""

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from scotoma.models import ScriptedModel
from scotoma.synth import S2HConfig, SynthDrop, cosine_similarities, keep_dissimilar, read_relations
from scotoma.synth.s2h import complete
from scotoma.synth.s2h_relations import RelationDataError, relation_pair
from scotoma.synth.s2h_world import L3_REJECTED_PROMPT, S2HWorld
from scotoma.synth.similarity import similarity_threshold
from scotoma.synth.stages import StageTimer
from scotoma.world import Count, Scene, caption_box, caption_scene, judge
from scotoma.world.programs.nodes import Sum, from_dict, images_of

FIXTURE = Path(__file__).parent / "fixtures" / "s2h_relations" / "relations.jsonl"


def test_l1_moves_a_one_image_question_among_distractors_exactly():
    world = S2HWorld(S2HConfig(distractors=3), seed=1)
    for index in range(40):
        pair = world.draft(index, "L1").pair
        scene, k = Scene.from_nlvr(pair.meta["scene"]), pair.meta["target"]
        assert len(pair.images) == len(scene.boxes) == 4
        assert images_of(from_dict(pair.meta["program"])) == (k,)  # asked of Image k only
        assert judge(pair.prompt, scene).answer == pair.chosen == pair.answer  # the English parses back


def _l1_draft():
    return S2HWorld(S2HConfig(), seed=0).draft(0, "L1")


def test_l1_rejected_is_the_models_wrong_answer():
    draft = _l1_draft()
    wrong = "purple" if draft.gold != "purple" else "orange"
    model = ScriptedModel(wrong)
    (pair,) = complete([draft], model, S2HConfig(), StageTimer())
    assert pair.rejected == wrong and pair.chosen == draft.gold
    assert model.seen == [draft.ask] and pair.meta["rejected_by"] == "scripted:"


def test_l1_samples_more_answers_when_the_greedy_one_is_right():
    draft = _l1_draft()
    model = ScriptedModel([draft.gold, draft.gold, "purple", draft.gold])  # greedy, then 3 sampled
    timer = StageTimer()
    (pair,) = complete([draft], model, S2HConfig(l1_attempts=4), timer)
    assert pair.rejected == "purple" and pair.meta["sampled"] is True
    assert model.calls == 2 and timer.stages["s2h_model"].requests == 4
    (dropped,) = complete([draft], ScriptedModel(draft.gold), S2HConfig(l1_attempts=3), StageTimer())
    assert isinstance(dropped, SynthDrop) and "answered correctly in 3 tries" in dropped.reason


def test_l1_without_a_model_is_refused():
    with pytest.raises(ValueError, match="need a model"):
        complete([_l1_draft()], None, S2HConfig(), StageTimer())


def test_l2_arithmetic_is_exact_and_its_rejection_wrong():
    world = S2HWorld(S2HConfig(), seed=2)
    for index in range(30):
        draft = world.draft(index, "L2")
        pair, program = draft.pair, from_dict(draft.pair.meta["program"])
        scene = Scene.from_nlvr(pair.meta["scene"])
        assert draft.ask is None and pair.task == "arithmetic"
        assert judge(program, scene).answer == pair.chosen == pair.answer
        first = program.images[0] if isinstance(program, Sum) else program.first
        alone = judge(Count(program.of, image=first), scene).answer
        assert pair.rejected != pair.chosen
        assert pair.rejected == (alone if alone != pair.chosen else str(int(pair.chosen) + 1))


def test_relation_pairs_flip_with_the_label():
    items = read_relations(FIXTURE)
    assert [i.id for i in items] == ["fam1-daughter", "fam1-stranger", "fam1-siblings", "fam1-custom"]
    true, false, _, custom = (relation_pair(i, f"L2rel-{i.id}") for i in items)
    assert true.prompt == "Is the person in Image 2 the daughter of the person in Image 1?"
    assert (true.chosen, true.rejected, true.answer) == (
        "Yes, Image 2 is the daughter of Image 1.",
        "No, Image 2 is not the daughter of Image 1.",
        "yes",
    )
    assert (false.chosen, false.answer) == ("No, Image 3 is not the daughter of Image 1.", "no")
    assert custom.prompt == "Could the person in Image 2 be the son of the person in Image 1?"
    assert len(true.images) == 3 and true.images[0].sha256 == custom.images[0].sha256  # same parent.png


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            {
                "id": "x",
                "images": ["parent.png"],
                "subject": 2,
                "object": 1,
                "relation": "son",
                "label": True,
            },
            "subject",
        ),
        (
            {
                "id": "x",
                "images": ["parent.png", "stranger.png"],
                "subject": 1,
                "object": 1,
                "relation": "son",
                "label": True,
            },
            "different",
        ),
        (
            {
                "id": "x",
                "images": ["parent.png", "stranger.png"],
                "subject": 1,
                "object": 2,
                "relation": "son",
                "label": "yes",
            },
            "label",
        ),
        ({"id": "x", "images": ["parent.png"], "relation": "son", "label": True}, "lacks"),
    ],
)
def test_bad_relation_lines_are_named(tmp_path, line, message):
    for png in FIXTURE.parent.glob("*.png"):
        (tmp_path / png.name).write_bytes(png.read_bytes())
    (tmp_path / "r.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(RelationDataError, match=message):
        read_relations(tmp_path / "r.jsonl")


def test_l3_target_is_the_only_image_with_its_primary_object():
    world = S2HWorld(S2HConfig(distractors=3), seed=4)
    for index in range(25):
        pair = world.draft(index, "L3").pair
        scene, k = Scene.from_nlvr(pair.meta["scene"]), pair.meta["target"]
        color, shape = pair.meta["primary_object"].split()
        holders = [
            i
            for i, box in enumerate(scene.boxes, 1)
            if any((o.color, o.shape) == (color, shape) for o in box.objects)
        ]
        assert holders == [k]
        assert pair.prompt == f"Describe the image that contains a {color} {shape}."
        assert pair.chosen == caption_box(scene.boxes[k - 1])
        assert pair.rejected == caption_scene(scene)  # no model: the world's exact "describe the images"


def test_l3_with_a_captioner_rejects_its_caption_of_all_images():
    draft = S2HWorld(S2HConfig(), seed=4, l3_model=True).draft(0, "L3")
    assert draft.ask.messages[0].text.endswith(L3_REJECTED_PROMPT)
    (pair,) = complete([draft], ScriptedModel("Four boxes of shapes."), S2HConfig(), StageTimer())
    assert pair.rejected == "Four boxes of shapes." and pair.meta["rejected_by"] == "scripted:"


VECTORS = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 1.0], "d": [3.0, 4.0], "e": [0.0, 0.0]}


def _embed(texts):
    return np.array([VECTORS[t] for t in texts])


def test_cosine_similarities_match_hand_computed_values():
    sims = cosine_similarities(_embed, ["a", "c", "a", "e"], ["c", "d", "b", "a"])
    assert sims == pytest.approx([1 / math.sqrt(2), 7 / (5 * math.sqrt(2)), 0.0, 0.0])


def test_the_top_quartile_is_dropped():
    sims = [0.1, 0.2, 0.3, 0.9]
    assert similarity_threshold(sims) == pytest.approx(0.45)  # 0.3 + 0.25 * (0.9 - 0.3)
    assert keep_dissimilar(sims) == [True, True, True, False]
    assert keep_dissimilar([0.5, 0.5, 0.5]) == [True, True, True]  # ties at tau stay
    assert keep_dissimilar([]) == []


def test_complete_scores_l3_pairs():
    drafts = [S2HWorld(S2HConfig(), seed=4, l3_model=True).draft(i, "L3") for i in range(2)]
    vectors = {}

    def embed(texts):  # chosen captions point one way, the model's answers another
        return np.array([vectors.setdefault(t, [1.0, 0.0] if "," in t else [1.0, 1.0]) for t in texts])

    pairs = complete(drafts, ScriptedModel("shapes"), S2HConfig(), StageTimer(), embed=embed)
    assert [p.similarity for p in pairs] == [pytest.approx(1 / math.sqrt(2), abs=1e-6)] * 2


def test_levels_take_turns_or_follow_their_weights():
    assert [S2HConfig().level_of(i) for i in range(6)] == ["L1", "L2", "L3"] * 2
    weighted = S2HConfig(weights=(2, 1, 1))
    shares = Counter(weighted.level_of(i) for i in range(400))
    assert shares["L1"] == pytest.approx(200, abs=8) and shares["L3"] == pytest.approx(100, abs=8)


@pytest.mark.parametrize(
    "kwargs",
    [{"levels": ("L4",)}, {"weights": (1, 2)}, {"mixture": "random"}, {"distractors": 0}, {"skills": ("x",)}],
)
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(ValueError):
        S2HConfig(**kwargs)


def test_levels_that_cannot_meet_the_skills_are_named():
    with pytest.raises(ValueError, match="L2"):
        S2HWorld(S2HConfig(levels=("L2",), skills=("sequence:order",)))
    world = S2HWorld(S2HConfig(levels=("L2", "L3"), skills=("arithmetic", "global_search")), seed=0)
    assert "arithmetic" in world.draft(1, "L2").pair.skills
