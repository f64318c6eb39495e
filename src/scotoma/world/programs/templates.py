"""The question templates of every family, shared by `language.render` and `parse.parse`.

Templates are lowercase tokens with `{field:type}` slots: obj "a blue circle", objs "blue circles",
the "the blue circle", the_m "the circle that is above a square" (relations marked, for a subject
followed by a relation), qty "exactly two blue circles", img "image 2", imgs "image 1 and image 3",
qimgs "at least two images", attr / moreless / sizeop / rel (a word), and cond, cond_base, cond_with:
a box condition whose `@v` verb is "contains", "contain" or "with". Commas and final marks are
cosmetic. Forms are tried in order; parse-only wordings widen what the parser reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scotoma.world.programs.forms import (
    Form,
    build_compare,
    build_qty,
    build_size,
    compare_scope,
    compare_slots,
    named,
    node_is,
    not_same,
    of_slots,
    parse_only,
    qty_slots,
    same,
    size_scope,
    size_slots,
    unscoped,
)
from scotoma.world.programs.nodes import (
    Compare,
    Count,
    CountCompare,
    Difference,
    Exists,
    FirstAppearance,
    ImagesContaining,
    Quantified,
    QueryAttribute,
    Relate,
    SizeCompare,
    Sum,
    WhatChanged,
    WhichImage,
)


def _question(
    name: str,
    applies: Callable[[Any], bool],
    slots: Callable[[Any], dict[str, Any]],
    build: Callable[[dict[str, Any]], Any],
    templates: tuple[str, ...],
    singular: tuple[str, ...] = (),
    parse_only: tuple[str, ...] = (),
) -> Form:
    return Form(name, "question", applies, slots, build, templates, singular, parse_only)


COND = [
    Form("c_exists", "cond", node_is(Exists), of_slots, lambda s: Exists(s["of"]), ("@v {of:obj}",)),
    Form("c_qty", "cond", node_is(CountCompare), qty_slots, build_qty, ("@v {q:qty}",)),
    Form("c_more", "cond", node_is(Compare, op=not_same), compare_slots, build_compare(),
         ("@v {op:moreless} {l:objs} than {r:objs}",)),
    Form("c_same", "cond", node_is(Compare, op=same), compare_slots, build_compare("same"),
         ("@v as many {l:objs} as {r:objs}",)),
]  # fmt: skip

_BASIC = [
    _question("exists_image", node_is(Exists, image=named), of_slots, lambda s: Exists(s["of"], s["image"]), (
        "is there {of:obj} in {image:img} ?",
        "does {image:img} contain {of:obj} ?",
        "in {image:img} , is there {of:obj} ?",
        "are there any {of:objs} in {image:img} ?",
    )),
    _question("exists_all", node_is(Exists, image=unscoped), of_slots, lambda s: Exists(s["of"]), (
        "is there {of:obj} in any of the images ?",
        "does any image contain {of:obj} ?",
        "can you see {of:obj} in any of the images ?",
    ), parse_only=("is there {of:obj} ?", "are there any {of:objs} ?", "is there {of:obj} in any image ?")),
    _question("count_image", node_is(Count, image=named), of_slots, lambda s: Count(s["of"], s["image"]), (
        "how many {of:objs} are there in {image:img} ?",
        "in {image:img} , how many {of:objs} are there ?",
        "how many {of:objs} does {image:img} contain ?",
        "what is the number of {of:objs} in {image:img} ?",
    ), parse_only=(
        "how many {of:objs} are in {image:img} ?",
        "how many {of:objs} in {image:img} ?",
        "how many {of:objs} can you see in {image:img} ?",
    )),
    _question("count_all", node_is(Count, image=unscoped), of_slots, lambda s: Count(s["of"]), (
        "how many {of:objs} are there in all the images ?",
        "in all the images , how many {of:objs} are there ?",
        "what is the total number of {of:objs} in all the images ?",
    ), parse_only=("how many {of:objs} are there ?", "how many {of:objs} are there in total ?")),
    _question("qty_image", node_is(CountCompare, image=named), qty_slots, build_qty, (
        "are there {q:qty} in {image:img} ?",
        "does {image:img} contain {q:qty} ?",
        "in {image:img} , are there {q:qty} ?",
    ), singular=(
        "is there {q:qty} in {image:img} ?",
        "does {image:img} contain {q:qty} ?",
        "in {image:img} , is there {q:qty} ?",
    )),
    _question("qty_all", node_is(CountCompare, image=unscoped), qty_slots, build_qty, (
        "are there {q:qty} in all the images ?",
        "do the images contain {q:qty} in total ?",
        "in all the images together , are there {q:qty} ?",
    ), singular=(
        "is there {q:qty} in all the images ?",
        "do the images contain {q:qty} in total ?",
        "in all the images together , is there {q:qty} ?",
    )),
]  # fmt: skip


def _query_slots(p: QueryAttribute) -> dict[str, Any]:
    return {"attr": p.attribute, "of": p.of, "image": p.image}


def _relate_slots(p: Relate) -> dict[str, Any]:
    return {"s": p.subject, "rel": p.relation, "t": p.target, "image": p.image}


_REFERRING = [
    _question("query_image", node_is(QueryAttribute, image=named), _query_slots,
              lambda s: QueryAttribute(s["attr"], s["of"], s["image"]), (
        "what {attr:attr} is {of:the} in {image:img} ?",
        "in {image:img} , what {attr:attr} is {of:the} ?",
        "what is the {attr:attr} of {of:the} in {image:img} ?",
    ), parse_only=(
        "which {attr:attr} is {of:the} in {image:img} ?",
        "in {image:img} , what is the {attr:attr} of {of:the} ?",
    )),
    _question("query_all", node_is(QueryAttribute, image=unscoped), _query_slots,
              lambda s: QueryAttribute(s["attr"], s["of"]), (
        "what {attr:attr} is {of:the} ?",
        "what is the {attr:attr} of {of:the} ?",
        "which {attr:attr} does {of:the} have ?",
    ), parse_only=("which {attr:attr} is {of:the} ?",)),
    _question("relate_image", node_is(Relate, image=named), _relate_slots,
              lambda s: Relate(s["s"], s["rel"], s["t"], s["image"]), (
        "is {s:the_m} {rel:rel} {t:the} in {image:img} ?",
        "in {image:img} , is {s:the_m} {rel:rel} {t:the} ?",
        "is it true that {s:the_m} is {rel:rel} {t:the} in {image:img} ?",
    )),
    _question("relate_all", node_is(Relate, image=unscoped), _relate_slots,
              lambda s: Relate(s["s"], s["rel"], s["t"]), (
        "is {s:the_m} {rel:rel} {t:the} ?",
        "is it true that {s:the_m} is {rel:rel} {t:the} ?",
        "looking at the images , is {s:the_m} {rel:rel} {t:the} ?",
    )),
]  # fmt: skip

_COMPARE = {  # scope: (more / fewer templates, same-number templates)
    "image": ((
        "are there {op:moreless} {l:objs} than {r:objs} in {image:img} ?",
        "in {image:img} , are there {op:moreless} {l:objs} than {r:objs} ?",
        "does {image:img} contain {op:moreless} {l:objs} than {r:objs} ?",
    ), (
        "are there as many {l:objs} as {r:objs} in {image:img} ?",
        "in {image:img} , are there as many {l:objs} as {r:objs} ?",
        "does {image:img} contain as many {l:objs} as {r:objs} ?",
    )),
    "all": ((
        "are there {op:moreless} {l:objs} than {r:objs} in all the images ?",
        "in all the images , are there {op:moreless} {l:objs} than {r:objs} ?",
        "do the images contain {op:moreless} {l:objs} than {r:objs} ?",
    ), (
        "are there as many {l:objs} as {r:objs} in all the images ?",
        "in all the images , are there as many {l:objs} as {r:objs} ?",
        "do the images contain as many {l:objs} as {r:objs} ?",
    )),
    "cross": ((
        "does {a:img} have {op:moreless} {l:objs} than {b:img} ?",
        "are there {op:moreless} {l:objs} in {a:img} than in {b:img} ?",
        "compared to {b:img} , does {a:img} contain {op:moreless} {l:objs} ?",
    ), (
        "do {a:img} and {b:img} have the same number of {l:objs} ?",
        "are there as many {l:objs} in {a:img} as in {b:img} ?",
        "does {a:img} contain as many {l:objs} as {b:img} ?",
    )),
    "general": ((
        "are there {op:moreless} {l:objs} in {a:img} than {r:objs} in {b:img} ?",
        "does {a:img} have {op:moreless} {l:objs} than {b:img} has {r:objs} ?",
    ), (
        "are there as many {l:objs} in {a:img} as {r:objs} in {b:img} ?",
        "does {a:img} have as many {l:objs} as {b:img} has {r:objs} ?",
    )),
}  # fmt: skip
_SIZE = {  # scope: (larger / smaller templates, same-size templates)
    "image": ((
        "is {l:the} {op:sizeop} than {r:the} in {image:img} ?",
        "in {image:img} , is {l:the} {op:sizeop} than {r:the} ?",
    ), (
        "is {l:the} the same size as {r:the} in {image:img} ?",
        "in {image:img} , do {l:the} and {r:the} have the same size ?",
    )),
    "all": ((
        "is {l:the} {op:sizeop} than {r:the} ?",
        "is {l:the} {op:sizeop} in size than {r:the} ?",
    ), (
        "is {l:the} the same size as {r:the} ?",
        "do {l:the} and {r:the} have the same size ?",
    )),
    "cross": ((
        "is {l:the} in {a:img} {op:sizeop} than {r:the} in {b:img} ?",
        "compared to {r:the} in {b:img} , is {l:the} in {a:img} {op:sizeop} ?",
    ), (
        "is {l:the} in {a:img} the same size as {r:the} in {b:img} ?",
        "do {l:the} in {a:img} and {r:the} in {b:img} have the same size ?",
    )),
}  # fmt: skip

COMPARE_FORMS = [
    _question(f"cmp_{scope}{'_same' if is_same else ''}",
              node_is(Compare, op=same if is_same else not_same, scope=compare_scope(scope)), compare_slots,
              build_compare("same" if is_same else None, cross=scope == "cross"), texts[is_same])
    for scope, texts in _COMPARE.items() for is_same in (False, True)
] + [
    _question(f"size_{scope}{'_same' if is_same else ''}",
              node_is(SizeCompare, op=same if is_same else not_same, scope=size_scope(scope)), size_slots,
              build_size("same" if is_same else None), texts[is_same])
    for scope, texts in _SIZE.items() for is_same in (False, True)
]  # fmt: skip

_ARITHMETIC = [
    _question("sum", node_is(Sum), lambda p: {"of": p.of, "ims": p.images},
              lambda s: Sum(s["of"], s["ims"]), (
        "how many {of:objs} are there in {ims:imgs} together ?",
        "what is the total number of {of:objs} in {ims:imgs} ?",
        "how many {of:objs} do {ims:imgs} have in total ?",
    )),
    _question("difference", node_is(Difference), lambda p: {"of": p.of, "a": p.first, "b": p.second},
              lambda s: Difference(s["of"], s["a"], s["b"]), (
        "how many more {of:objs} does {a:img} have than {b:img} ?",
        "how many more {of:objs} are there in {a:img} than in {b:img} ?",
        "how many fewer {of:objs} does {b:img} have than {a:img} ?",
    )),
]  # fmt: skip


def _quantified(q: str, templates: tuple[str, ...], singular: tuple[str, ...] = ()) -> Form:
    counted = q not in ("each", "some", "none")

    def build(s: dict[str, Any]) -> Quantified:
        return Quantified(s["q"][0], s["c"], s["q"][1]) if counted else Quantified(q, s["c"])

    def slots(p: Quantified) -> dict[str, Any]:
        return {"c": p.condition, "q": (p.quantifier, p.n)}

    applies = node_is(Quantified, q=lambda p: p.quantifier == q)
    return _question(f"quant_{q}", applies, slots, build, templates, singular)


QUANTIFIED = [
    _quantified("each", (
        "does every image {c:cond_base} ?",
        "does each image {c:cond_base} ?",
        "is it true that every image {c:cond} ?",
    )),
    _quantified("some", ("is there an image that {c:cond} ?", "is there an image {c:cond_with} ?")),
    _quantified("none", ("is there no image that {c:cond} ?", "does no image {c:cond_base} ?")),
    *(_quantified(q, ("do {q:qimgs} {c:cond_base} ?", "are there {q:qimgs} that {c:cond_base} ?"),
                  ("does {q:qimgs} {c:cond_base} ?", "is there {q:qimgs} that {c:cond} ?"))
      for q in ("exactly", "at_least", "at_most")),
]  # fmt: skip

_SEARCH = [
    _question("which_image", node_is(WhichImage), lambda p: {"c": p.condition},
              lambda s: WhichImage(s["c"]), (
        "which image {c:cond} ?", "which of the images {c:cond} ?", "which one of the images {c:cond} ?",
    )),
    parse_only("which_image_there", "question", lambda s: WhichImage(Exists(s["of"])), (
        "in which image is there {of:obj} ?", "which image has {of:obj} in it ?",
    )),
    _question("images_containing", node_is(ImagesContaining), lambda p: {"c": p.condition},
              lambda s: ImagesContaining(s["c"]), (
        "how many images {c:cond_base} ?",
        "how many of the images {c:cond_base} ?",
        "what is the number of images that {c:cond_base} ?",
    )),
]  # fmt: skip

_CHANGES = {
    "moved": (
        "what moved between {a:img} and {b:img} ?",
        "which object moved from {a:img} to {b:img} ?",
        "what changed position between {a:img} and {b:img} ?",
    ),
    "appeared": (
        "what appeared between {a:img} and {b:img} ?",
        "which object is new in {b:img} compared to {a:img} ?",
        "what was added from {a:img} to {b:img} ?",
    ),
    "disappeared": (
        "what disappeared between {a:img} and {b:img} ?",
        "which object is missing in {b:img} compared to {a:img} ?",
        "what was removed from {a:img} to {b:img} ?",
    ),
}
_SEQUENCE = [
    _question(f"changed_{c}", node_is(WhatChanged, c=lambda p, c=c: p.change == c),
              lambda p: {"a": p.before, "b": p.after}, lambda s, c=c: WhatChanged(c, s["a"], s["b"]), texts)
    for c, texts in _CHANGES.items()
] + [
    _question("first_appearance", node_is(FirstAppearance), lambda p: {"of": p.of},
              lambda s: FirstAppearance(s["of"]), (
        "in which image did {of:the} first appear ?",
        "in which image does {of:the} appear for the first time ?",
        "which is the first image that shows {of:the} ?",
    )),
]  # fmt: skip

QUESTIONS = [*_BASIC, *_REFERRING, *COMPARE_FORMS, *_ARITHMETIC, *QUANTIFIED, *_SEARCH, *_SEQUENCE]
