"""World suites generated on the fly by `scotoma.world` with a seed: the balanced all-family set and the
S2H levels (paper 003, Simple-to-Hard multi-image reasoning).

    world          every question family, 1-4 images, answers balanced per family (`QuestionSampler`)
    world-s2h-l1   single-image localized: "In Image 2, how many blue circles are there?" among
                   1 + distractors images (existence, counting, attribute, spatial)
    world-s2h-l2   multi-image localized, visual arithmetic: "How many more yellow squares does Image 1
                   have than Image 3?", "... in Image 1 and Image 4 together?"
    world-s2h-l3   global search over all images: "Which image contains exactly two black circles?",
                   "How many images contain a blue triangle?", "Does every image contain ...?"

Questions and answers are the world's own: English from `scotoma.world.programs.language`, canonical answers
from the oracle ("yes"/"no", "true"/"false" read as yes/no, digits, attribute words, "image 2", "the
black square"), asked in the "bare" prompt style the world models are trained on. Item k of a suite is
sample k of a `QuestionSampler` with that seed, so a suite is the same for the same seed and options.

Positions: a question that names images ("In Image 2") locks them, so image permutations only move
the other images; an answer that names an image ("image 3") or a sequence question locks every
position. The rest (unscoped, counting over all images, "how many images ...") are permuted freely,
and their answers do not change, which `tests/test_bench_world.py` checks with the oracle.

Options (loader keywords, or the spec after a colon: `world-s2h-l1:n=500,distractors=5`): `n` items
(default 300); `distractors` for the S2H suites (default 3; every item shows 1 + distractors images);
`images` for `world` ("1-4", or one count).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scotoma.bench.items import Item
from scotoma.world.programs.nodes import FirstAppearance, WhichImage, images_of
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler
from scotoma.world.sampling.records import WorldSample, program_text

WORLD_SUITES_VERSION = "1"
DEFAULT_N = 300
DEFAULT_DISTRACTORS = 3  # the paper's best L3 setting (3 distractors)
S2H_FAMILIES = {"L1": ("localized",), "L2": ("arithmetic",), "L3": ("global_search",)}
_SUBTASK = {  # program node -> subtask name inside an S2H level
    "Exists": "existence",
    "Count": "counting",
    "CountCompare": "counting",
    "QueryAttribute": "attribute",
    "Relate": "spatial",
    "Sum": "sum",
    "Difference": "difference",
    "WhichImage": "which_image",
    "ImagesContaining": "images_containing",
    "Quantified": "quantified",
}


def generator_options(data: str | Path | None, options: Mapping[str, Any], allowed: tuple[str, ...]) -> dict:
    """The options of a generated suite: "n=100,distractors=5" given as `data` (the part of the spec
    after a colon), overridden by keyword options; every value an int or a range "A-B" kept as text.

    Raises:
        ValueError: an unknown option name, or data that is not NAME=VALUE pairs (a generated suite
            reads no files).
    """
    found: dict[str, Any] = {}
    if data is not None and str(data).strip():
        for part in str(data).split(","):
            name, sep, value = part.partition("=")
            if not sep:
                raise ValueError(
                    f"world suites are generated and read no data; got {str(data)!r}. Give options as "
                    f"NAME=VALUE pairs after a colon, e.g. world-s2h-l1:n=100,distractors=5 (options: "
                    f"{', '.join(allowed)})"
                )
            found[name.strip()] = value.strip()
    found.update({k: v for k, v in options.items() if v is not None})
    unknown = sorted(set(found) - set(allowed))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for this world suite; known: {', '.join(allowed)}")
    return found


def int_option(value: Any, name: str, low: int, high: int) -> int:
    """A whole-number option within low..high (options may come as text from a spec)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"option {name}={value!r} must be a whole number") from None
    if not low <= number <= high:
        raise ValueError(f"option {name}={number} must lie in {low}..{high}")
    return number


def _range(value: Any) -> tuple[int, int]:
    low, _, high = str(value).partition("-")
    return (int_option(low, "images", 1, 8), int_option(high or low, "images", 1, 8))


def answer_kind(answer: str) -> str:
    """The bench answer kind of a canonical world answer: yes/no (statements' true/false too), a number,
    or text ("blue", "image 2", "the black square")."""
    if answer in ("yes", "no", "true", "false"):
        return "yes_no"
    return "number" if answer.isdigit() else "text"


def locked_positions(sample: WorldSample) -> frozenset[int]:
    """Positions (0-based) permutations must keep: the images the question names; every image when the
    answer names one (which image, first appearance) or the images form a sequence."""
    n = len(sample.images)
    if isinstance(sample.program, WhichImage | FirstAppearance) or sample.family == "sequence":
        return frozenset(range(n))
    return frozenset(k - 1 for k in images_of(sample.program))


def s2h_level(sample: WorldSample) -> str:
    """Which S2H level a question is at: "L1" names one image, "L2" several, "L3" none (it must search
    every image); a one-image sample is "single-image"."""
    if len(sample.images) == 1:
        return "single-image"
    named = len(images_of(sample.program))
    return "L3" if named == 0 else "L1" if named == 1 else "L2"


def world_item(suite: str, sample: WorldSample, subtask: str, level: str) -> Item:
    """A sampled world question as a bench item."""
    return Item(
        id=f"{suite}-{sample.key}",
        images=sample.images,
        question=sample.question,
        answer=sample.answer,
        kind=answer_kind(sample.answer),  # type: ignore[arg-type]
        subtask=subtask,
        level=level,
        locked_positions=locked_positions(sample),
        meta={
            "family": sample.family,
            "skills": sample.skills,
            "program": sample.program,
            "program_text": program_text(sample.program),
            "scene": sample.scene,
            "structure": sample.structure,
            "oracle_answer": sample.answer,
            "target": sample.target,
        },
    )


def load_world(data: str | Path | None = None, seed: int = 0, **options: Any) -> list[Item]:
    """`world`: the balanced all-family set, 1-4 images per item; subtask = family, level = S2H level.

    Args:
        data: options as "n=300,images=1-4" (see the module docstring), or None.
        seed: the question sampler's seed.
        **options: `n` (items, default 300), `images` (images per item, "1-4" or one count).
    """
    found = generator_options(data, options, ("n", "images"))
    n = int_option(found.get("n", DEFAULT_N), "n", 1, 1_000_000)
    images = _range(found.get("images", "1-4"))
    sampler = QuestionSampler(QuestionConfig(images_per_sample=images), seed=seed)
    return [world_item("world", s, s.family, s2h_level(s)) for s in sampler.samples(n)]


def load_s2h(level: str, data: str | Path | None = None, seed: int = 0, **options: Any) -> list[Item]:
    """One S2H level ("L1", "L2" or "L3") with `distractors` + 1 images per item.

    Args:
        level: "L1" (localized family), "L2" (arithmetic) or "L3" (global search).
        data: options as "n=300,distractors=3", or None.
        seed: the question sampler's seed.
        **options: `n` (items, default 300), `distractors` (default 3, so 4 images per item; 1..7).
    """
    if level not in S2H_FAMILIES:
        raise ValueError(f"S2H level {level!r}: use one of {', '.join(S2H_FAMILIES)}")
    found = generator_options(data, options, ("n", "distractors"))
    n = int_option(found.get("n", DEFAULT_N), "n", 1, 1_000_000)
    distractors = int_option(found.get("distractors", DEFAULT_DISTRACTORS), "distractors", 1, 7)
    config = QuestionConfig(images_per_sample=distractors + 1, families=S2H_FAMILIES[level])
    suite = f"world-s2h-{level.lower()}"
    sampler = QuestionSampler(config, seed=seed)
    return [world_item(suite, s, _SUBTASK[type(s.program).__name__], level) for s in sampler.samples(n)]


def load_s2h_l1(data: str | Path | None = None, seed: int = 0, **options: Any) -> list[Item]:
    """`world-s2h-l1`: a question about one named image among 1 + distractors images."""
    return load_s2h("L1", data, seed, **options)


def load_s2h_l2(data: str | Path | None = None, seed: int = 0, **options: Any) -> list[Item]:
    """`world-s2h-l2`: visual arithmetic (sums, differences of counts) over named images."""
    return load_s2h("L2", data, seed, **options)


def load_s2h_l3(data: str | Path | None = None, seed: int = 0, **options: Any) -> list[Item]:
    """`world-s2h-l3`: global search: which image, how many images, each / some / no image."""
    return load_s2h("L3", data, seed, **options)
