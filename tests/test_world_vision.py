"""Dense visual supervision of the world models: cell targets by hand, and the loss through a real model."""

from __future__ import annotations

import pytest

from scotoma.train.world_vision import EMPTY, OBJECT_CLASSES, cell_targets
from scotoma.world.scene import Box, Scene, WorldObject


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


@pytest.mark.integration
def test_vision_loss_is_recorded_and_falls(tmp_path) -> None:
    import json

    from scotoma.train.world_curriculum import CurriculumConfig
    from scotoma.train.world_models import WorldTrainConfig, train_world_model

    config = WorldTrainConfig(
        batch_size=4, pool_batches=1, warmup_steps=1, lr=3e-3, eval_every_samples=0, log_every_steps=2,
        curriculum=CurriculumConfig(describe_only_samples=100, images_per_sample=(1, 1)),
    )  # fmt: skip
    train_world_model(config, tmp_path / "run", samples=40, threads=1, log=lambda _: None)
    records = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    vision = [r["vision_loss"] for r in records if r["kind"] == "loss"]
    assert len(vision) == 5 and vision[-1] < vision[0] - 0.5  # from ~ln 28 = 3.3 towards the empty prior
    off = WorldTrainConfig(**{**config.__dict__, "vision_loss_weight": 0.0})
    train_world_model(off, tmp_path / "off", samples=8, threads=1, log=lambda _: None)
    records = [json.loads(line) for line in (tmp_path / "off" / "records.jsonl").read_text().splitlines()]
    assert all("vision_loss" not in r for r in records)
