"""Tokens, numbers, image names and count operators: the small words of the world language.

Renderers give one canonical form; parsers are lenient (digits or words, "Image2", "the second image")
and yield every reading of a prefix of the tokens as `(value, end)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)  # fmt: skip
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_NUMBERS = {w: i for i, w in enumerate(NUMBER_WORDS)} | {"no": 0}
_ORDINALS = {w: i + 1 for i, w in enumerate(ORDINALS)}
_ORDINALS |= {f"{i}{s}": i for i, s in zip(range(1, 11), ["st", "nd", "rd"] + ["th"] * 7, strict=True)}

OP_WORDS = {"exactly": "exactly", "at_least": "at least", "at_most": "at most"}

Parses = Iterator[tuple[object, int]]


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens and punctuation: "In Image2, how many?" -> in image 2 , how many ?"""
    text = text.lower().replace("colour", "color").replace("atleast", "at least")
    text = re.sub(r"\b(image|img|picture)(\d+)", r"\1 \2", text)
    text = re.sub(r"\bgr[ae]y (box|square)es\b|\bgr[ae]y squares\b", "boxes", text)
    text = re.sub(r"\bgr[ae]y (box|square)\b", "box", text)
    return re.findall(r"\d+(?:st|nd|rd|th)?|[a-z]+|[?,.;:!]", text)


def number_word(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def parse_number(toks: list[str], i: int) -> Parses:
    if i < len(toks):
        t = toks[i]
        if t.isdigit():
            yield int(t), i + 1
        elif t in _NUMBERS and t != "no":
            yield _NUMBERS[t], i + 1


def image_name(k: int) -> str:
    return f"image {k}"


def parse_image(toks: list[str], i: int) -> Parses:
    """Image 2, image two, image number 2, the second image, the 2nd image, the image 2."""
    n = len(toks)
    j = i + 1 if i < n and toks[i] == "the" else i
    if j < n and toks[j] in ("image", "img", "picture"):
        j += 1 + (j + 1 < n and toks[j + 1] == "number")
        for value, end in parse_number(toks, j):
            if value >= 1:
                yield value, end
    elif j + 1 < n and j > i and toks[j] in _ORDINALS and toks[j + 1] in ("image", "picture"):
        yield _ORDINALS[toks[j]], j + 2


def images_name(images: tuple[int, ...]) -> str:
    names = [image_name(k) for k in images]
    return " , ".join(names[:-1]) + " and " + names[-1]


def _image_item(toks: list[str], j: int, first: bool) -> tuple[int, int] | None:
    step = next(parse_image(toks, j), None)
    if step is None and not first and j < len(toks) and toks[j].isdigit() and int(toks[j]) >= 1:
        step = (int(toks[j]), j + 1)  # "image 1 and 3"
    return step


def parse_images(toks: list[str], i: int) -> Parses:
    """Image 1 and Image 3; Image 1, Image 2 and Image 3; images 1 and 3."""
    if toks[i : i + 1] in (["images"], ["pictures"]):
        toks = [*toks[:i], "image", *toks[i + 1 :]]
    step = _image_item(toks, i, first=True)
    found: list[int] = []
    while step is not None:
        found.append(step[0])
        j = step[1] + (step[1] < len(toks) and toks[step[1]] == ",")
        if j < len(toks) and toks[j] == "and":
            last = _image_item(toks, j + 1, first=False)
            if last is not None:
                yield (*found, last[0]), last[1]
            return
        step = _image_item(toks, j, first=False)


_INDEX: dict[int, dict[str, list[tuple[tuple[str, ...], str]]]] = {}


def match_phrase(toks: list[str], i: int, lex: dict[tuple[str, ...], str]) -> Parses:
    """Every phrase of `lex` that starts at token i, looked up by its first word."""
    index = _INDEX.get(id(lex))
    if index is None:
        index = _INDEX[id(lex)] = {}
        for words, value in lex.items():
            index.setdefault(words[0], []).append((words, value))
    if i < len(toks):
        for words, value in index.get(toks[i], ()):
            if tuple(toks[i : i + len(words)]) == words:
                yield value, i + len(words)


def parse_op(toks: list[str], i: int, lenient: bool = True) -> Iterator[tuple[str, int, int]]:
    """A count operator before a number: (op, shift, end); `shift` turns "more than 2" into at least 3."""
    two = tuple(toks[i : i + 2])
    if toks[i : i + 1] == ["exactly"] or (lenient and toks[i : i + 1] == ["only"]):
        yield "exactly", 0, i + 1
    elif two == ("at", "least") or (
        lenient and tuple(toks[i : i + 3]) in (("no", "fewer", "than"), ("no", "less", "than"))
    ):
        yield "at_least", 0, i + (2 if two == ("at", "least") else 3)
    elif two == ("at", "most") or (lenient and tuple(toks[i : i + 3]) == ("no", "more", "than")):
        yield "at_most", 0, i + (2 if two == ("at", "most") else 3)
    elif lenient and two == ("more", "than"):
        yield "at_least", 1, i + 2
    elif lenient and two in (("fewer", "than"), ("less", "than")):
        yield "at_most", -1, i + 2
    elif lenient:
        yield "exactly", 0, i  # a bare number: "there are 2 black circles"
