"""Deterministic stand-ins for the taxonomy's three model stages, and the world recovery measurement.

No model that could name skills runs offline here, so in the world each LLM stage is played by a rule
that sees only what the model would see (the prompt), never the answer key:

- primitives: the question in the prompt is parsed with the world grammar (`scotoma.world.programs.parse`),
  and each skill of the parsed program is written as a paraphrase: one of several templates per skill
  (`PARAPHRASES`), picked by a hash of (question, skill) and filled with the question's own colours,
  shapes, sizes and image numbers ("counting yellow triangles", "locating image 2"), as a VLM writes
  them. Like a real VLM it is imperfect: with probability `drop` a skill is left out (never all), with
  probability `noise` a generic phrase ("visual perception") is added, and an unparseable question gets
  a generic phrase only. It remembers which exact skill it wrote each phrase for (`source`).
- labels: the name is the span of the first (most frequent) example primitive from its first to its
  last word among the topic's c-TF-IDF keywords, at most 5 words, without trailing stop words
  ("identifying the color of blue
  circles" with keywords color, identifying, ... -> "identifying the color"); colours, shapes and sizes
  never count as keywords; with no keyword in the example, the top two keywords.
- meta-skills: each skill goes to the group of `META_LEXICON` sharing most words with it (ties: the
  earlier group), else "Visual Understanding".

So the recovery figures measure the pipeline (dedupe, BERTopic, naming, merging) on realistically
varied phrasing, with a perfect reader of the question; a real VLM adds its own errors on top.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scotoma.models import ScriptedModel
from scotoma.models.embed import Embedder
from scotoma.taxonomy.cluster import STOP_WORDS
from scotoma.taxonomy.paraphrases import NOISE, PARAPHRASES
from scotoma.taxonomy.pipeline import build_taxonomy
from scotoma.taxonomy.primitives import TaxonomyQuestion, normalize_phrase
from scotoma.taxonomy.recovery import occurrence_recovery
from scotoma.taxonomy.result import Taxonomy, TaxonomyConfig
from scotoma.types import Conversation

_COLORS, _SHAPES = ("yellow", "black", "blue"), ("square", "circle", "triangle")
_SIZES = ("small", "medium", "large")
_SLOT_WORDS = frozenset({*_COLORS, *_SHAPES, *(s + "s" for s in _SHAPES), *_SIZES, "objects"})
META_LEXICON: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (name, frozenset(words.split()))
    for name, words in (
        ("Attribute Recognition", "color colors colour shape shapes size sizes geometric classification"),
        (
            "Counting and Arithmetic",
            "count counting counts number numerical quantity quantities arithmetic "
            "adding summing subtracting tallying enumerating",
        ),
        (
            "Spatial Reasoning",
            "above below left right spatial position vertical horizontal edge border boundary contact "
            "stacking stacked tower towers nearest proximity closest distance support beneath",
        ),
        ("Multi-Image Reasoning", "images cross multi across scanning searching indexing referenced named"),
        (
            "Change and Order",
            "change changes movement appeared temporal order ordering sequence before first",
        ),
        (
            "Logic and Verification",
            "statement claim true false verification verifying quantifiers quantification truth",
        ),
        ("Object Detection", "detecting detection presence existence present"),
    )
)


def _question_of(conversation: Conversation) -> str:
    text = conversation.messages[-1].text
    match = re.search(r"^Question: (.*)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else ""


def _slots(question: str) -> dict[str, str]:
    words = re.findall(r"[a-z0-9]+", question.lower())
    found = {"obj": "objects"}
    colors = [w for w in words if w in _COLORS]
    shapes = [w.rstrip("s") for w in words if w.rstrip("s") in _SHAPES]
    sizes = [w for w in words if w in _SIZES]
    if colors:
        found["color"] = colors[0]
    if shapes:
        found["shape"] = shapes[0]
    if sizes:
        found["size"] = sizes[0]
    if shapes or colors:
        found["obj"] = " ".join([*colors[:1], shapes[0] + "s" if shapes else "objects"])
    number = re.search(r"image\s*(\d)", question.lower())
    if number:
        found["n"] = number.group(1)
    return found


class StandInPrimitives:
    """The primitive model's stand-in (see the module docstring); call it on a conversation.

    Attributes:
        source: normalised phrase -> the exact skill it was written for ("noise" for generic phrases).
        conflicts: phrases that were written for two different skills (kept with the first).
    """

    def __init__(self, drop: float = 0.05, noise: float = 0.15, seed: int = 0) -> None:
        self.drop, self.noise, self.seed = drop, noise, seed
        self.source: dict[str, str] = {}
        self.conflicts: set[str] = set()

    def _rng(self, *parts: str) -> random.Random:
        digest = hashlib.sha256("\0".join((str(self.seed), *parts)).encode()).hexdigest()
        return random.Random(int(digest[:16], 16))

    def _note(self, phrase: str, skill: str) -> str:
        phrase = normalize_phrase(phrase)
        if self.source.setdefault(phrase, skill) != skill:
            self.conflicts.add(phrase)
        return phrase

    def phrases(self, question: str) -> list[str]:
        """The primitive phrases written for `question`."""
        from scotoma.world.programs import nodes as programs
        from scotoma.world.programs.parse import ParseError, parse

        rng = self._rng(question)
        try:
            skills = list(programs.skills(parse(question)))
        except (ParseError, ValueError):
            return [self._note(rng.choice(NOISE), "noise")]
        kept = [s for s in skills if rng.random() >= self.drop] or skills[:1]
        slots = _slots(question)
        out = []
        for skill in kept:
            choices = [t for t in PARAPHRASES[skill] if all(k in slots for k in re.findall(r"{(\w+)}", t))]
            template = self._rng(question, skill).choice(choices)
            out.append(self._note(template.format(**slots), skill))
        if rng.random() < self.noise:
            out.append(self._note(rng.choice(NOISE), "noise"))
        return list(dict.fromkeys(out))

    def __call__(self, conversation: Conversation) -> str:
        return json.dumps(self.phrases(_question_of(conversation)))


def stand_in_label(conversation: Conversation) -> str:
    """The labeller's stand-in (see the module docstring)."""
    text = conversation.messages[-1].text
    keywords_line = re.search(r"^Keywords of the cluster: (.*)$", text, flags=re.MULTILINE)
    keywords = [k.strip() for k in (keywords_line.group(1) if keywords_line else "").split(",") if k.strip()]
    examples = re.findall(r"^- (.*)$", text, flags=re.MULTILINE)
    useful = [k for k in keywords if k not in _SLOT_WORDS and not k.isdigit()]
    words = examples[0].split() if examples else []
    hits = [i for i, word in enumerate(words) if word.strip(",:") in useful]
    if hits:  # the example's span from its first to its last keyword, at most 5 words, no dangling "an"
        span = words[hits[0] : min(hits[-1] + 1, hits[0] + 5)]
        while len(span) > 1 and span[-1] in STOP_WORDS:
            span.pop()
        return " ".join(span).strip(",:")
    return " ".join(useful[:2]) or "visual skill"


def stand_in_meta(conversation: Conversation) -> str:
    """The meta-skill grouper's stand-in (see the module docstring)."""
    skills = re.findall(r"^- (.*)$", conversation.messages[-1].text, flags=re.MULTILINE)
    groups: dict[str, list[str]] = {}
    for skill in skills:
        words = set(re.findall(r"[a-z0-9]+", skill.lower()))
        scores = [len(words & lexicon) for _, lexicon in META_LEXICON]
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        name = META_LEXICON[best][0] if scores[best] else "Visual Understanding"
        groups.setdefault(name, []).append(skill)
    return json.dumps(groups)


@dataclass
class StandIn:
    """The three stand-in models, as backends (`scripted:` specs name them in the taxonomy's spec)."""

    primitives: StandInPrimitives = field(default_factory=StandInPrimitives)

    def models(self) -> dict[str, ScriptedModel]:
        """Keyword arguments for `build_taxonomy`: primitive_model, label_model, meta_model."""
        return {
            "primitive_model": ScriptedModel(self.primitives, spec="stand-in:primitives-v1"),
            "label_model": ScriptedModel(stand_in_label, spec="stand-in:labels-v1"),
            "meta_model": ScriptedModel(stand_in_meta, spec="stand-in:meta-v1"),
        }


def world_questions(n: int, seed: int = 0, method: str = "world") -> list[TaxonomyQuestion]:
    """`n` world questions with their exact program skills (images in memory)."""
    from scotoma.world import QuestionSampler

    sampler = QuestionSampler(seed=seed)
    return [
        TaxonomyQuestion(s.question, tuple(s.images), method, tuple(s.skills)) for s in sampler.samples(n)
    ]


def measure_world_recovery(
    out_dir: str | Path,
    n_questions: int = 600,
    seed: int = 0,
    embedder: Embedder | None = None,
    config: TaxonomyConfig | None = None,
    cache_dir: str | Path | None = None,
    questions: Sequence[TaxonomyQuestion] | None = None,
) -> dict[str, Any]:
    """Build the taxonomy of `n_questions` world questions with the stand-ins, and score it.

    Returns:
        {"question_level": question_recovery(...), "occurrence_level": {"ami", "purity",
        "inverse_purity", "n_occurrences"}, "counts", "timings_s", "conflicts"}.
    """
    stand_in = StandIn(StandInPrimitives(seed=seed))
    questions = list(questions) if questions is not None else world_questions(n_questions, seed)
    for question in questions:  # the truth of every phrase, even those the response cache will answer
        stand_in.primitives.phrases(question.question)
    cache = (
        {}
        if cache_dir is None
        else {"cache": Path(cache_dir) / "responses.sqlite", "store": Path(cache_dir) / "taxonomy.sqlite"}
    )
    taxonomy: Taxonomy = build_taxonomy(
        questions, out_dir, embedder=embedder, config=config, **stand_in.models(), **cache
    )
    # Only phrases written for a real skill count: "noise" has no exact skill to recover.
    truth = {p: s for p, s in stand_in.primitives.source.items() if s != "noise"}
    return {
        "question_level": {k: v for k, v in (taxonomy.recovery or {}).items() if k != "majority"},
        "occurrence_level": occurrence_recovery(taxonomy.primitives, truth, taxonomy.skill_of),
        "counts": taxonomy.counts,
        "timings_s": taxonomy.timings_s,
        "conflicts": sorted(stand_in.primitives.conflicts),
    }
