"""Noun phrases of the world language: "a large blue circle touching an edge above a black square",
"towers with exactly three blocks", "exactly two blue circles".

`noun_phrase` renders one canonical form; `parse_noun_phrase` is lenient (any article, singular or
plural, NLVR1 words such as "item", "block", "touching the wall") and yields every reading of a prefix
of the tokens as `(value, end)`, shortest first, so a template around it can decide.
"""

from __future__ import annotations

from collections.abc import Iterator

from scotoma.world.programs.lexicon import OP_WORDS, Parses, match_phrase, number_word, parse_number, parse_op
from scotoma.world.programs.nodes import Filter, Relation, Towers

SHAPE_NOUNS = {"circle": "circle", "square": "square", "triangle": "triangle", "block": "square"}
ANY_NOUNS = ("object", "item", "shape", "thing")
COLOR_WORDS = {"yellow": "yellow", "black": "black", "blue": "blue"}
SIZE_LEX = {"small": "small", "tiny": "small", "medium": "medium", "large": "large", "big": "large"}
DETERMINERS = ("a", "an", "the", "any", "some")
RELATION_WORDS = {
    "above": "above",
    "below": "below",
    "left_of": "to the left of",
    "right_of": "to the right of",
    "on": "on top of",
    "closest_to": "closest to",
}
EDGE_WORDS = {
    "any": "touching an edge",
    "top": "touching the top edge",
    "bottom": "touching the bottom edge",
    "left": "touching the left edge",
    "right": "touching the right edge",
    "corner": "touching a corner",
    "none": "not touching any edge",
}
TOWER_WORDS = {"top": "at the top of a tower", "base": "at the base of a tower"}


def _phrases(table: dict[str, str]) -> dict[tuple[str, ...], str]:
    return {tuple(words.split()): key for key, words in table.items()}


# Every wording of a relation the parser reads (NLVR1 says "over" for resting directly on top).
RELATION_LEX = _phrases(RELATION_WORDS) | {
    ("on",): "on",
    ("over",): "on",
    ("under",): "below",
    ("beneath",): "below",
    ("left", "of"): "left_of",
    ("right", "of"): "right_of",
    ("nearest", "to"): "closest_to",
}
_TOWER_LEX: dict[tuple[str, ...], str] = {}
for _pos, _aliases in (("top", ("top",)), ("base", ("base", "bottom"))):
    for _alias in _aliases:
        for _prep in ("at", "as"):
            for _det in ("a", "the"):
                _TOWER_LEX[(_prep, "the", _alias, "of", _det, "tower")] = _pos
_TOWER_LEX[("on", "top", "of", "a", "tower")] = "top"

_EDGE_LEX: dict[tuple[str, ...], str] = {}
_GENERIC = [
    ("an", "edge"),
    ("a", "edge"),
    ("the", "edge"),
    ("any", "edge"),
    ("the", "wall"),
    ("a", "wall"),
    ("any", "wall"),
]
_GENERIC += [("the", "side"), ("a", "side"), ("the", "edges"), ("the", "walls"), ("edge",)]
for _prefix in (("touching",), ("closely", "touching"), ("touches",)):
    for _obj in _GENERIC:
        _EDGE_LEX[_prefix + _obj] = "any"
    for _corner in (("a", "corner"), ("the", "corner"), ("a", "box", "corner"), ("any", "corner")):
        _EDGE_LEX[_prefix + _corner] = "corner"
    for _side, _edge in (
        ("top", "top"),
        ("bottom", "bottom"),
        ("base", "bottom"),
        ("left", "left"),
        ("right", "right"),
    ):
        for _obj in (
            ("the", _side, "edge"),
            ("the", _side),
            ("the", _side, "wall"),
            (_side, "wall"),
            (_side, "edge"),
        ):
            _EDGE_LEX[_prefix + _obj] = _edge
for _obj in _GENERIC:
    _EDGE_LEX[("not", "touching", *_obj)] = "none"
_EDGE_LEX[("in", "a", "corner")] = "corner"
_BOX_SUFFIXES = (("of", "a", "box"), ("of", "the", "box"), ("of", "its", "box"))


def _plural(word: str) -> str:
    return word + "s"


def noun_phrase(node: Filter | Towers, form: str, marked: bool = False) -> str:
    """Render an object set. form: "a" (a blue circle), "sg" (blue circle), "pl" (blue circles),
    "the" (the blue circle), "the_m" (the blue circle that is above a square: every relation marked
    with "that is", so a relation that follows the phrase cannot be read as part of it)."""
    if form == "the_m":
        form, marked = "the", True
    if isinstance(node, Towers):
        return _towers_phrase(node, form)
    noun = "block" if node.tower and node.shape == "square" else node.shape or "object"
    words = [w for w in (node.size, node.color) if w]
    words.append(_plural(noun) if form == "pl" else noun)
    if node.tower:
        words.append(TOWER_WORDS[node.tower])
    if node.edge:
        words.append(EDGE_WORDS[node.edge])
    if node.relation:
        if marked:
            words.append("that is")
        inner = "the" if node.relation.kind == "closest_to" else "a"
        words += [RELATION_WORDS[node.relation.kind], noun_phrase(node.relation.target, inner, marked)]
    return _with_determiner(" ".join(words), form)


def _with_determiner(phrase: str, form: str) -> str:
    if form == "a":
        return ("an " if phrase[0] in "aeiou" else "a ") + phrase
    if form == "the":
        return "the " + phrase
    return phrase


def _towers_phrase(node: Towers, form: str) -> str:
    head = " ".join(w for w in (node.color, "towers" if form == "pl" else "tower") if w)
    clauses = []
    if node.height is not None:
        blocks = "block" if node.height == 1 else "blocks"
        clauses.append(f"{OP_WORDS[node.height_op]} {number_word(node.height)} {blocks}")
    if node.top:
        clauses.append(f"a {node.top} block at the top")
    if node.base:
        clauses.append(f"a {node.base} block at the base")
    phrase = head + (" with " + " and ".join(clauses) if clauses else "")
    return _with_determiner(phrase, form)


def quantity(op: str, n: int, node: Filter | Towers) -> str:
    """exactly two blue circles, at least one tower with ..."""
    return f"{OP_WORDS[op]} {number_word(n)} {noun_phrase(node, 'sg' if n == 1 else 'pl')}"


def parse_quantity(toks: list[str], i: int) -> Parses:
    """(op, n, object set) from "exactly two blue circles" and its lenient variants."""
    for op, shift, j in parse_op(toks, i):
        for n, k in parse_number(toks, j):
            if n + shift >= 0:
                for node, end in parse_noun_phrase(toks, k):
                    yield (op, n + shift, node), end


def parse_noun_phrase(toks: list[str], i: int) -> Parses:
    """Every Filter or Towers that a prefix of toks[i:] reads as, shortest first; any number, any article."""
    n = len(toks)
    j = i + (i < n and toks[i] in DETERMINERS)
    size = color = None
    while j < n and ((toks[j] in SIZE_LEX and size is None) or (toks[j] in COLOR_WORDS and color is None)):
        if toks[j] in SIZE_LEX:
            size = SIZE_LEX[toks[j]]
        else:
            color = COLOR_WORDS[toks[j]]
        j += 1
    if j >= n:
        return
    word = toks[j][:-1] if toks[j].endswith("s") else toks[j]
    if word == "tower" and size is None:
        yield from _parse_towers_tail(toks, j + 1, color)
        return
    if word in SHAPE_NOUNS:
        shape = SHAPE_NOUNS[word]
    elif word in ANY_NOUNS:
        shape = None
    else:
        return
    yield from _parse_modifiers(toks, j + 1, shape, color, size)


def _skip_that(toks: list[str], j: int) -> int:
    return j + 2 if tuple(toks[j : j + 2]) in (("that", "is"), ("which", "is"), ("that", "are")) else j


def _parse_modifiers(
    toks: list[str], j: int, shape: str | None, color: str | None, size: str | None
) -> Parses:
    for tower, j1 in [(None, j), *match_phrase(toks, _skip_that(toks, j), _TOWER_LEX)]:
        for edge, j2 in [(None, j1), *match_phrase(toks, _skip_that(toks, j1), _EDGE_LEX)]:
            if edge is not None:
                j2 += next((len(s) for s in _BOX_SUFFIXES if tuple(toks[j2 : j2 + 3]) == s), 0)
            base = Filter(shape, color, size, edge, tower)
            yield base, j2
            for kind, j3 in match_phrase(toks, _skip_that(toks, j2), RELATION_LEX):
                for target, end in parse_noun_phrase(toks, j3):
                    if isinstance(target, Filter):
                        yield Filter(shape, color, size, edge, tower, Relation(kind, target)), end


def _parse_towers_tail(toks: list[str], j: int, color: str | None) -> Parses:
    yield Towers(color=color), j
    if j >= len(toks) or toks[j] not in ("with", "that", "which", "having"):
        return
    j += 1 + (tuple(toks[j : j + 2]) in (("that", "has"), ("which", "has"), ("that", "have")))
    fields: dict[str, object] = {"color": color}
    while True:
        clause = next(_tower_clause(toks, j), None)
        if clause is None or any(k in fields for k in clause[0]):
            return
        fields |= clause[0]
        j = clause[1]
        try:
            yield Towers(**fields), j  # type: ignore[arg-type]
        except ValueError:
            return
        if j < len(toks) and toks[j] in ("and", "with"):
            j += 1
        else:
            return


def _tower_clause(toks: list[str], j: int) -> Iterator[tuple[dict[str, object], int]]:
    for op, shift, k in parse_op(toks, j):
        for n, m in parse_number(toks, k):
            if m < len(toks) and toks[m] in ("block", "blocks") and 1 <= n + shift <= 8:
                yield {"height": n + shift, "height_op": op}, m + 1
    k = j + (j < len(toks) and toks[j] in ("a", "an", "one", "1"))
    if k < len(toks) and toks[k] in COLOR_WORDS:
        c, k = COLOR_WORDS[toks[k]], k + 1
        if k < len(toks) and toks[k] in ("top", "base", "bottom"):
            yield {("top" if toks[k] == "top" else "base"): c}, k + 1
        elif k < len(toks) and toks[k] == "block":
            for tail, pos in (
                (("at", "the", "top"), "top"),
                (("at", "the", "base"), "base"),
                (("at", "the", "bottom"), "base"),
                (("at", "base"), "base"),
            ):
                if tuple(toks[k + 1 : k + 1 + len(tail)]) == tail:
                    yield {pos: c}, k + 1 + len(tail)
