"""Verifiers: the world oracle and a VLM judge (robust JSON, one repair turn, then unjudged and counted)."""

import json

import pytest

from scotoma.cache import ResponseCache
from scotoma.judge.verifiers import (
    CRITERIA,
    Judgement,
    OracleVerifier,
    VerifierError,
    VerifyItem,
    criteria_until,
    get_verifier,
)
from scotoma.judge.vlm_judge import VerdictError, VLMJudge, extract_json, json_objects, parse_verdict
from scotoma.models import ScriptedModel
from scotoma.types import ImagePart
from scotoma.world.programs.oracle import REASONS
from scotoma.world.scenes.render import box_image_ref
from scotoma.world.scenes.scene import Box, Scene, WorldObject

BOX = Box(
    (
        WorldObject("circle", "blue", 20, 10, 10),
        WorldObject("square", "yellow", 10, 60, 60),
        WorldObject("square", "yellow", 20, 40, 70),
    )
)
SCENE = Scene((BOX,))
IMAGES = (box_image_ref(BOX),)


def verdict(valid=True, correct=False, failed=None, **extra) -> str:
    data = {c: {"ok": c != failed, "why": f"{c} reason"} for c in CRITERIA}
    data |= {
        "reference_answer": "2",
        "answer_correct": {"ok": correct, "why": "compared"},
        "skills": ["counting"],
    }
    return json.dumps(data | extra)


def test_criteria_order_matches_the_oracle():
    assert tuple(r for r in REASONS if r) == CRITERIA
    assert criteria_until("atomic") == {
        "grammatical": True,
        "atomic": False,
        "grounded": None,
        "objective": None,
    }
    assert criteria_until(None) == dict.fromkeys(CRITERIA, True)


def test_oracle_verifier_judges_exactly():
    items = [
        VerifyItem(IMAGES, "How many yellow squares are there?", "Two.", SCENE),
        VerifyItem(IMAGES, "How many yellow squares are there?", "3", SCENE),
        VerifyItem(IMAGES, "Is there a blue circle in Image 3?", "yes", SCENE),
        VerifyItem(IMAGES, "What color is the square?", "yellow", SCENE),
        VerifyItem(IMAGES, "purple elephants dance", "yes", SCENE),
    ]
    right, wrong, ungrounded, ambiguous, garbage = OracleVerifier().verify(items)
    assert right.valid and right.correct is True and right.reference == "2" and right.family == "counting"
    assert set(right.skills) == {"attribute:color", "attribute:shape", "counting"}
    assert wrong.valid and wrong.correct is False
    assert (ungrounded.valid, ungrounded.reason, ungrounded.correct) == (False, "grounded", None)
    assert ungrounded.criteria["grounded"] is False and ungrounded.criteria["objective"] is None
    assert ambiguous.reason == "objective" and garbage.reason == "grammatical"
    assert all(j.judged for j in (right, wrong, ungrounded, ambiguous, garbage))


def test_screening_before_the_target_answers():
    items = [
        VerifyItem(IMAGES, "How many yellow squares are there?", "", SCENE),
        VerifyItem(IMAGES, "Is there a blue circle in Image 3?", "", SCENE),
    ]
    needs_answer, ungrounded = OracleVerifier().screen(items)
    assert needs_answer is None and ungrounded.reason == "grounded" and not ungrounded.valid
    assert VLMJudge(ScriptedModel(verdict())).screen(items) == [None, None]  # the judge needs every answer


def test_oracle_needs_a_scene():
    with pytest.raises(VerifierError, match="judge:"):
        OracleVerifier().verify([VerifyItem(IMAGES, "Is there a circle?", "yes")])


def test_json_extraction_is_robust():
    assert json_objects('a {"x": "}{"} b {"y": 1}') == ['{"x": "}{"}', '{"y": 1}']
    assert extract_json('think {not json} then {"a": 1}') == {"a": 1}
    assert extract_json('```json\n{"a": true,}\n```') == {"a": True}  # fence and trailing comma
    assert extract_json("{'a': True, 'b': None}") == {"a": True, "b": None}  # a Python dict
    assert extract_json('{"a": "say \\"hi\\" {"}') == {"a": 'say "hi" {'}
    assert extract_json("no object here") is None
    # the last parsable object wins: the verdict comes after the reasoning
    assert extract_json('{"draft": 1} reasoning ... {"final": 2}') == {"final": 2}


def test_parse_verdict_forms():
    valid_wrong = parse_verdict("Let me look. The squares are two.\n" + verdict())
    assert (valid_wrong.valid, valid_wrong.correct, valid_wrong.reference) == (True, False, "2")
    assert valid_wrong.skills == ("counting",) and valid_wrong.detail == "compared"
    invalid = parse_verdict(verdict(failed="grounded"))
    assert (invalid.valid, invalid.reason, invalid.correct, invalid.detail) == (
        False,
        "grounded",
        None,
        "grounded reason",
    )
    # bare booleans and yes/no strings are read too; keys in another case
    loose = parse_verdict(
        '{"Grammatical": true, "atomic": "yes", "grounded": "pass", "objective": {"ok": "true"}, '
        '"answer_correct": "no"}'
    )
    assert loose.valid and loose.correct is False and loose.skills == ()
    with pytest.raises(VerdictError, match="lacks"):
        parse_verdict('{"grammatical": true}')
    with pytest.raises(VerdictError, match="answer_correct"):
        parse_verdict(json.dumps(dict.fromkeys(CRITERIA, True)))
    with pytest.raises(VerdictError, match="ok"):
        parse_verdict(json.dumps(dict.fromkeys(CRITERIA, "maybe")))


def test_judge_sees_images_and_reasons_first():
    model = ScriptedModel(verdict(correct=True))
    judge = VLMJudge(model)
    (judgement,) = judge.verify([VerifyItem(IMAGES, "How many yellow squares?", "2")])
    assert judgement.valid and judgement.correct is True and judgement.judged
    (conversation,) = model.seen
    content = conversation.messages[0].content
    assert content[0].text == "Image 1: " and isinstance(content[1], ImagePart)
    prompt = content[-1].text
    assert "How many yellow squares?" in prompt and "Target model's answer: 2" in prompt
    assert "step by step" in prompt and '"answer_correct"' in prompt
    assert judge.spec == "judge:scripted:" and judge.version == "verifier_v1+verifier_repair_v1"


def test_one_repair_turn_then_unjudged():
    replies = {"q1": ["I think it is fine.", verdict()], "q2": ["nonsense", "still nonsense"]}

    def respond(conversation):
        question = "q1" if "Question: q1" in conversation.messages[0].text else "q2"
        turns = sum(m.role == "assistant" for m in conversation.messages)
        return replies[question][turns]

    model = ScriptedModel(respond)
    judge = VLMJudge(model)
    fixed, lost = judge.verify([VerifyItem(IMAGES, "q1", "a"), VerifyItem(IMAGES, "q2", "a")])
    assert fixed.judged and fixed.valid and fixed.correct is False
    assert not lost.judged and lost.reason == "unjudged" and not lost.valid and lost.correct is None
    assert "no JSON object" in lost.detail
    assert model.calls == 2 and judge.repairs == 2 and judge.unjudged == 1
    repair = model.seen[-1]
    assert [m.role for m in repair.messages] == ["user", "assistant", "user"]
    assert "could not be read" in repair.messages[-1].text and '"grammatical"' in repair.messages[-1].text


def test_get_verifier(tmp_path):
    assert isinstance(get_verifier("oracle"), OracleVerifier)
    judge = get_verifier("judge:scripted:" + verdict(), ResponseCache(tmp_path / "c.sqlite"))
    assert isinstance(judge, VLMJudge) and judge.spec.startswith("judge:scripted:")
    (first,) = judge.verify([VerifyItem(IMAGES, "q", "a")])
    (second,) = judge.verify([VerifyItem(IMAGES, "q", "a")])
    assert first == second and judge.model.hits == 1  # the second call came from the cache
    with pytest.raises(ValueError, match="unknown verifier"):
        get_verifier("gemini")


def test_unjudged_judgement_logs():
    record = Judgement.unjudged("why").to_dict()
    assert record["judged"] is False and record["criteria"] == dict.fromkeys(CRITERIA)
