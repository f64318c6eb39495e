"""NLVR1 (Suhr et al., 2017; CC-BY-4.0) as a benchmark of true/false statements over three boxes.

Each example has a sentence, a label, its structured representation (as a `Scene`) and six shipped PNGs,
`dev/images/<directory>/dev-<identifier>-<k>.png`, k = 0..5: the same three boxes in the six orders.
Matching crops of every shipped image against renders of the structured representation showed that
image k shows the boxes in the order `PERMUTATIONS[k]` (itertools.permutations order): position j of
the strip holds `scene.boxes[PERMUTATIONS[k][j]]`; k = 0 is the structured representation's own order.

Images come three ways: the shipped strip (`strip`), the three 100x100 boxes cut from it (`box_images`),
and the boxes re-rendered from the structured representation (`rendered_boxes`, pixel-equal to the crops
up to a few anti-aliased pixels, see benchmarks/render_agreement.py). The data folder is found from
`root`, else $SCOTOMA_NLVR1_DIR, else the dev split shipped inside the package (`data/nlvr1`: dev.json
without the PNGs, so its boxes are rendered).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from scotoma.types import ImageError, ImageRef
from scotoma.world.scenes.render import STRIP_BOX_X, box_image_ref, png_bytes, render_box_array
from scotoma.world.scenes.scene import BOX_SIZE, Box, Scene

ENV_VAR = "SCOTOMA_NLVR1_DIR"
PERMUTATIONS: tuple[tuple[int, ...], ...] = tuple(itertools.permutations(range(3)))
#: The dev split's dev.json, shipped with the package (CC-BY-4.0, attribution in its SOURCE.md).
PACKAGED = Path(__file__).resolve().parent / "data" / "nlvr1"


class NLVRDataError(FileNotFoundError):
    """The NLVR1 folder or its JSON file is missing or unreadable."""


@dataclass(frozen=True)
class NLVRExample:
    """One NLVR1 statement with its three boxes.

    Attributes:
        identifier: "n-m" as in the corpus.
        sentence: the statement.
        label: whether it is true of the boxes.
        directory: the images sub-folder.
        scene: the structured representation, boxes in the corpus' order (variant k = 0).
        images_dir: the folder holding the six PNGs.
        split: "dev", "train" or "test", the prefix of the PNG names.
    """

    identifier: str
    sentence: str
    label: bool
    directory: str
    scene: Scene
    images_dir: Path
    split: str = "dev"

    def strip_path(self, k: int = 0) -> Path:
        """Path of the shipped 400x100 PNG of variant k (box order PERMUTATIONS[k])."""
        if k not in range(len(PERMUTATIONS)):
            raise ValueError(f"variant k={k} is not in 0..{len(PERMUTATIONS) - 1}")
        return self.images_dir / f"{self.split}-{self.identifier}-{k}.png"

    @property
    def has_images(self) -> bool:
        """Whether the corpus' PNGs are at hand (the copy shipped with scotoma has none)."""
        return self.strip_path(0).is_file()

    def strip(self, k: int = 0) -> ImageRef:
        """The shipped strip of variant k, hashed (raises ImageError naming a missing or corrupt file)."""
        return ImageRef.from_path(self.strip_path(k))

    def boxes_in_order(self, k: int = 0) -> tuple[Box, ...]:
        """The structured boxes in the order variant k shows them."""
        return tuple(self.scene.boxes[i] for i in PERMUTATIONS[k])

    def strip_array(self, k: int = 0) -> np.ndarray:
        """The shipped strip of variant k as a (100, 400, 3) uint8 RGB array (its alpha is always 255)."""
        path = self.strip_path(k)
        if not path.is_file():
            raise ImageError(f"NLVR1 image file not found: {path}")
        try:
            with Image.open(path) as image:
                strip = np.asarray(image.convert("RGB"))
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageError(
                f"NLVR1 image {path} is not a readable PNG ({error}); re-fetch the data"
            ) from error
        if strip.shape[:2] != (BOX_SIZE, STRIP_BOX_X[-1] + BOX_SIZE):
            raise ImageError(f"NLVR1 image {path} is {strip.shape[1]}x{strip.shape[0]}, expected 400x100")
        return strip

    def box_arrays(self, k: int = 0) -> list[np.ndarray]:
        """The three boxes cut from the shipped strip of variant k, as (100, 100, 3) uint8 RGB arrays."""
        strip = self.strip_array(k)
        return [np.ascontiguousarray(strip[:, x : x + BOX_SIZE]) for x in STRIP_BOX_X]

    def box_images(self, k: int = 0) -> list[ImageRef]:
        """The three boxes cut from the shipped strip of variant k, as in-memory PNG ImageRefs."""
        return [ImageRef.from_bytes(png_bytes(a)) for a in self.box_arrays(k)]

    def rendered_boxes(self, k: int = 0) -> list[ImageRef]:
        """The three boxes re-rendered from the structured representation, in variant k's order."""
        return [box_image_ref(box) for box in self.boxes_in_order(k)]


def find_root(root: str | Path | None = None) -> Path:
    """The NLVR1 folder (holding `dev/dev.json`): `root`, else $SCOTOMA_NLVR1_DIR, else the dev split
    shipped with the package.

    Raises:
        NLVRDataError: naming every place it looked and how to point at the data.
    """
    if root is not None:
        candidates = [Path(root)]
    elif os.environ.get(ENV_VAR):
        candidates = [Path(os.environ[ENV_VAR])]
    else:
        candidates = [PACKAGED]
    for candidate in candidates:
        # Accept the corpus folder itself or one of its split folders.
        if (candidate / "dev" / "dev.json").is_file():
            return candidate
        if (candidate / "dev.json").is_file():
            return candidate.parent
    looked = ", ".join(str(c) for c in candidates)
    raise NLVRDataError(
        f"NLVR1 data not found (looked for dev/dev.json in: {looked}). Pass root=..., or set {ENV_VAR} to "
        "the folder holding dev/dev.json and dev/images/ (the corpus: github.com/lil-lab/nlvr, folder nlvr/)"
    )


def load_nlvr1(root: str | Path | None = None, split: str = "dev") -> list[NLVRExample]:
    """Every example of an NLVR1 split, in file order; images are read only when asked for.

    Args:
        root: the NLVR1 folder (or its split folder); None searches as `find_root` does.
        split: "dev" (the only split shipped with scotoma's shared data), "train" or "test".

    Raises:
        NLVRDataError: when the folder or the split's JSON file is missing or malformed.
    """
    folder = find_root(root) / split
    path = folder / f"{split}.json"
    if not path.is_file():
        raise NLVRDataError(f"NLVR1 split file not found: {path}")
    examples = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            examples.append(
                NLVRExample(
                    identifier=item["identifier"],
                    sentence=item["sentence"],
                    label=_label(item["label"]),
                    directory=str(item["directory"]),
                    scene=Scene.from_nlvr(item["structured_rep"]),
                    images_dir=folder / "images" / str(item["directory"]),
                    split=split,
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise NLVRDataError(f"{path}:{number} is not an NLVR1 example ({error!r})") from error
    return examples


def _label(value: object) -> bool:
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"label {value!r} is neither true nor false")
    return text == "true"


def match_permutation(crops: list[np.ndarray], scene: Scene) -> tuple[int, ...] | None:
    """The box order a strip shows: the permutation p with crop j closest to a render of box p[j].

    Returns None when two orders fit equally well (a scene with identical boxes).
    """
    renders = [render_box_array(box) for box in scene.boxes]
    agreement = {
        p: sum(float((crop == renders[i]).all(-1).mean()) for crop, i in zip(crops, p, strict=True))
        for p in PERMUTATIONS
    }
    best = max(agreement.values())
    winners = [p for p, value in agreement.items() if value == best]
    return winners[0] if len(winners) == 1 else None


def pixel_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels whose RGB values are identical in two arrays of one shape."""
    if a.shape != b.shape:
        raise ValueError(f"images of shapes {a.shape} and {b.shape} cannot be compared pixel by pixel")
    return float((a[..., :3] == b[..., :3]).all(-1).mean())
