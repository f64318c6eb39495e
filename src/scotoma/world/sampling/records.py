"""One generated sample of the shapes world, `WorldSample`, and its JSON record.

A record carries everything but pixels: the question, the oracle's answer, the program (as
`programs.to_dict`), family and skills, the images as `ImageRef.to_dict()` (hash, uri, size), the scene
in NLVR1's structured form and, for structured sets, how the set was built (sequence steps, near-duplicate
changes, shared objects). `WorldSample.from_dict` reads a record back (without that structure detail).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scotoma.types import ImageRef
from scotoma.world.programs.nodes import Program, from_dict, to_dict
from scotoma.world.sampling.generate_sets import SceneSample
from scotoma.world.scenes.scene import Scene

STRUCTURES = ("boxes", "sequence", "near_duplicates", "shared")


@dataclass(frozen=True)
class WorldSample:
    """A multi-image sample with one question and its exact answer.

    Attributes:
        key: stable id, f"{seed}-{index}".
        scene: the boxes; Image k is `scene.boxes[k - 1]`.
        structure: "boxes", "sequence", "near_duplicates" or "shared".
        images: one ImageRef per box, PNG bytes in memory (or a file uri once written).
        question: the English question (a random paraphrase).
        answer: the oracle's canonical answer.
        program: the question program.
        family: the question family (`scotoma.world.programs.skills.FAMILIES`).
        skills: the skills the question needs.
        seed: the sampler's seed.
        index: the sample's index under that seed.
        variant: which paraphrase rendered the question.
        target: the answer the balanced sampler aimed at (None when unbalanced); "something" stands for
            any change; a sample whose answer differs is a balancing miss.
        detail: the generated set with its structure records (None when read back from a record).
    """

    key: str
    scene: Scene
    structure: str
    images: tuple[ImageRef, ...]
    question: str
    answer: str
    program: Program
    family: str
    skills: tuple[str, ...]
    seed: int = 0
    index: int = 0
    variant: int = 0
    target: str | None = None
    detail: SceneSample | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (no pixels): see the module docstring."""
        record: dict[str, Any] = {
            "key": self.key,
            "seed": self.seed,
            "index": self.index,
            "structure": self.structure,
            "question": self.question,
            "answer": self.answer,
            "family": self.family,
            "skills": list(self.skills),
            "program": to_dict(self.program),
            "variant": self.variant,
            "target": self.target,
            "images": [image.to_dict() for image in self.images],
            "scene": self.scene.to_nlvr(),
        }
        if self.detail is not None and self.structure != "boxes":
            detail = self.detail.to_dict()
            record["detail"] = {k: detail[k] for k in ("steps", "changes", "base", "shared")}
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any], root: str | Path | None = None) -> WorldSample:
        """Rebuild a sample from its record; relative image uris are resolved against `root`."""

        def image(ref: dict[str, Any]) -> ImageRef:
            uri = ref.get("uri")
            if uri is not None and root is not None and not Path(uri).is_absolute():
                uri = str(Path(root) / uri)
            return ImageRef(ref["sha256"], uri, ref["width"], ref["height"])

        return cls(
            key=record["key"],
            scene=Scene.from_nlvr(record["scene"]),
            structure=record["structure"],
            images=tuple(image(ref) for ref in record["images"]),
            question=record["question"],
            answer=record["answer"],
            program=from_dict(record["program"]),
            family=record["family"],
            skills=tuple(record["skills"]),
            seed=record.get("seed", 0),
            index=record.get("index", 0),
            variant=record.get("variant", 0),
            target=record.get("target"),
        )

    def with_images(self, images: tuple[ImageRef, ...]) -> WorldSample:
        """A copy holding other image refs (e.g. the same images once written to files)."""
        return dataclasses.replace(self, images=images)


def program_text(node: Any) -> str:
    """A compact one-line form of a program: fields left at their defaults are left out.

    Example:
        >>> program_text(Count(Filter("circle", "blue"), image=2))
        "Count(of=Filter(shape='circle', color='blue'), image=2)"
    """
    if not dataclasses.is_dataclass(node):
        return repr(node)
    parts = []
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        parts.append(f"{f.name}={program_text(value)}")
    return f"{type(node).__name__}({', '.join(parts)})"
