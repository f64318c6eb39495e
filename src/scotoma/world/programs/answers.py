"""The answer vocabulary of the shapes world and a lenient answer check.

Canonical answers (what `oracle.evaluate` returns), all lowercase:

| question | answer |
|---|---|
| yes/no questions | "yes", "no" |
| statements (NLVR style) | "true", "false" |
| counts, sums, differences, number of images | digits: "0", "3", "12" |
| attribute queries | "yellow", "black", "blue"; "square", "circle", "triangle"; "small", "medium", "large" |
| which image, first appearance | "image 2" |
| what moved / appeared / disappeared | "the black square"; "nothing" when nothing did (see below) |

A change answer names the object by color and shape, and adds its size ("the large black square") only
when the two images also hold a black square of another size.

`is_correct` compares a model's free-text answer with a canonical one after normalizing case,
punctuation, number words ("three" -> "3"), image names ("the second image", "Image2" -> "image 2")
and yes/true, no/false.
"""

from __future__ import annotations

import re
from typing import Any

from scotoma.world.programs.lexicon import NUMBER_WORDS, ORDINALS
from scotoma.world.scenes.scene import COLORS, SHAPES

_NUMBERS = {w: str(i) for i, w in enumerate(NUMBER_WORDS)} | {"none": "0"}
_ORDINAL = {w: str(i + 1) for i, w in enumerate(ORDINALS)}
_TRUTH = {"yes": "yes", "true": "yes", "no": "no", "false": "no", "correct": "yes", "incorrect": "no"}
_FILLERS = ("the answer is", "answer is", "answer", "it is", "there are", "there is", "it's", "its")


def normalize_answer(text: str) -> str:
    """Lowercase, no punctuation, number words as digits, image names as "image k"."""
    text = text.strip().lower()
    text = re.sub(r"\b(image|img|picture)\s*(?:number\s*)?#?\s*(\d+)\b", r"image \2", text)
    text = re.sub(r"[^\w\s]", " ", text)
    words = [_NUMBERS.get(w, w) for w in text.split()]
    text = " ".join(words)
    for word, digit in _ORDINAL.items():
        text = re.sub(rf"\b(?:the )?{word} (?:image|picture|one)\b", f"image {digit}", text)
    text = re.sub(r"\b(?:the )?(\d+)(?:st|nd|rd|th) (?:image|picture)\b", r"image \1", text)
    text = re.sub(r"\bimage (\w+)\b", lambda m: f"image {_NUMBERS.get(m.group(1), m.group(1))}", text)
    for filler in _FILLERS:
        if text.startswith(filler + " "):
            text = text[len(filler) + 1 :]
            break
    return text.strip()


def _object(text: str) -> tuple[str | None, str, str] | None:
    """(size or None, color, shape) from "the large black square"; None if it names no object."""
    words = [w for w in text.split() if w not in ("the", "a", "an")]
    if len(words) == 2 and words[0] in COLORS and words[1] in SHAPES:
        return None, words[0], words[1]
    if (
        len(words) == 3
        and words[0] in ("small", "medium", "large")
        and words[1] in COLORS
        and words[2] in SHAPES
    ):
        return words[0], words[1], words[2]
    return None


def is_correct(predicted: str, reference: Any) -> bool:
    """Whether a predicted answer means the reference answer.

    Args:
        predicted: free text from a model ("Yes.", "three", "The second image").
        reference: a canonical answer string, or a `Verdict` (its `answer`).

    Raises:
        ValueError: the reference is a verdict of an invalid question, which has no answer.
    """
    answer = getattr(reference, "answer", reference)
    if answer is None:
        raise ValueError(
            f"the question has no answer ({getattr(reference, 'reason', None)}): nothing to compare"
        )
    got, want = normalize_answer(predicted), normalize_answer(str(answer))
    if got == want:
        return True
    words = got.split()
    if not words:
        return False
    if want in _TRUTH:  # "Yes, there is." counts; the first word decides
        return _TRUTH.get(words[0]) == _TRUTH[want]
    if want.isdigit():  # "3 blue circles" counts, "3 or 4" does not
        return words[0] == want and sum(w.isdigit() for w in words) == 1
    got_obj, want_obj = _object(got), _object(want)
    if got_obj and want_obj:
        same_kind = got_obj[1:] == want_obj[1:]
        return same_kind and (got_obj[0] is None or want_obj[0] is None or got_obj[0] == want_obj[0])
    return False
