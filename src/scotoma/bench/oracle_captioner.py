"""The world-oracle captioner: the exact description of every box a world suite or NLVR1 shows.

MMRA's description settings (DQ, IDQ) need a captioner. On world images the oracle knows what each
image holds, so it can give the perfect description: `scotoma.world.scenes.captions.caption_box` of the box
the image shows ("small blue circle , large yellow square"). That separates a model's reading of the
images from its reasoning: DQ with the oracle captioner is the model's accuracy given perfect vision.

Every world image rendered in this process, and every NLVR1 image loaded (`scotoma.bench.nlvr1`), is
recorded by content hash (`scotoma.world.scenes.image_boxes`); `OracleCaptioner` looks the hashes up. It
describes only images made or loaded in the same process; anything else (MMRA photos, a file that was
never generated here) fails with a message saying so. From the command line:

    scotoma bench world --model SPEC --setting IQ,DQ,IDQ,QO --captioner oracle
"""

from __future__ import annotations

from collections.abc import Sequence

from scotoma.types import ImageRef
from scotoma.world.scenes.captions import caption_box
from scotoma.world.scenes.image_boxes import box_of, remember_boxes

ORACLE_SPEC = "oracle"

__all__ = ["ORACLE_SPEC", "OracleCaptioner", "box_of", "oracle_captioner", "remember_boxes"]


class OracleCaptioner:
    """Describes world images exactly: `caption_box` of the box each image shows (a `Describer`)."""

    spec = ORACLE_SPEC

    def describe(self, images: Sequence[ImageRef]) -> list[str]:
        """One exact caption per image, in order.

        Raises:
            ValueError: an image the world did not render or load in this process (see `box_of`).
        """
        return [caption_box(box_of(image)) for image in images]


def oracle_captioner() -> OracleCaptioner:
    """The captioner that `--captioner oracle` selects; pass it as `BenchConfig(captioner=...)`."""
    return OracleCaptioner()
