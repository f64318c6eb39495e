"""Templates of NLVR-style statements ("There is a box with exactly two black triangles."), answered
true/false, plus parse-only forms that read common NLVR1 phrasings. Format as in `templates`."""

from __future__ import annotations

from scotoma.world.programs.forms import Form, build_qty, parse_only
from scotoma.world.programs.nodes import CountCompare, Exists, Quantified, Statement
from scotoma.world.programs.templates import QUESTIONS

_BY_NAME = {f.name: f for f in QUESTIONS}


def _twin(
    name: str, templates: tuple[str, ...], singular: tuple[str, ...] = (), parse_only: tuple[str, ...] = ()
) -> Form:
    """The statement twin of question form `name`: same slots, the claim wrapped in a Statement."""
    form = _BY_NAME[name]
    return Form(
        "s_" + name,
        "statement",
        lambda p: isinstance(p, Statement) and form.applies(p.claim),
        lambda p: form.slots(p.claim),
        lambda s: Statement(form.build(s)),
        templates,
        singular,
        parse_only,
    )


_COMPARE = {
    "cmp_all": (
        "there are {op:moreless} {l:objs} than {r:objs} .",
        "the images contain {op:moreless} {l:objs} than {r:objs} .",
    ),
    "cmp_all_same": (
        "there are as many {l:objs} as {r:objs} .",
        "the images contain as many {l:objs} as {r:objs} .",
    ),
    "cmp_image": (
        "there are {op:moreless} {l:objs} than {r:objs} in {image:img} .",
        "{image:img} contains {op:moreless} {l:objs} than {r:objs} .",
    ),
    "cmp_image_same": (
        "there are as many {l:objs} as {r:objs} in {image:img} .",
        "{image:img} contains as many {l:objs} as {r:objs} .",
    ),
    "cmp_cross": (
        "{a:img} has {op:moreless} {l:objs} than {b:img} .",
        "there are {op:moreless} {l:objs} in {a:img} than in {b:img} .",
    ),
    "cmp_cross_same": (
        "{a:img} and {b:img} have the same number of {l:objs} .",
        "there are as many {l:objs} in {a:img} as in {b:img} .",
    ),
    "cmp_general": (
        "there are {op:moreless} {l:objs} in {a:img} than {r:objs} in {b:img} .",
        "{a:img} has {op:moreless} {l:objs} than {b:img} has {r:objs} .",
    ),
    "cmp_general_same": (
        "there are as many {l:objs} in {a:img} as {r:objs} in {b:img} .",
        "{a:img} has as many {l:objs} as {b:img} has {r:objs} .",
    ),
}
_COUNTED = (
    ("there are {q:qboxes} {c:cond_with} .", "{q:qboxes} {c:cond_base} ."),
    ("there is {q:qboxes} {c:cond_with} .", "{q:qboxes} {c:cond} ."),
    (),
)
_QUANTIFIED = {  # form: (templates, singular templates, parse-only templates)
    "quant_each": (
        ("each box {c:cond} .", "every box {c:cond} ."),
        (),
        ("each of the boxes {c:cond} .", "all boxes {c:cond_base} .", "all the boxes {c:cond_base} ."),
    ),
    "quant_some": (
        ("there is a box {c:cond_with} .", "one of the boxes {c:cond} ."),
        (),
        (
            "there is one box {c:cond_with} .",
            "there is 1 box {c:cond_with} .",
            "there is a box that {c:cond} .",
            "one box {c:cond} .",
            "one of the box {c:cond} .",  # NLVR1's "one of the grey square contains ..."
            "some box {c:cond} .",
        ),
    ),
    "quant_none": (
        ("no box {c:cond} .", "there is no box {c:cond_with} ."),
        (),
        ("none of the boxes {c:cond_base} .",),
    ),
    "quant_exactly": _COUNTED,
    "quant_at_least": _COUNTED,
    "quant_at_most": _COUNTED,
}
_SOME_TOWER = [
    f"{start} {has} {{of:obj}} ."
    for start in ("there is a tower", "there is at least one tower", "there is one tower", "there is 1 tower")
    for has in ("with", "having", "which has", "that has")
]

STATEMENTS = [
    _twin(
        "exists_all",
        (
            "there is {of:obj} .",
            "one of the images contains {of:obj} .",
            "you can see {of:obj} in one of the images .",
        ),
        parse_only=("there is {of:obj} in one of the images .", "there is {of:obj} in one of the boxes ."),
    ),
    _twin("exists_image", ("there is {of:obj} in {image:img} .", "{image:img} contains {of:obj} .")),
    _twin(
        "qty_all",
        ("there are {q:qty} .", "the images contain {q:qty} in total ."),
        ("there is {q:qty} .", "the images contain {q:qty} in total ."),
        parse_only=("there are {q:qty} in total .",),
    ),
    _twin(
        "qty_image",
        ("there are {q:qty} in {image:img} .", "{image:img} contains {q:qty} ."),
        ("there is {q:qty} in {image:img} .", "{image:img} contains {q:qty} ."),
    ),
    *(_twin(name, templates) for name, templates in _COMPARE.items()),
    *(_twin(name, *texts) for name, texts in _QUANTIFIED.items()),
    # NLVR1 wordings: "there is no X" is a count of zero; in tower images every block is in a tower.
    parse_only(
        "s_none_of",
        "statement",
        lambda s: Statement(CountCompare(s["of"], "exactly", 0)),
        ("there is no {of:obj} .", "there are no {of:objs} ."),
    ),
    parse_only(
        "s_tower_with",
        "statement",
        lambda s: Statement(Exists(s["of"])),
        (*_SOME_TOWER, "one tower has {of:obj} ."),
    ),
    parse_only(
        "s_qty_each",
        "statement",
        lambda s: Statement(Quantified("each", build_qty(s))),
        ("there is {q:qty} in each box .", "there are {q:qty} in each box ."),
    ),
]
