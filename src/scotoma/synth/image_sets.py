"""Where model-backed synthesis gets its image sets: a user's folder, or scenes of the world.

A folder is read in one of two ways:

- it has sub-folders holding images: each sub-folder is one set (its images sorted by name; sets of
  more than 8 images keep the first 8, since few models take more);
- otherwise its own images, sorted by name, are cut into sets of `images_per_sample` (a shorter last
  set is kept when it has at least two images).

Without a folder, `world_image_sets` draws world scenes (independent boxes, shared objects or a
sequence), so the model pipeline runs anywhere and can be compared with the exact one.
"""

from __future__ import annotations

import random
from pathlib import Path

from scotoma.types import ImageRef
from scotoma.world.sampling.generate import SceneSampler
from scotoma.world.sampling.questions import render_images
from scotoma.world.sampling.specs import SamplingError, SceneConfig

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
MAX_SET = 8


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def folder_image_sets(
    folder: str | Path, images_per_sample: int = 4
) -> list[tuple[str, tuple[ImageRef, ...]]]:
    """(set name, images) for every set in `folder` (see the module docstring).

    Raises:
        ValueError: the folder is missing or holds no set of two or more images.
        scotoma.types.ImageError: an image that cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"image folder not found: {folder}")
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and _images_in(p))
    if subfolders:
        groups = [(sub.name, _images_in(sub)[:MAX_SET]) for sub in subfolders]
    else:
        files = _images_in(folder)
        groups = [
            (f"{start // images_per_sample:05d}", files[start : start + images_per_sample])
            for start in range(0, len(files), images_per_sample)
        ]
    sets = [(name, tuple(ImageRef.from_path(p) for p in paths)) for name, paths in groups if len(paths) >= 2]
    if not sets:
        raise ValueError(
            f"{folder} holds no set of two or more images ({', '.join(IMAGE_SUFFIXES)}); put each set in a "
            "sub-folder, or at least two images in the folder"
        )
    return sets


def world_image_set(seed: int, index: int, images_per_sample: int = 4) -> tuple[str, tuple[ImageRef, ...]]:
    """One world set: independent boxes, boxes sharing an object, or a sequence, rendered to PNGs."""
    rng = random.Random(f"{seed}:world-set:{index}")
    sampler = SceneSampler(SceneConfig(n_objects=(2, 6), tower_prob=0.0))
    for _ in range(20):
        structure = rng.choice(("boxes", "shared", "sequence"))
        try:
            sample = getattr(sampler, structure)(rng, images_per_sample)
        except SamplingError:
            continue
        return f"world-{seed}-{index}", render_images(sample.scene)
    raise SamplingError(f"no world set of {images_per_sample} images for index {index}")
