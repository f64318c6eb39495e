"""Engines: where a job's model calls run.

`open_model(spec, engine)` gives the Model a job asks: with the local engine the model itself, loaded in
this process; with the ray engine a RayModelPool whose replicas each load the same spec. Jobs wrap either
in the response cache and write their run directory on the driver, so the records are the same.
"""

from __future__ import annotations

from collections.abc import Callable

from scotoma.engines.config import ENGINE_HELP, KINDS, EngineConfig
from scotoma.models.base import Model
from scotoma.models.embed import Embedder, get_embedder
from scotoma.models.registry import get_model


def open_model(
    spec: str, engine: EngineConfig | str | None = None, load: Callable[[str], Model] = get_model
) -> Model:
    """The model behind `spec` on `engine` (default local); `load` is how a replica loads it."""
    config = EngineConfig.parse(engine)
    if config.kind == "local":
        return load(spec)
    from scotoma.engines.ray_pool import RayModelPool

    return RayModelPool(spec, load, config)


def open_embedder(name: str, engine: EngineConfig | str | None = None) -> Embedder:
    """The sentence embedder `name` (scotoma.models.embed.get_embedder) on `engine` (default local)."""
    config = EngineConfig.parse(engine)
    if config.kind == "local":
        return get_embedder(name)
    from scotoma.engines.ray_pool import RayEmbedderPool

    return RayEmbedderPool(name, get_embedder, config)


def close_model(model: object) -> None:
    """Release what an engine holds for `model` or an embedder (a pool's actors); local ones need nothing."""
    from scotoma.engines.ray_pool import RayPool

    if isinstance(model, RayPool):
        model.close()


__all__ = ["ENGINE_HELP", "KINDS", "EngineConfig", "close_model", "open_embedder", "open_model"]
