"""Parse English back into question programs, so free text from a questioner model can be checked.

`parse(text)` matches the tokens against the templates of `templates` and `statements` (the ones
`render` uses, plus parse-only variants) with a small backtracking matcher: a slot may read several
prefixes (a noun phrase may stop before or after "above a black circle"), and the first reading that
consumes the whole text wins. Leniency: case, spacing, commas, a final "?" or ".", "Image2",
"the second image", numbers as digits or words, and a few NLVR1 spellings ("atleast", "grey box").

`split_questions(text)` finds two questions joined into one ("Is there a blue circle and what color is
the square?"), which the oracle reports as not atomic.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from scotoma.world.programs.forms import Form
from scotoma.world.programs.lexicon import parse_image, parse_images, parse_number, parse_op, tokenize
from scotoma.world.programs.nodes import Filter, ProgramError
from scotoma.world.programs.phrases import RELATION_LEX, parse_noun_phrase, parse_quantity
from scotoma.world.programs.statements import STATEMENTS
from scotoma.world.programs.templates import COND, QUESTIONS

_VERBS = {"cond": ("contains", "has"), "cond_base": ("contain", "have"), "cond_with": ("with", "containing")}
_WORDS = {
    "attr": {"color": "color", "shape": "shape", "size": "size"},
    "moreless": {"more": "more", "fewer": "fewer", "less": "fewer"},
    "sizeop": {"larger": "larger", "bigger": "larger", "smaller": "smaller"},
}
_RELATIONS = {words: kind for words, kind in RELATION_LEX.items() if kind != "closest_to"}  # Relate
_CLOSERS = ("?", ".", "!", ";", ":")
_SPLITTERS = ("and", "?", ".", ";", "but", "also", "then", ",")


class ParseError(ValueError):
    """Text that no template of the world language reads."""


Compiled = tuple[tuple[str, ...], ...]


def _compile(template: str) -> Compiled:
    items = []
    for word in template.split():
        if word in (",", *_CLOSERS):
            continue
        if word == "@v":
            items.append(("verb",))
        elif word.startswith("{"):
            name, kind = word[1:-1].split(":")
            items.append(("slot", name, kind))
        else:
            items.append(("lit", word))
    return tuple(items)


def _compiled(forms: list[Form]) -> list[tuple[Form, Compiled, frozenset[str]]]:
    out = []
    for form in forms:
        for template in dict.fromkeys(form.templates + form.singular + form.parse_only):
            items = _compile(template)
            out.append((form, items, frozenset(i[1] for i in items if i[0] == "lit")))
    return out


_TOP = _compiled(QUESTIONS + STATEMENTS)
_COND = _compiled(COND)


class _Matcher:
    """One parse: the tokens and a memo of every slot reading at every position."""

    def __init__(self, toks: tuple[str, ...]) -> None:
        self.toks = list(toks)
        self.memo: dict[tuple[str, int], list[tuple[Any, int]]] = {}

    def slot(self, kind: str, i: int) -> list[tuple[Any, int]]:
        key = (kind, i)
        if key not in self.memo:
            self.memo[key] = list(self._slot(kind, i))
        return self.memo[key]

    def _slot(self, kind: str, i: int) -> Iterator[tuple[Any, int]]:
        toks = self.toks
        if kind in ("obj", "objs"):
            yield from parse_noun_phrase(toks, i)
        elif kind in ("the", "the_m"):
            yield from ((v, j) for v, j in parse_noun_phrase(toks, i) if isinstance(v, Filter))
        elif kind == "qty":
            yield from parse_quantity(toks, i)
        elif kind == "img":
            yield from parse_image(toks, i)
        elif kind == "imgs":
            yield from parse_images(toks, i)
        elif kind in _WORDS:
            if i < len(toks) and toks[i] in _WORDS[kind]:
                yield _WORDS[kind][toks[i]], i + 1
        elif kind == "rel":
            for words, value in _RELATIONS.items():
                if tuple(toks[i : i + len(words)]) == words:
                    yield value, i + len(words)
        elif kind in ("qimgs", "qboxes"):
            yield from self._counted(i)
        elif kind in _VERBS:
            for form, items, _ in _COND:
                for slots, end in self.match(items, 0, i, {}, kind):
                    try:
                        yield form.build(slots), end
                    except ProgramError:
                        continue
        else:
            raise KeyError(f"unknown slot type {kind!r}")

    def _counted(self, i: int) -> Iterator[tuple[Any, int]]:
        for op, shift, j in parse_op(self.toks, i):
            for n, k in parse_number(self.toks, j):
                if (
                    k < len(self.toks)
                    and self.toks[k] in ("image", "images", "box", "boxes")
                    and n + shift >= 0
                ):
                    yield (op, n + shift), k + 1

    def match(self, items: Compiled, k: int, i: int, slots: dict[str, Any], verb: str | None) -> Iterator:
        """Every (slots, end) that reads items[k:] from token i on."""
        if k == len(items):
            yield slots, i
            return
        item = items[k]
        if item[0] == "lit":
            if i < len(self.toks) and self.toks[i] == item[1]:
                yield from self.match(items, k + 1, i + 1, slots, verb)
        elif item[0] == "verb":
            if i < len(self.toks) and self.toks[i] in _VERBS[verb]:  # type: ignore[index]
                yield from self.match(items, k + 1, i + 1, slots, verb)
        else:
            for value, j in self.slot(item[2], i):
                yield from self.match(items, k + 1, j, {**slots, item[1]: value}, verb)


def _clean(text: str) -> tuple[str, ...]:
    toks = [t for t in tokenize(text) if t != ","]
    while toks and toks[-1] in _CLOSERS:
        toks.pop()
    return tuple(toks)


@lru_cache(maxsize=16384)
def _parse_tokens(toks: tuple[str, ...]) -> Any | None:
    present = set(toks)
    matcher = _Matcher(toks)
    for form, items, literals in _TOP:
        if not literals <= present:
            continue
        for slots, end in matcher.match(items, 0, 0, {}, None):
            if end == len(toks):
                try:
                    return form.build(slots)
                except ProgramError:
                    continue
    return None


@lru_cache(maxsize=65536)
def _parse_text(text: str) -> tuple[tuple[str, ...], Any | None]:
    toks = _clean(text)
    return toks, _parse_tokens(toks) if toks else None


def parse(text: str) -> Any:
    """The program a question or statement says.

    Raises:
        ParseError: the text is not a sentence of the world language; the message says what it read.
    """
    toks, program = _parse_text(text)
    if not toks:
        raise ParseError("empty question")
    if program is None:
        raise ParseError(
            f"cannot read {' '.join(toks)!r} as a shapes-world question or statement; "
            "see scotoma.world.programs.templates for the sentence forms"
        )
    return program


def split_questions(text: str) -> tuple[str, str] | None:
    """Two questions joined into one text, as (first, second); None when there is no such split.

    Only texts that do not parse as one question are split, at "and", "?", ".", ";", ",", "but",
    "also" or "then", when both sides parse on their own.
    """
    toks = tokenize(text)
    for cut, word in enumerate(toks):
        if word not in _SPLITTERS or cut == 0:
            continue
        left = _clean(" ".join(toks[:cut]))
        rest = toks[cut + 1 :]
        while rest and rest[0] in _SPLITTERS:
            rest = rest[1:]
        right = _clean(" ".join(rest))
        if not (left and right) or _parse_tokens(left) is None:
            continue
        if _parse_tokens(right) is not None or split_questions(" ".join(right)) is not None:
            return " ".join(left), " ".join(right)
    return None
