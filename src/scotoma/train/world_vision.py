"""Dense visual supervision for the world models: what each visual token's cell of the box holds.

Why: trained through the language loss alone, a world model from random weights learns to see slowly
(the describe curriculum of `world_curriculum` helps, but after an hour on one CPU thread held-out QA was
still at the answer prior, NOTES-offline-stack.md). The scene graph knows exactly what lies where, so the
vision tower gets a direct signal too: each of the 25 visual tokens of a box (the connector's output, one
per 20x20 px cell, row-major as Idefics3's pixel shuffle orders them) is trained to say which
(colour, shape, size) object has its centre in its cell, or that none has, through a linear head and a
cross-entropy over those 28 classes (a cell holding two centres, rare, gets both at half weight). A
softmax, not 27 independent sigmoids: with ~4 objects in 25 cells the sigmoids' positives were so rare
that their loss barely moved off the all-empty prior in a side-by-side trial. It is an auxiliary loss
of training only (like the deep supervision of detection backbones): the head is not part of the
shipped model, which stays a plain Idefics3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scotoma.world.scene import BOX_SIZE, COLORS, SHAPES, SIZES, Scene

#: The target classes of a cell: every (colour, shape, size) an object can have, then "no object centre".
OBJECT_CLASSES = (
    *((color, shape, size) for color in COLORS for shape in SHAPES for size in SIZES),
    ("empty", "", 0),
)
EMPTY = len(OBJECT_CLASSES) - 1
_CLASS_INDEX = {key: i for i, key in enumerate(OBJECT_CLASSES)}


def cell_targets(scenes: Sequence[Scene], grid: int) -> Any:
    """Target distributions (images, grid*grid, classes) of every box of `scenes`, in the model's image order.

    Image order is row-major over (scene, box), the order in which the model keeps the real (non-padding)
    images of a batch; cell i is row i // grid, column i % grid.
    """
    import torch

    boxes = [box for scene in scenes for box in scene.boxes]
    targets = torch.zeros((len(boxes), grid * grid, len(OBJECT_CLASSES)))
    cell = BOX_SIZE / grid
    for image, box in enumerate(boxes):
        for obj in box.objects:
            row = min(grid - 1, int((obj.y + obj.size / 2) // cell))
            column = min(grid - 1, int((obj.x + obj.size / 2) // cell))
            targets[image, row * grid + column, _CLASS_INDEX[(obj.color, obj.shape, obj.size)]] += 1.0
    counts = targets.sum(-1, keepdim=True)
    targets[..., EMPTY] = (counts[..., 0] == 0).float()
    return targets / counts.clamp(min=1)


class VisionSupervision:
    """Captures the connector's output during a forward pass and scores it against the scenes.

    Args:
        model: an Idefics3 world model (`model.model.connector` is hooked).
        head: a `torch.nn.Linear(text hidden, len(OBJECT_CLASSES))`, trained with the model.

    Use: `model(**batch)` in training mode, then `supervision.loss(scenes)` with the batch's scenes.
    """

    def __init__(self, model: Any, head: Any) -> None:
        self.head = head
        self._captured: list[Any] = []
        # only training passes are captured: evaluation generates through the same model in eval mode
        model.model.connector.register_forward_hook(
            lambda module, _i, out: self._captured.append(out) if module.training else None
        )

    def loss(self, scenes: Sequence[Scene]) -> Any:
        """Mean cross-entropy of the cells of the last forward pass; clears the capture."""
        import torch

        if len(self._captured) != 1:
            raise RuntimeError(
                f"expected one connector output since the last loss, got {len(self._captured)}"
            )
        tokens = self._captured.pop()
        grid = round(tokens.shape[1] ** 0.5)
        targets = cell_targets(scenes, grid).to(tokens.device)
        if targets.shape[0] != tokens.shape[0]:
            raise RuntimeError(f"{tokens.shape[0]} images encoded, {targets.shape[0]} boxes in the scenes")
        logits = self.head(tokens.float())
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(0, 1))


__all__ = ["OBJECT_CLASSES", "VisionSupervision", "cell_targets"]
