"""English for question programs: `render` (several paraphrases per family) and the closed vocabulary.

    >>> render(Count(Filter("circle", "blue"), image=2), variant=1)
    'In Image 2, how many blue circles are there?'

The parser (`scotoma.world.programs.parse.parse`) reads every rendered sentence back as the same program.
`world_vocabulary()` lists every token (lowercase, as `tokenize` splits text) that a template or an
answer can produce, for a word-level tokenizer.
"""

from __future__ import annotations

import random
import re
from typing import Any

from scotoma.world.programs.forms import Form
from scotoma.world.programs.lexicon import (
    NUMBER_WORDS,
    OP_WORDS,
    image_name,
    images_name,
    number_word,
    tokenize,
)
from scotoma.world.programs.nodes import ATTRIBUTES, Statement
from scotoma.world.programs.phrases import EDGE_WORDS, RELATION_WORDS, TOWER_WORDS, noun_phrase, quantity
from scotoma.world.programs.statements import STATEMENTS
from scotoma.world.programs.templates import COND, QUESTIONS
from scotoma.world.scenes.scene import COLORS, MAX_OBJECTS, SHAPES

MAX_IMAGES = 8  # image numbers and counts the vocabulary covers: Image 1..8, answers 0..8 * MAX_OBJECTS
VERBS = {"cond": "contains", "cond_base": "contain", "cond_with": "with"}


def _counted(op_n: tuple[str, int], one: str, many: str) -> str:
    op, n = op_n
    return f"{OP_WORDS[op]} {number_word(n)} {one if n == 1 else many}"


RENDER_SLOT = {
    "obj": lambda v: noun_phrase(v, "a"),
    "objs": lambda v: noun_phrase(v, "pl"),
    "the": lambda v: noun_phrase(v, "the"),
    "the_m": lambda v: noun_phrase(v, "the_m"),
    "qty": lambda v: quantity(*v),
    "img": image_name,
    "imgs": images_name,
    "attr": str,
    "moreless": str,
    "sizeop": str,
    "rel": RELATION_WORDS.__getitem__,
    "qimgs": lambda v: _counted(v, "image", "images"),
    "qboxes": lambda v: _counted(v, "box", "boxes"),
}


class RenderError(ValueError):
    """A program that no template covers (it cannot be built through the public constructors)."""


def form_of(program: Any) -> Form:
    """The form (construct and templates) that renders this top-level program."""
    for form in STATEMENTS if isinstance(program, Statement) else QUESTIONS:
        if form.templates and form.applies(program):
            return form
    raise RenderError(f"no template renders {program!r}")


def variants(program: Any) -> int:
    """How many paraphrases `render` has for this program (valid `variant` values are 0..n-1)."""
    return len(form_of(program).choose(program))


def _fill(template: str, slots: dict[str, Any], verb: str | None) -> str:
    out = []
    for word in template.split():
        if word == "@v":
            out.append(VERBS[verb])  # type: ignore[index]
        elif word.startswith("{"):
            name, kind = word[1:-1].split(":")
            value = slots[name]
            if kind.startswith("cond"):
                form = next((f for f in COND if f.applies(value)), None)
                if form is None:
                    raise RenderError(f"no template renders the box condition {value!r}")
                out.append(_fill(form.templates[0], form.slots(value), kind))
            else:
                out.append(RENDER_SLOT[kind](value))
        else:
            out.append(word)
    return " ".join(out)


def surface(text: str) -> str:
    """Tokens joined by spaces -> an English sentence: capital first letter, "Image 2", tight marks."""
    text = re.sub(r" ([,?.])", r"\1", text)
    text = re.sub(r"\bimage (\d)", r"Image \1", text)
    return text[:1].upper() + text[1:]


def render(program: Any, variant: int | None = None, rng: random.Random | None = None) -> str:
    """English for a program. `variant` picks the paraphrase (taken modulo their number, so any int
    works and the same int always gives the same text); with variant=None, `rng` picks one."""
    form = form_of(program)
    templates = form.choose(program)
    if variant is None:
        if rng is None:
            raise ValueError("render needs a variant or an rng to choose one")
        variant = rng.randrange(len(templates))
    return surface(_fill(templates[variant % len(templates)], form.slots(program), None))


def answer_vocabulary() -> list[str]:
    """Every token an answer can hold: yes/no, true/false, numbers, attribute words, image names,
    change phrases ("the large black square", "nothing")."""
    words = {
        "yes",
        "no",
        "true",
        "false",
        "nothing",
        "the",
        "image",
        *COLORS,
        *SHAPES,
        "small",
        "medium",
        "large",
    }
    words |= {str(i) for i in range(MAX_IMAGES * MAX_OBJECTS + 1)}
    return sorted(words)


def world_vocabulary() -> list[str]:
    """Every token (lowercase, as `tokenize` splits) that rendering or an answer can produce, sorted."""
    words: set[str] = set(answer_vocabulary())
    for form in [*QUESTIONS, *STATEMENTS, *COND]:
        for template in form.templates + form.singular:
            words.update(w for w in template.split() if not w.startswith(("{", "@")))
    phrases = [*EDGE_WORDS.values(), *RELATION_WORDS.values(), *TOWER_WORDS.values(), *OP_WORDS.values()]
    phrases += [*VERBS.values(), "a an the that is with and at the top base", *ATTRIBUTES]
    phrases += ["object objects block blocks tower towers image images box boxes more fewer larger smaller"]
    phrases += [": ."]  # captions (world.captions) separate images with them
    phrases += [f"{s} {s}s" for s in SHAPES] + list(NUMBER_WORDS[: MAX_IMAGES * MAX_OBJECTS + 1])
    for phrase in phrases:
        words.update(tokenize(phrase))
    return sorted(words)
