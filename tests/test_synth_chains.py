"""The focus-centric chain format (paper 001) and chain inference: render, parse, final-answer extraction."""

import pytest

from scotoma.models import ScriptedModel
from scotoma.synth import (
    Chain,
    ChainError,
    ChainStep,
    chain_conversation,
    extract_chain_answer,
    final_answer_completion,
    final_answer_text,
    make_chain,
    parse_chain,
    run_chain_inference,
)
from scotoma.types import Completion, ImageRef
from scotoma.world import Box, WorldObject, box_image_ref

CHAIN = make_chain(
    [
        ("How many blue circles are there in Image 1 and Image 2 together?", (2, 1), "3"),
        ("How many blue circles are there in Image 3?", (3,), "1"),
    ],
    "4",
)
RENDERED = (
    "Step_1: How many blue circles are there in Image 1 and Image 2 together?\n"
    "Focus: Image1,Image2\n"
    "Answer: 3\n"
    "Step_2: How many blue circles are there in Image 3?\n"
    "Focus: Image3\n"
    "Answer: 1\n"
    "Final_answer: 4"
)


def test_render_follows_the_paper_case_study_format():
    assert CHAIN.render() == RENDERED
    assert [s.stop for s in CHAIN.steps] == [False, True]
    assert CHAIN.steps[0].focus == (1, 2)  # sorted
    assert CHAIN.images == (1, 2, 3)


def test_parse_reads_back_what_render_wrote():
    parsed = parse_chain(RENDERED)
    assert parsed.well_formed
    assert parsed.final_answer == "4"
    assert [(s.sub_question, s.focus, s.answer, s.stop) for s in parsed.steps] == [
        (s.sub_question, s.focus, s.answer, s.stop) for s in CHAIN.steps
    ]


def test_parse_is_lenient_like_the_papers_figure_8():
    text = (
        "Step_1:\\n What is the first action taken in the screenshot?\\n References: image1\\n "
        "Answer: Clicking 'AP News'.\\n\n**Step 2:** What next? Focus: Image2, image 3\nAnswer: NewsBreak\n"
        "Final answer: ['NewsBreak', 'Facebook']"
    )
    parsed = parse_chain(text)
    assert parsed.well_formed
    assert [s.focus for s in parsed.steps] == [(1,), (2, 3)]
    assert parsed.steps[0].sub_question == "What is the first action taken in the screenshot?"
    assert parsed.steps[1].answer == "NewsBreak"
    assert parsed.final_answer == "['NewsBreak', 'Facebook']"


def test_parse_reads_a_word_level_models_one_line_output():
    # what the built-in world models decode: lowercase words joined by spaces, no line breaks
    text = (
        "step _ 1 : how many blue circles are there in image 1 ? focus : image1 answer : 3 "
        "step _ 2 : how many blue circles are there in image 2 ? focus : image2 answer : 1 final _ answer : 4"
    )
    parsed = parse_chain(text)
    assert parsed.well_formed and parsed.final_answer == "4"
    assert [(s.sub_question, s.focus, s.answer) for s in parsed.steps] == [
        ("how many blue circles are there in image 1 ?", (1,), "3"),
        ("how many blue circles are there in image 2 ?", (2,), "1"),
    ]
    assert len(parse_chain("the first step is hard ; step 2 comes later").steps) == 0


def test_parse_of_a_broken_chain_is_not_well_formed():
    parsed = parse_chain("Step_1: How many?\nAnswer: 2\n")  # no focus, no final answer
    assert not parsed.well_formed and parsed.final_answer is None
    assert parsed.steps[0].focus == () and parsed.steps[0].answer == "2"


def test_chain_rules_are_enforced():
    with pytest.raises(ChainError):
        Chain((), "4")
    with pytest.raises(ChainError):
        ChainStep("q", (), "a")
    with pytest.raises(ChainError):
        ChainStep("q", (0,), "a")
    with pytest.raises(ChainError):  # a step that stops before the last
        Chain((ChainStep("q", (1,), "a", True), ChainStep("r", (2,), "b", True)), "b")
    assert Chain.from_dict(CHAIN.to_dict()) == CHAIN


@pytest.mark.parametrize(
    ("text", "span", "method"),
    [
        (RENDERED, "4", "final_answer"),
        ("Step_1: q\nFocus: Image1\nAnswer: 7", "7", "last_step"),  # stopped before Final_answer
        ("I cannot tell.", None, "none"),
        ("Step_1: q\nFocus: Image1\nAnswer: 2\nFinal_answer: 2\nFinal_answer: 5", "5", "final_answer"),
    ],
)
def test_final_answer_text(text, span, method):
    found, how, _ = final_answer_text(text)
    assert (found, how) == (span, method)


def test_extract_chain_answer_applies_the_judge_rules_to_the_final_answer():
    text = "Step_1: Is it red?\nFocus: Image2\nAnswer: No\nFinal_answer: The answer is (B) a blue car."
    options = {"A": "a red car", "B": "a blue car"}
    found = extract_chain_answer(text, "choice", options)
    assert (found.answer, found.method) == ("B", "chain:explicit")
    assert extract_chain_answer("Step_1: q\nFocus: Image1\nAnswer: three", "number").answer == "3"
    assert extract_chain_answer("no chain here", "yes_no").method == "chain:none"


def test_final_answer_completion_keeps_the_span_only():
    done = final_answer_completion(Completion(RENDERED, completion_tokens=40))
    assert done.text == "4" and done.completion_tokens == 40
    assert final_answer_completion(Completion("plain")).text == "plain"


def _images(n: int) -> list[ImageRef]:
    return [box_image_ref(Box((WorldObject("circle", "blue", 20, 10 * k, 10),))) for k in range(n)]


def test_run_chain_inference_asks_in_chain_style_and_reads_answers():
    model = ScriptedModel([RENDERED, "Answer: no chain"])
    images = _images(3)
    answers = run_chain_inference(
        model, [(images, "How many blue circles?"), (images[:1], "Any?")], batch_size=1
    )
    assert model.calls == 2
    assert [a.final for a in answers] == ["4", None] and [a.parsed for a in answers] == [True, False]
    asked = model.seen[0]
    assert asked == chain_conversation(images, "How many blue circles?")
    assert asked.images == images
    text = asked.messages[0].text
    assert text.startswith("Image1: \nImage2: \nImage3: \nHow many blue circles?\n")
    assert "Final_answer:" in text  # the instruction (prompts/chain_v1.txt) follows the question
    assert chain_conversation(images, "Q", layout="bare", instruction=False).messages[0].text == "Q"
