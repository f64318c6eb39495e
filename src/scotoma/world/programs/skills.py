"""Skills and question families of the shapes world: the canonical names and which node needs what.

A skill is one ability a question exercises (reading a color, counting, finding Image 2, matching
objects across a sequence). Every program node contributes its own skills; `programs.skills(program)`
unions them over the whole tree, so "Does Image 1 have more yellow squares above a black circle than
Image 2?" needs attribute:color, attribute:shape, comparison:count, counting, cross_image:comparison,
localization and spatial:above.

A family is the construct at the top of a program; `FAMILY_SKILLS` lists the skills that construct may
bring by itself (the nested object descriptions add attribute and spatial skills on top).

This module reads nodes by class name only, so it has no import of `programs` (which imports it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SKILLS: tuple[str, ...] = (
    "arithmetic",  # sums and differences of counts over named images
    "attribute:color",  # read or filter by color
    "attribute:shape",  # read or filter by shape
    "attribute:size",  # read or filter by size (small, medium, large)
    "comparison:count",  # more / fewer / as many
    "comparison:size",  # larger / smaller / same size
    "counting",  # count objects, towers, blocks or images
    "cross_image:comparison",  # compare two different named images
    "existence",  # is there ...
    "global_search",  # look through every image: which image, how many images, each / some box
    "localization",  # find a named image ("Image 2")
    "quantifier",  # each / some / no / n boxes
    "sequence:change",  # what moved, appeared or disappeared between two images
    "sequence:order",  # in which image something first appears
    "spatial:above",
    "spatial:below",
    "spatial:closest",
    "spatial:edge",  # touching an edge, a corner, or no edge
    "spatial:left",
    "spatial:on",  # resting directly on top of
    "spatial:right",
    "spatial:tower",  # towers, their height, top and base blocks
    "statement",  # an NLVR-style claim judged true or false
)

FAMILIES: dict[str, str] = {
    "existence": "Is there a ... (in any image)?",
    "counting": "How many ... / are there exactly, at least, at most n ... (in all images)?",
    "attribute": "What color / shape / size is the ...?",
    "comparison": "More, fewer, as many ... than ...; larger, smaller, same size, within one scope",
    "spatial": "Is the ... above / below / left of / right of / on top of the ...?",
    "localized": "existence, counting, attribute or spatial questions about one named image",
    "cross_image": "comparisons between two different named images",
    "global_search": "Which image ...? How many images ...? Does every image ...?",
    "arithmetic": "sums and differences of counts over named images",
    "sequence": "What moved / appeared / disappeared? In which image did ... first appear?",
    "statement": "NLVR-style true/false claims: There is ... Each box ... There is a box with ...",
}

FAMILY_SKILLS: dict[str, tuple[str, ...]] = {
    "existence": ("existence",),
    "counting": ("counting",),
    "attribute": ("attribute:color", "attribute:shape", "attribute:size"),
    "comparison": ("comparison:count", "comparison:size", "counting", "localization"),
    "spatial": ("spatial:above", "spatial:below", "spatial:left", "spatial:on", "spatial:right"),
    "localized": (
        "attribute:color",
        "attribute:shape",
        "attribute:size",
        "counting",
        "existence",
        "localization",
        "spatial:above",
        "spatial:below",
        "spatial:left",
        "spatial:on",
        "spatial:right",
    ),
    "cross_image": (
        "comparison:count",
        "comparison:size",
        "counting",
        "cross_image:comparison",
        "localization",
    ),
    "global_search": ("counting", "global_search", "quantifier"),
    "arithmetic": ("arithmetic", "counting", "localization"),
    "sequence": ("sequence:change", "sequence:order", "localization"),
    "statement": ("statement", "quantifier"),
}

# Families that ask about one thing in one scope (is there, how many, what colour, is it above); the
# other families compose these steps.
PRIMITIVE_FAMILIES: tuple[str, ...] = ("existence", "counting", "attribute", "spatial", "localized")

# The primitive skills a composite skill's questions are built from: of random programs needing the
# composite, all need one of these, except comparisons of size (74-81%: their filters may leave size out)
# and across images (95%, the size comparisons among them). A skill not listed (sequence matching too: it
# names objects, it does not count them) stands for itself.
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "arithmetic": ("counting",),
    "comparison:count": ("counting",),
    "comparison:size": ("attribute:size",),
    "cross_image:comparison": ("attribute:size", "counting"),
    "global_search": ("counting", "existence"),
    "quantifier": ("counting", "existence"),
    "statement": ("counting", "existence"),
}


def prerequisites(skills: Iterable[str]) -> tuple[str, ...]:
    """The primitive skills the given skills are built from (a primitive skill stands for itself),
    sorted: what the simple questions of a simple-to-hard curriculum should exercise."""
    return tuple(sorted({p for skill in skills for p in PREREQUISITES.get(skill, (skill,))}))


_RELATION_SKILL = {
    "above": "spatial:above",
    "below": "spatial:below",
    "left_of": "spatial:left",
    "right_of": "spatial:right",
    "on": "spatial:on",
    "closest_to": "spatial:closest",
}


def _named(*images: Any) -> tuple[str, ...]:
    return ("localization",) if any(k is not None for k in images) else ()


def node_skills(node: Any) -> tuple[str, ...]:
    """The skills one node brings by itself (not those of the nodes inside it)."""
    name = type(node).__name__
    if name == "Filter":
        found = [f"attribute:{a}" for a in ("shape", "color", "size") if getattr(node, a) is not None]
        found += ["spatial:edge"] * (node.edge is not None) + ["spatial:tower"] * (node.tower is not None)
        return tuple(found)
    if name == "Relation":
        return (_RELATION_SKILL[node.kind],)
    if name == "Towers":
        colored = node.top or node.base or node.color
        return (
            "spatial:tower",
            *(("counting",) if node.height is not None else ()),
            *(("attribute:color",) if colored else ()),
        )
    if name in ("Count", "CountCompare"):
        return ("counting", *_named(node.image))
    if name == "Exists":
        return ("existence", *_named(node.image))
    if name == "Compare":
        cross = node.left.image != node.right.image
        return ("comparison:count", *(("cross_image:comparison",) if cross else ()))
    if name == "SizeCompare":
        cross = node.left_image != node.right_image
        return ("comparison:size", *(("cross_image:comparison",) if cross else ()), *_named(node.left_image))
    if name == "Relate":
        return (_RELATION_SKILL[node.relation], *_named(node.image))
    if name == "QueryAttribute":
        return (f"attribute:{node.attribute}", *_named(node.image))
    if name in ("Sum", "Difference"):
        return ("arithmetic", "counting", "localization")
    if name == "Quantified":
        return ("quantifier", "global_search")
    if name == "WhichImage":
        return ("global_search",)
    if name == "ImagesContaining":
        return ("global_search", "counting")
    if name == "WhatChanged":
        return ("sequence:change", "localization")
    if name == "FirstAppearance":
        return ("sequence:order",)
    if name == "Statement":
        return ("statement",)
    raise TypeError(f"{name} is not a program node")


def node_family(program: Any) -> str:
    """The family of a top-level program; see FAMILIES."""
    name = type(program).__name__
    if name == "Statement":
        return "statement"
    if name in ("WhatChanged", "FirstAppearance"):
        return "sequence"
    if name in ("Sum", "Difference"):
        return "arithmetic"
    if name in ("WhichImage", "ImagesContaining", "Quantified"):
        return "global_search"
    if name == "Compare":
        cross = program.left.image != program.right.image
        return "cross_image" if cross else "comparison"
    if name == "SizeCompare":
        return "cross_image" if program.left_image != program.right_image else "comparison"
    base = {"Exists": "existence", "Count": "counting", "CountCompare": "counting"}
    base |= {"QueryAttribute": "attribute", "Relate": "spatial"}
    if name in base:
        return "localized" if program.image is not None else base[name]
    raise TypeError(f"{name} is not a top-level program")
