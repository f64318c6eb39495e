"""Questioner prompts and lenient `<response_i>` parsing: malformed output means invalid slots, not errors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scotoma.probe.prompts import (
    PromptSet,
    answerer_conversation,
    fill,
    format_questions,
    parse_questions,
    question_prefix,
    questioner_conversation,
    shipped_prompt,
)
from scotoma.types import ImagePart, ImageRef, TextPart
from scotoma.world.scenes.render import box_image_ref
from scotoma.world.scenes.scene import Box, WorldObject


def test_tagged_output_in_order():
    parsed = parse_questions(
        "<response_1>Is there a circle?</response_1>\n<response_2> How many?</response_2>", 2
    )
    assert parsed.questions == ("Is there a circle?", "How many?")
    assert parsed.mode == "tags" and parsed.extra == 0 and parsed.found == 2


def test_tags_out_of_order_repeated_and_beyond_k():
    text = "<response_2>B?</response_2><response_1>A?</response_1><response_1>A2?</response_1><response_3>C?"
    parsed = parse_questions(text, 2)
    assert parsed.questions == ("A?", "B?")  # by index; a repeated index keeps its first question
    assert parsed.extra == 1  # response_3 with k = 2


def test_unclosed_and_missing_and_empty_slots():
    # cut at max_new_tokens: the open tag runs to the end
    assert parse_questions("<response_1>Is there a", 2).questions == ("Is there a", None)
    assert parse_questions("<response_1>  </response_1><response_2>Q?</response_2>", 2).questions == (
        None,
        "Q?",
    )
    # an unclosed tag runs to the next opening tag
    assert parse_questions("<response_1>A? <response_2>B?</response_2>", 2).questions == ("A?", "B?")
    # a wrong closing tag is dropped from the text
    assert parse_questions("<response_1>A?</response_2>", 1).questions == ("A?",)


def test_word_level_decoded_tags():
    """A word-level tokenizer decodes "<response_1>" as "< response _ 1 >"."""
    text = (
        "< response _ 1 > is there a blue circle ? < / response _ 1 > "
        "< response _ 2 > how many ? < / response _ 2 >"
    )
    assert parse_questions(text, 2).questions == ("is there a blue circle ?", "how many ?")


def test_untagged_fallback_and_strict():
    parsed = parse_questions("is there a blue circle ? how many squares are there ? what color ?", 2)
    assert parsed.questions == ("is there a blue circle ?", "how many squares are there ?")
    assert parsed.mode == "untagged" and parsed.extra == 1
    assert parse_questions("is there a circle ?", 2, strict=True).questions == (None, None)
    assert parse_questions("", 2).mode == "empty"
    assert parse_questions("   \n ", 3).questions == (None, None, None)


@given(st.text(max_size=200), st.integers(1, 5), st.booleans())
def test_parsing_never_raises(text, k, strict):
    parsed = parse_questions(text, k, strict)
    assert len(parsed.questions) == k
    assert all(q is None or (q.strip() == q and q) for q in parsed.questions)


def test_format_round_trips():
    questions = ["Is there a circle?", "How many squares are there?"]
    assert parse_questions(format_questions(questions), 2).questions == tuple(questions)


def test_question_prefix():
    assert question_prefix("How many blue circles are there?", 2) == "how many"
    assert question_prefix("What's the color?", 1) == "what's"
    assert question_prefix("Is it?", 4) == "is it"


def _image(color: str = "blue") -> ImageRef:
    return box_image_ref(Box((WorldObject("circle", color, 20, 10, 10),)))


def test_fill_places_labelled_images():
    a, b = _image("blue"), _image("black")
    parts = fill("{images}Q: {question}", (a, b), "Image {n}: ", question="why?")
    assert parts == ["Image 1: ", a, "Image 2: ", b, "Q: why?"]
    assert fill("no marker {k}", (a,), "", k=3) == [a, "no marker 3"]  # images first without a marker


def test_prompt_sets_resolve_by_backend():
    world = PromptSet.resolve("builtin:questioner", "builtin:answerer")
    assert world.sources == {
        "questioner": "questioner_world_v1",
        "answerer": "answerer_world_v1",
        "conme": "conme_world_v1",
    }
    assert world.image_label == ""
    general = PromptSet.resolve("hf:some/model", "openai:gpt@http://x")
    assert general.sources["questioner"] == "questioner_v1" and general.image_label == "Image {n}: "
    conversation = questioner_conversation(general, (_image(),), 3)
    text = conversation.messages[-1].text
    assert "<response_3>question 3</response_3>" in text and "write 3 questions" in text
    assert isinstance(conversation.messages[0].content[1], ImagePart)
    answer = answerer_conversation(general, (_image(),), "Is there a circle?")
    assert answer.messages[0].content[-1] == TextPart(
        "Is there a circle?\nAnswer with a single word or a short phrase."
    )


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("n_images", [1, 3])
def test_world_prompt_is_the_builtin_questioners_training_prompt(k, n_images):
    from scotoma.world_models.curriculum import questions_prompt

    prompts = PromptSet.resolve("builtin:questioner", "builtin:answerer")
    conversation = questioner_conversation(prompts, (_image(),) * n_images, k)
    assert [type(p) for p in conversation.messages[0].content] == [ImagePart] * n_images + [TextPart]
    assert conversation.messages[0].content[-1].text == questions_prompt(k, n_images)


def test_checkpoint_prompt_and_file_override(tmp_path):
    folder = tmp_path / "questioner"
    folder.mkdir()
    (folder / "questioner_prompt.txt").write_text("{images}ask {k} .\n")
    prompts = PromptSet.resolve(f"hf:{folder}", "hf:x")
    assert prompts.questioner == "{images}ask {k} ." and prompts.sources["questioner"].endswith(
        "questioner_prompt.txt"
    )
    custom = tmp_path / "mine.txt"
    custom.write_text("{images}{question} ?")
    assert PromptSet.resolve("hf:x", "hf:x", answerer=str(custom)).answerer == "{images}{question} ?"
    with pytest.raises(ValueError, match="shipped"):
        shipped_prompt("nope_v9")
