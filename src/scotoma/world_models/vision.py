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

import functools
from collections.abc import Sequence
from typing import Any

from scotoma.world.scenes.scene import BOX_SIZE, COLORS, SHAPES, SIZE_WORDS, SIZES, Scene

#: The target classes of a cell: every (colour, shape, size) an object can have, then "no object centre".
OBJECT_CLASSES = (
    *((color, shape, size) for color in COLORS for shape in SHAPES for size in SIZES),
    ("empty", "", 0),
)
EMPTY = len(OBJECT_CLASSES) - 1
_CLASS_INDEX = {key: i for i, key in enumerate(OBJECT_CLASSES)}


#: The kinds of head `vision_head` builds.
VISION_HEADS = ("words", "linear")


def vision_head(kind: str, model: Any, tokenizer: Any) -> Any:
    """The per-cell classifier of `kind` for `model`: "linear" (free) or "words" (`WordTiedHead`)."""
    import torch

    if kind == "linear":
        return torch.nn.Linear(model.config.text_config.hidden_size, len(OBJECT_CLASSES))
    if kind == "words":
        return _word_tied_head_type()(model.get_input_embeddings(), tokenizer)
    raise ValueError(f"unknown vision head {kind!r}; choose one of {VISION_HEADS}")


@functools.cache
def _word_tied_head_type() -> Any:  # a class made on first use: torch is not imported with this module
    import torch

    class WordTiedHead(torch.nn.Module):
        """Scores a cell against each class by the word embeddings of its colour, shape and size words.

        Class (blue, circle, 10) scores `scale * token . (E[blue] + E[circle] + E[small]) + bias`, with E
        the language model's own input embeddings, shared, not copied. Why: the visual tokens then point
        the way the question's words do, so an attention head that matches "circle" in the question
        against the images needs no separate translation learnt for every word. A free linear head
        reads the same facts out of tokens that may lie anywhere. Measured: no clear gain by 88k samples
        (docs/world-models-training.md); it diverged in a 10-step test at lr 3e-3 (fine at 1e-3).
        """

        def __init__(self, embeddings: Any, tokenizer: Any) -> None:
            super().__init__()
            self.embeddings = [embeddings]  # a list: not registered twice (the model owns it)
            words = [(c, s, SIZE_WORDS[z]) for c, s, z in OBJECT_CLASSES[:EMPTY]]
            ids = [[tokenizer.convert_tokens_to_ids(w) for w in triple] for triple in words]
            if any(i is None or i == tokenizer.unk_token_id for row in ids for i in row):
                raise ValueError("the tokenizer lacks a colour, shape or size word of the world")
            self.register_buffer("word_ids", torch.tensor(ids), persistent=False)
            hidden = embeddings.weight.shape[1]
            self.empty = torch.nn.Parameter(torch.zeros(hidden))
            self.bias = torch.nn.Parameter(torch.zeros(len(OBJECT_CLASSES)))
            self.scale = torch.nn.Parameter(torch.tensor(10.0))

        def forward(self, tokens: Any) -> Any:
            classes = self.embeddings[0].weight[self.word_ids].sum(1)  # (27, hidden)
            weights = torch.cat([classes, self.empty[None]], 0).to(tokens.dtype)
            return self.scale * tokens @ weights.T + self.bias

    return WordTiedHead


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


__all__ = ["OBJECT_CLASSES", "VISION_HEADS", "VisionSupervision", "cell_targets", "vision_head"]
