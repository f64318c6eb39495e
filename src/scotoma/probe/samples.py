"""What the questioner looks at: a `ProbeSample` is one image or one ordered set of images.

Two sources:

- the shapes world (the default): `world_samples(n, seed, ...)` draws samples from the world's question
  sampler and keeps their scenes and images (the sampled question itself is not used), so the oracle can
  judge whatever the questioner asks;
- a folder (`--images DIR`): every image file directly in DIR is a one-image sample, and every
  sub-folder holding images is a multi-image sample, its images in name order (Image 1 first). Real
  images have no scene, so they need a VLM judge as verifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scotoma.judge.verifiers import VerifyItem
from scotoma.types import ImageRef
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler
from scotoma.world.scenes.scene import Scene

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")


@dataclass(frozen=True)
class ProbeSample:
    """One image set the questioner probes.

    Attributes:
        key: stable id; keys the image-level memory bank and the run's records.
        images: the images in order.
        scene: the world scene (world samples only; the oracle needs it).
        structure: how a world set was built ("boxes", "sequence", ...) or "folder".
    """

    key: str
    images: tuple[ImageRef, ...]
    scene: Scene | None = field(default=None, compare=False, repr=False)
    structure: str = "folder"

    def item(self, question: str, answer: str) -> VerifyItem:
        """A verifier item for a question about this sample and the target's answer."""
        return VerifyItem(self.images, question, answer, self.scene)

    def to_dict(self) -> dict[str, Any]:
        """The logged form: key, structure and image refs (hash, uri, size), no pixels."""
        return {"key": self.key, "structure": self.structure, "images": [i.to_dict() for i in self.images]}


def world_samples(
    n: int,
    seed: int = 0,
    images_per_sample: tuple[int, int] = (1, 4),
    objects_per_box: tuple[int, int] = (1, 8),
    start: int = 0,
) -> list[ProbeSample]:
    """`n` shapes-world samples, the same for the same arguments.

    Args:
        n: how many.
        seed: the world sampler's seed.
        images_per_sample: boxes per sample, an inclusive range.
        objects_per_box: objects per box, an inclusive range.
        start: index of the first sample (disjoint sets for training and held-out evaluation).
    """
    sampler = QuestionSampler(
        QuestionConfig(images_per_sample=images_per_sample, objects_per_box=objects_per_box), seed=seed
    )
    return [
        ProbeSample(f"world-{s.key}", tuple(s.images), s.scene, s.structure)
        for s in sampler.samples(n, start=start)
    ]


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def folder_samples(folder: str | Path, limit: int | None = None) -> list[ProbeSample]:
    """Samples from a folder of images (see the module docstring), sorted by name.

    Raises:
        FileNotFoundError: `folder` is not a directory.
        ValueError: it holds no images.
        ImageError: an image is unreadable (the message names the file).
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"--images {root} is not a folder of images")
    groups: list[tuple[str, list[Path]]] = [(p.name, [p]) for p in _images_in(root)]
    groups += [(d.name, _images_in(d)) for d in sorted(root.iterdir()) if d.is_dir() and _images_in(d)]
    groups.sort(key=lambda group: group[0])
    if not groups:
        raise ValueError(
            f"{root} holds no images ({', '.join(IMAGE_SUFFIXES)}): put image files in it, or one sub-folder "
            "per multi-image sample"
        )
    out = []
    for name, paths in groups[:limit]:
        refs = tuple(ImageRef.from_path(path) for path in paths)
        out.append(ProbeSample(f"folder-{name}-{refs[0].sha256[:8]}", refs))
    return out


def by_key(samples: Sequence[ProbeSample]) -> dict[str, ProbeSample]:
    """Samples by key.

    Raises:
        ValueError: two samples share a key.
    """
    table = {s.key: s for s in samples}
    if len(table) != len(samples):
        raise ValueError("two probe samples share a key; keys must be unique")
    return table


__all__ = ["IMAGE_SUFFIXES", "ProbeSample", "by_key", "folder_samples", "world_samples"]
