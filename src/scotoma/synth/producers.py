"""What a synthesis run draws, and the functions that draw it: one `Producer` per kind of run.

`plan_run` settles everything that needs no model (the config, the keys of every index, the image sets
of a folder, the relation data), so a run directory can be opened and resumed before any model loads;
`make_producer` then loads the models (each behind the response cache) for the indices still to draw.
A producer maps a batch of indices to, per index, its samples or the SynthDrop that says why none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scotoma.cache import CachedModel, ResponseCache
from scotoma.engines import EngineConfig, close_model, open_embedder, open_model
from scotoma.models import Model, get_model
from scotoma.models.embed import MODEL_NAME
from scotoma.synth.image_sets import folder_image_sets, world_image_set
from scotoma.synth.records import ChainSample, PreferencePair
from scotoma.synth.s2h import S2HConfig, complete
from scotoma.synth.s2h_relations import LabelledRelation, read_relations, relation_pair
from scotoma.synth.s2h_world import S2HWorld
from scotoma.synth.similarity import Embedder, minilm_embedder
from scotoma.synth.stages import StageTimer, SynthDrop
from scotoma.synth.visc_model import STAGES, ModelChainConfig, ModelChainSynth, StageModels
from scotoma.synth.world_chains import WorldChainConfig, WorldChainSynth

KINDS = ("visc", "s2h")
Produced = list[ChainSample | PreferencePair] | SynthDrop
ModelLike = str | Model


@dataclass
class SynthPlan:
    """A run before any model is loaded.

    Attributes:
        kind: "visc" or "s2h".
        exact: world chains, no model.
        config: the kind's config.
        keys: the record key of every index, in order.
        models: the model spec(s) asked for, as spec.json records them.
        sets: (name, images) per index for model-backed chains on a folder.
        relations: the labelled relation data of S2H's L2.
    """

    kind: str
    exact: bool
    config: WorldChainConfig | ModelChainConfig | S2HConfig
    keys: list[str]
    models: Any = None
    sets: list[tuple[str, tuple[Any, ...]]] | None = None
    relations: list[LabelledRelation] = field(default_factory=list)


def _spec(thing: Any) -> str | None:
    return thing if thing is None or isinstance(thing, str) else str(getattr(thing, "spec", thing))


def plan_run(
    kind: str,
    config: Any,
    model_spec: ModelLike | None,
    stage_models: dict[str, ModelLike] | None,
    images_dir: str | Path | None,
    n: int,
    seed: int,
) -> SynthPlan:
    """Check the request and fix the keys (see `run_synth` for the arguments)."""
    if kind not in KINDS:
        raise ValueError(f"unknown synthesis kind {kind!r}; use visc or s2h")
    exact = kind == "visc" and model_spec is None and not stage_models and images_dir is None
    expected = WorldChainConfig if exact else ModelChainConfig if kind == "visc" else S2HConfig
    config = config or expected()
    if not isinstance(config, expected):
        raise ValueError(f"{'exact ' * exact}{kind} takes a {expected.__name__}, not {type(config).__name__}")
    if exact:
        return SynthPlan(kind, True, config, [f"visc-{seed}-{i}" for i in range(n)])
    if kind == "visc":
        roles = stage_models or {}
        unknown = set(roles) - set(STAGES)
        if unknown or (model_spec is None and set(roles) != set(STAGES)):
            raise ValueError(
                f"model-backed chains need a model (--model) or one per role {STAGES}, not {sorted(roles)}"
            )
        sets = folder_image_sets(images_dir, config.images_per_sample)[:n] if images_dir is not None else None
        keys = [f"visc-{name}" for name, _ in sets] if sets else [f"visc-world-{seed}-{i}" for i in range(n)]
        models = {role: _spec(roles.get(role, model_spec)) for role in STAGES}
        return SynthPlan(kind, False, config, keys, models, sets)
    if "L1" in config.levels and model_spec is None:
        raise ValueError(
            "L1 pairs reject the model's own wrong answers: pass a model spec (--model) or drop L1 from "
            "levels"
        )
    relations = read_relations(config.relations) if config.relations and "L2" in config.levels else []
    keys = [f"{config.level_of(i)}-{seed}-{i}" for i in range(n)] + [f"L2rel-{r.id}" for r in relations]
    return SynthPlan(kind, False, config, keys, _spec(model_spec), None, relations)


@dataclass
class Producer:
    """Draws batches: `produce(indices, keys)` gives per index its samples or a SynthDrop."""

    produce: Callable[[Sequence[int], Sequence[str]], list[Produced]]
    timer: StageTimer
    models: list[CachedModel] = field(default_factory=list)
    opened: list[Any] = field(default_factory=list)  # models and embedders it loaded on the engine

    def close(self) -> None:
        """Release what the engine holds for the models this producer loaded."""
        for model in self.opened:
            close_model(model)
        self.opened = []

    def cache_stats(self) -> dict[str, dict[str, int]]:
        """Hits and misses of the response cache, per model spec."""
        out: dict[str, dict[str, int]] = {}
        for model in self.models:
            stats = out.setdefault(model.spec, {"hits": 0, "misses": 0})
            stats["hits"] += model.hits
            stats["misses"] += model.misses
        return out


def make_producer(
    plan: SynthPlan,
    model_spec: ModelLike | None,
    stage_models: dict[str, ModelLike] | None,
    cache: ResponseCache,
    embed: Embedder | None,
    seed: int,
    engine: EngineConfig | str | None = None,
) -> Producer:
    """Load the models the plan needs (spec strings on `engine`) and return its producer."""
    wrapped: dict[Any, CachedModel] = {}
    opened: list[Any] = []

    def cached(spec: ModelLike) -> CachedModel:
        key = spec if isinstance(spec, str) else id(spec)
        if key not in wrapped:  # one model object per distinct spec, however many roles it plays
            if isinstance(spec, str):
                opened.append(open_model(spec, engine, get_model))
            wrapped[key] = CachedModel(opened[-1] if isinstance(spec, str) else spec, cache)
        return wrapped[key]

    if plan.exact:
        world = WorldChainSynth(plan.config, seed)  # type: ignore[arg-type]
        return Producer(
            lambda indices, keys: [_safe(lambda i=i: [world.sample(i)]) for i in indices], world.timer
        )
    if plan.kind == "visc":
        roles = stage_models or {}
        models = StageModels(*(cached(roles.get(role, model_spec)) for role in STAGES))  # type: ignore[arg-type]
        synth = ModelChainSynth(models, plan.config, seed)  # type: ignore[arg-type]
        k = plan.config.images_per_sample  # type: ignore[union-attr]

        def chains(indices: Sequence[int], keys: Sequence[str]) -> list[Produced]:
            images = [plan.sets[i][1] if plan.sets else world_image_set(seed, i, k)[1] for i in indices]
            return synth.run_batch([keys[i] for i in indices], images)  # type: ignore[return-value]

        return Producer(chains, synth.timer, list(wrapped.values()), opened)
    config: S2HConfig = plan.config  # type: ignore[assignment]
    model = cached(model_spec) if model_spec is not None else None
    if "L3" in config.levels and config.similarity_quantile is not None and embed is None:
        if EngineConfig.parse(engine).kind == "local":
            embed = minilm_embedder()
        else:  # the similarity filter's embeddings on the engine too
            opened.append(open_embedder(MODEL_NAME, engine))
            embed = opened[-1].encode
    world_pairs = S2HWorld(config, seed, l3_model=model is not None)
    relations = {f"L2rel-{r.id}": r for r in plan.relations}
    timer = StageTimer()

    def pairs(indices: Sequence[int], keys: Sequence[str]) -> list[Produced]:
        out: list[Any] = [None] * len(indices)
        drafts, where = [], []
        with timer.stage("draft") as stats:
            for j, index in enumerate(indices):
                key = keys[index]
                if key in relations:
                    out[j] = [relation_pair(relations[key], key)]
                    continue
                try:
                    drafts.append(world_pairs.draft(index, key.split("-", 1)[0]))
                    where.append(j)
                except SynthDrop as drop:
                    out[j] = drop
            stats.items += len(indices) - sum(isinstance(o, SynthDrop) for o in out)
            stats.failures += sum(isinstance(o, SynthDrop) for o in out)
        for j, made in zip(where, complete(drafts, model, config, timer, embed, seed), strict=True):
            out[j] = made if isinstance(made, SynthDrop) else [made]
        return out

    return Producer(pairs, timer, list(wrapped.values()), opened)


def _safe(draw: Callable[[], Produced]) -> Produced:
    try:
        return draw()
    except SynthDrop as drop:
        return drop
