"""The training claims' data: every arm's rows lie in the planted region and carry the true answers."""

from __future__ import annotations

import pytest

from scotoma.loop.training_claims import (
    ClaimsConfig,
    chain_rows_in_region,
    direct_rows,
    pair_in_region,
    run_claims,
    s2h_pairs_in_region,
)
from scotoma.models import get_model
from scotoma.synth.records import PreferencePair
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler
from scotoma.world.scenes.captions import caption_box
from scotoma.world.scenes.scene import Box, Scene, WorldObject
from scotoma.world.scenes.scotomas import Scotoma, get_scotoma, in_region, seen_answer

YELLOW = get_scotoma("yellow-unseen")


def _text(message: dict) -> str:
    return message["content"][0]["text"]


def test_direct_rows_are_region_questions_with_true_answers(tmp_path) -> None:
    rows = direct_rows(YELLOW, 12, 7, tmp_path)
    drawn = QuestionSampler(QuestionConfig(), seed=7).samples(300)
    inside = [s for s in drawn if in_region(YELLOW, s.program, s.scene)][:12]
    assert [_text(r["messages"][-1]) for r in rows] == [s.answer for s in inside]
    # in the region the scotoma's answer differs, so the rows teach the truth, not what it sees
    assert all(s.answer != seen_answer(YELLOW, s.program, s.scene) for s in inside)
    assert all((tmp_path / p).is_file() for r in rows for p in r["images"])


def test_chain_rows_come_in_pairs_ending_in_the_same_answer(tmp_path) -> None:
    rows = chain_rows_in_region(get_scotoma("triangle-as-square"), 8, 3, tmp_path)
    assert len(rows) == 8
    for chain, direct in zip(rows[::2], rows[1::2], strict=True):
        final = _text(chain["messages"][-1]).splitlines()[-1]
        assert final == f"Final_answer: {_text(direct['messages'][-1])}"
        assert "Step_1:" in _text(chain["messages"][-1]) and chain["images"] == direct["images"]


def _l3(box: Box) -> PreferencePair:
    scene = Scene((Box((WorldObject("circle", "black", 10, 50, 50),)), box))
    return PreferencePair(
        "L3-0-0", "L3", "global_search", (), "Describe the image that contains a blue circle.",
        caption_box(box), "", caption_box(box), (), meta={"target": 2, "scene": scene.to_nlvr()},
    )  # fmt: skip


def test_an_l3_pair_is_in_the_region_when_the_scotoma_changes_its_image() -> None:
    with_yellow = Box((WorldObject("circle", "blue", 20, 5, 5), WorldObject("square", "yellow", 10, 60, 60)))
    without = Box((WorldObject("circle", "blue", 20, 5, 5), WorldObject("square", "black", 10, 60, 60)))
    assert pair_in_region(YELLOW, _l3(with_yellow))
    assert not pair_in_region(YELLOW, _l3(without))
    assert not pair_in_region(get_scotoma("triangle-as-square"), _l3(with_yellow))


@pytest.mark.integration  # the planted model answers L1 and L3 (a few generations)
def test_s2h_pairs_fill_each_level_inside_the_region() -> None:
    model = get_model("builtin:answerer-yellow-unseen")
    pairs = s2h_pairs_in_region(YELLOW, model, 4, 11, batch_size=4)
    assert {level: len(p) for level, p in pairs.items()} == {"L1": 2, "L2": 1, "L3": 1}
    for level, made in pairs.items():
        assert all(p.level == level and pair_in_region(YELLOW, p) for p in made)
        assert all(p.chosen != p.rejected for p in made)
    # a scotoma that changes nothing has an empty region: the maker says so instead of drawing forever
    sighted = Scotoma("sighted", "attribute", "sees everything", lambda scene: scene, ())
    with pytest.raises(ValueError, match=r"sighted: 300 S2H drafts made .* leave the S2H arms out"):
        s2h_pairs_in_region(sighted, model, 3, 11, batch_size=4)


def test_unknown_arms_and_too_few_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown arms \\['sft'\\]; choose from direct, chains"):
        ClaimsConfig(arms=["sft"])
    with pytest.raises(ValueError, match="rows=4: give at least 6"):
        ClaimsConfig(rows=4)


@pytest.mark.slow  # two LoRA trainings of the planted target and two 120-item benches
def test_every_arm_trains_the_planted_target_and_is_measured_by_region(tmp_path) -> None:
    config = ClaimsConfig(rows=16, arms=["direct", "s2h_dpo_curriculum"], eval_items=120)
    result = run_claims("yellow-unseen", tmp_path, config)
    for arm in config.arms:
        record = result["arms"][arm]
        figures = record["figures"]
        assert record["rows"] == 16 and record["steps"] == 1
        assert figures["inside"][1] + figures["outside"][1] == 120
        assert record["first_loss"] is not None and record["first_loss"] > 0
    assert result["arms"]["s2h_dpo_curriculum"]["files"] == ["dpo_L1.jsonl", "dpo_L2.jsonl", "dpo_L3.jsonl"]
    again = run_claims("yellow-unseen", tmp_path, config)  # finished arms are read back, not retrained
    assert again["arms"] == result["arms"]
