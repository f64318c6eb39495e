"""Dense visual supervision of the world models: cell targets by hand, and the loss through a real model."""

from __future__ import annotations

import pytest

from scotoma.world.scenes.scene import Box, Scene, WorldObject
from scotoma.world_models.vision import EMPTY, OBJECT_CLASSES, cell_targets


def _index(color: str, shape: str, size: int) -> int:
    return OBJECT_CLASSES.index((color, shape, size))


def test_cell_targets_by_hand() -> None:
    # centre (15, 15) -> cell (0, 0); centre (55, 75) -> row 3, column 2; two centres share cell (4, 4)
    first = Box(
        (
            WorldObject("circle", "blue", 10, 10, 10),
            WorldObject("square", "yellow", 30, 40, 60),
        )
    )
    second = Box(
        (
            WorldObject("triangle", "black", 10, 80, 80),
            WorldObject("circle", "black", 10, 90, 90),
        )
    )
    targets = cell_targets([Scene((first,)), Scene((second,))], grid=5)
    assert targets.shape == (2, 25, len(OBJECT_CLASSES)) == (2, 25, 28)
    assert targets[0, 0, _index("blue", "circle", 10)] == 1
    assert targets[0, 3 * 5 + 2, _index("yellow", "square", 30)] == 1
    assert targets[1, 24, _index("black", "triangle", 10)] == 0.5
    assert targets[1, 24, _index("black", "circle", 10)] == 0.5
    assert targets[0].sum() == 25 and targets[1].sum() == 25  # every cell is one distribution
    assert targets[0, :, EMPTY].sum() == 23 and targets[1, :, EMPTY].sum() == 24


def test_the_word_tied_head_scores_cells_by_the_word_embeddings() -> None:
    import torch

    from scotoma.world_models.training import build_world_model
    from scotoma.world_models.vision import vision_head

    model, processor = build_world_model(seed=0)
    head = vision_head("words", model, processor.tokenizer)
    embeddings = model.get_input_embeddings().weight
    token = torch.randn(1, 1, embeddings.shape[1])
    words = [processor.tokenizer.convert_tokens_to_ids(w) for w in ("blue", "circle", "small")]
    by_hand = 10.0 * (token[0, 0] @ embeddings[words].sum(0))  # scale starts at 10, bias at 0
    logits = head(token)
    assert logits.shape == (1, 1, len(OBJECT_CLASSES))
    assert torch.allclose(logits[0, 0, _index("blue", "circle", 10)], by_hand, atol=1e-5)
    assert torch.allclose(logits[0, 0, EMPTY], torch.tensor(0.0))  # the empty vector starts at zero
    # tied, not copied: the loss reaches the embedding rows of the class's words, and only those words
    logits[0, 0, _index("blue", "circle", 10)].backward()
    touched = embeddings.grad.abs().sum(1).nonzero().flatten().tolist()
    assert sorted(touched) == sorted(words)
    assert not list(head.parameters()) or all(p is not embeddings for p in head.parameters())
    with pytest.raises(ValueError, match="choose one of"):
        vision_head("conv", model, processor.tokenizer)


@pytest.mark.integration
@pytest.mark.parametrize("head", ["words", "linear"])
def test_vision_loss_is_recorded_and_falls(tmp_path, head: str) -> None:
    import json

    from scotoma.world_models.curriculum import CurriculumConfig
    from scotoma.world_models.training import WorldTrainConfig, train_world_model

    config = WorldTrainConfig(
        batch_size=4, pool_batches=1, warmup_steps=1, lr=1e-3, eval_every_samples=0, log_every_steps=2,
        vision_head=head, curriculum=CurriculumConfig(describe_only_samples=100, images_per_sample=(1, 1)),
    )  # fmt: skip
    train_world_model(config, tmp_path / "run", samples=40, threads=1, log=lambda _: None)
    records = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    vision = [r["vision_loss"] for r in records if r["kind"] == "loss"]
    assert len(vision) == 5 and vision[-1] < vision[0] - 0.5  # from ~ln 28 = 3.3 towards the empty prior
    off = WorldTrainConfig(**{**config.__dict__, "vision_loss_weight": 0.0})
    train_world_model(off, tmp_path / "off", samples=8, threads=1, log=lambda _: None)
    records = [json.loads(line) for line in (tmp_path / "off" / "records.jsonl").read_text().splitlines()]
    assert all("vision_loss" not in r for r in records)
