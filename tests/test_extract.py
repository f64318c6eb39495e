"""Answer extraction on a table of real-looking model outputs: right answer, or unparsed, never a guess."""

from __future__ import annotations

import pytest

from scotoma.judge import (
    Extraction,
    JudgeExtractor,
    JudgeRequest,
    extract_answer,
    normalize_answer,
    normalize_number,
    normalize_yes_no,
)
from scotoma.models import ScriptedModel

ABCD = {"A": "a red car", "B": "a blue truck", "C": "a green bicycle", "D": "none of them"}
ABC = {"A": "Environment", "B": "Layout", "C": "Observation angle"}
NUMBERS = {"A": "2", "B": "3", "C": "4", "D": "5"}

# (output, expected answer or None for unparsed)
CHOICE_CASES = [
    ("The correct answer is (B).", "B"),
    ("Answer: C) a green bicycle", "C"),
    ("I think it's option b", "B"),
    ("**A**", "A"),
    ("B", "B"),
    ("B.", "B"),
    ("(D)", "D"),
    ("C) a green bicycle", "C"),
    ("Answer: a red car", "A"),
    ("The answer is a blue truck.", "B"),
    ("a blue truck", "B"),
    ("Both images show a green bicycle leaning on a wall.", "C"),
    ("The answer is B, not A.", "B"),
    ("It's not A; the right answer is D.", "D"),
    ("Option A is incorrect because the car is red. Option C is correct.", "C"),
    ("Looking at image 1 and image 2, (A) and (C) are plausible, but the answer is (C).", "C"),
    ("Final answer: D", "D"),
    ("My answer is: B", "B"),
    ("A. Both images contain a red car.", "A"),
    ("A red car appears in both images, so the answer is A.", "A"),
    ("A red car appears in both images.", "A"),
    ("A dog is sitting on the grass.", None),
    ("I'm sorry, but I can't determine which option is correct from these images.", None),
    ("I cannot see any images. Could you upload them?", None),
    ("As an AI, I am unable to view images, so I cannot choose between A and B.", None),
    ("", None),
    ("   ", None),
    ("Hmm.", None),
    ("I would choose C because the bicycle is green in both pictures.", "C"),
    ("Therefore, B.", "B"),
    ("<think>Image 1 has a red car... maybe A? No, the truck.</think>The answer is B.", "B"),
    ("The correct option is b.", "B"),
    ("answer: (c)", "C"),
    ("The best answer would be C - a green bicycle", "C"),
    ("Between A and B, I'd pick B.", "B"),
    ("B is the correct answer since the truck appears twice.", "B"),
    ("It is D.", "D"),
    ("Answer:\n\nB", "B"),
    ("The images share the same layout, so Layout.", "B"),
    ("ANSWER: A", "A"),
    ("Neither a red car nor a blue truck; it is a green bicycle.", "C"),
    ("Answer: (A) a red car\nExplanation: the truck in option B is blue.", "A"),
    ("The answer is not A.", None),
    ("Image 2 shows a blue truck, which matches option B.", "B"),
    ("C\n\nExplanation: the bicycle is green in both images.", "C"),
    ("Sure! The answer is **D**.", "D"),
    ("(A) a red car\n(B) a blue truck\n(C) a green bicycle\nI think (B).", "B"),
    ("A. a red car\nB. a blue truck\nLooking at both images, B.", "B"),
    ("B. The other options (A, C, D) do not appear in both images.", "B"),
]
CHOICE_OPTIONS = {i: ABCD for i in range(len(CHOICE_CASES))}
CHOICE_OPTIONS[38] = ABC  # "Layout" is option B of a 3-option item

YES_NO_CASES = [
    ("Yes, they are.", "yes"),
    ("No.", "no"),
    ("yes", "yes"),
    ("NO", "no"),
    ("True", "yes"),
    ("false", "no"),
    ("The answer is yes.", "yes"),
    ("Answer: No, the second image has no dog.", "no"),
    ("The statement is true.", "yes"),
    ("The statement is not true: there are three circles.", "no"),
    ("Correct.", "yes"),
    ("There is no red car in the second image, so the answer is no.", "no"),
    ("**Yes**", "yes"),
    ("I'm sorry, I cannot determine that from the images.", None),
    ("There is no red car in the second image.", None),
    ("Both images show a cat.", None),
    # hedged answers: a hedge, then so / not / yes / no ending its clause
    ("I think not.", "no"),
    ("Probably not.", "no"),
    ("I don't think so.", "no"),
    ("I do not believe so, the square is red.", "no"),
    ("I believe so.", "yes"),
    ("I think so, the circle is blue.", "yes"),
    ("Most likely yes.", "yes"),
    ("Probably yes, there are two squares.", "yes"),
    ("I'd say no.", "no"),
    ("I am fairly sure not.", "no"),
    ("No, I don't think so.", "no"),
    ("Yes, I believe so.", "yes"),
    ("I'm sorry, the images are small, but I think not.", "no"),
    # traps: no polarity word, a determiner or a longer clause after the hedge, or two answers at once
    ("I'm not sure.", None),
    ("Not sure.", None),
    ("Probably.", None),
    ("There are probably no red circles.", None),
    ("I think not all the circles are blue.", None),
    ("I think so many shapes make it hard to tell.", None),
    ("No, I think yes.", None),
    ("Maybe yes, maybe no.", None),
]

NUMBER_CASES = [
    ("The answer is 3.", "3"),
    ("3", "3"),
    ("three", "3"),
    ("There are 4 circles in total.", "4"),
    ("Image 1 has 2 circles and image 2 has 3 circles, so 5 in total.", "5"),
    ("Answer: 3.0", "3"),
    ("The total is 1,000.", "1000"),
    ("None.", "0"),
    ("I cannot count them from this image.", None),
    ("I don't know.", None),
]


@pytest.mark.parametrize(("index", "output", "expected"), [(i, *case) for i, case in enumerate(CHOICE_CASES)])
def test_choice_table(index: int, output: str, expected: str | None) -> None:
    got = extract_answer(output, "choice", CHOICE_OPTIONS[index])
    assert got.answer == expected, f"{output!r} -> {got}"
    assert got.parsed == (expected is not None)


@pytest.mark.parametrize(("output", "expected"), YES_NO_CASES)
def test_yes_no_table(output: str, expected: str | None) -> None:
    got = extract_answer(output, "yes_no")
    assert got.answer == expected, f"{output!r} -> {got}"


def test_hedges_say_how_they_were_read() -> None:
    assert extract_answer("I think not.", "yes_no") == Extraction("no", "hedged")
    assert extract_answer("Yes, I believe so.", "yes_no") == Extraction("yes", "leading")
    # the output says both: unparsed, and counted apart from an output that says nothing
    assert extract_answer("No, I think yes.", "yes_no") == Extraction(None, "conflict")
    assert extract_answer("Maybe yes, maybe no.", "yes_no") == Extraction(None, "conflict")
    assert extract_answer("I'm not sure.", "yes_no") == Extraction(None, "none")
    # an explicit cue outranks a hedge, as it outranks a leading answer
    assert extract_answer("I think not. The answer is yes.", "yes_no") == Extraction("yes", "explicit")


@pytest.mark.parametrize(("output", "expected"), NUMBER_CASES)
def test_number_table(output: str, expected: str | None) -> None:
    got = extract_answer(output, "number")
    assert got.answer == expected, f"{output!r} -> {got}"


def test_the_table_is_large_enough() -> None:
    assert len(CHOICE_CASES) + len(YES_NO_CASES) + len(NUMBER_CASES) >= 50


def test_numbers_as_option_text_map_to_their_letter() -> None:
    assert extract_answer("The answer is 3.", "choice", NUMBERS).answer == "B"
    assert extract_answer("4", "choice", NUMBERS).answer == "C"
    # a number that is no option is not forced onto one
    assert extract_answer("The answer is 7.", "choice", NUMBERS).answer is None


def test_only_valid_letters_count() -> None:
    three = {"A": "cat", "B": "dog", "C": "bird"}
    assert extract_answer("The answer is D.", "choice", three).answer is None
    assert extract_answer("The correct answer is (B).", "choice", three).answer == "B"
    assert extract_answer("The Truth: B", "choice", three).answer == "B"


def test_refusals_are_unparsed_with_a_reason() -> None:
    got = extract_answer("I'm sorry, but I cannot help with identifying that.", "choice", ABCD)
    assert got == Extraction(None, "refusal")
    assert extract_answer("", "yes_no") == Extraction(None, "empty")


def test_normalizers() -> None:
    assert normalize_number("03") == "3"
    assert normalize_number("2.50") == "2.5"
    assert normalize_number("twelve") == "12"
    assert normalize_number("many") is None
    assert normalize_yes_no("True") == "yes"
    assert normalize_yes_no(False) == "no"
    assert normalize_yes_no("maybe") is None
    assert normalize_answer("(b)", "choice") == "B"
    assert normalize_answer("FALSE", "yes_no") == "no"
    with pytest.raises(ValueError, match="not a valid yes_no answer"):
        normalize_answer("maybe", "yes_no")


def test_choice_needs_options() -> None:
    with pytest.raises(ValueError, match="needs the item's options"):
        extract_answer("A", "choice")
    with pytest.raises(ValueError, match="unknown answer kind"):
        extract_answer("A", "essay")  # type: ignore[arg-type]


def test_judge_extraction_reads_the_judge_reply_and_counts_it() -> None:
    # the judge sees the question, options and response; it replies with the letter or NONE
    def judge(conversation):
        text = conversation.messages[-1].text
        assert "Which vehicle appears in both images?" in text and "B. a blue truck" in text
        return "NONE" if "weather" in text else "B"

    model = ScriptedModel(judge, spec="scripted:judge")
    extractor = JudgeExtractor(model)
    requests = [
        JudgeRequest("Which vehicle appears in both images?", "choice", ABCD, "The second one I guess"),
        JudgeRequest("Which vehicle appears in both images?", "choice", ABCD, "Nice weather today."),
    ]
    got = extractor.extract_many(requests)
    assert got == [Extraction("B", "judge"), Extraction(None, "judge_none")]
    assert model.calls == 1  # one batched call for all requests
    assert extractor.prompt_version == "extract_v1"
