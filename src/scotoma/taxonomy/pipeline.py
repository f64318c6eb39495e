"""The failure taxonomy, end to end (paper 000, Figure 4): primitives -> pooled dedupe -> BERTopic topics ->
LLM-named, merged skills -> LLM meta-skills; written as a run directory that `scotoma report` reads.

The run directory (command "taxonomy") holds one record per distinct question (key: `question_id`, so
any run's question finds its skills by its text and image hashes), with its primitives, skills and
meta-skills; metrics.json holds the taxonomy (skills with their meta-skill, size, keywords and example
primitives), the counts of every stage (outliers, merges, failures: nothing disappears silently), stage
timings and, when the questions carry exact skills, how well they were recovered;
question_embeddings.npz holds the questions' embeddings (the report's semantic diversity per meta-skill).

Caching per stage: model calls go through the response cache, embeddings and the dedupe + clustering
result through `StageStore`. Adding a method asks the primitive model about its new questions only,
embeds only new phrases, re-clusters the (changed) pool, and re-asks names only of topics whose
examples changed.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scotoma.cache import CachedModel, ResponseCache
from scotoma.engines import EngineConfig, close_model, open_embedder, open_model
from scotoma.models import Model, get_model
from scotoma.models.embed import MODEL_NAME, Embedder
from scotoma.taxonomy.cluster import Clusters, cluster
from scotoma.taxonomy.dedupe import Dedupe, dedupe, pool_primitives
from scotoma.taxonomy.labels import SkillLabels, merge_labels, name_topics, question_skills
from scotoma.taxonomy.meta import group_skills
from scotoma.taxonomy.primitives import TaxonomyQuestion, identify_primitives
from scotoma.taxonomy.recovery import question_recovery
from scotoma.taxonomy.result import Taxonomy, TaxonomyConfig, write_taxonomy_run
from scotoma.taxonomy.store import CachedEmbedder, StageStore, content_key


def _model(model: Model | str, cache: ResponseCache, engine: EngineConfig, opened: list[Any]) -> CachedModel:
    if isinstance(model, str):
        opened.append(open_model(model, engine, get_model))
        model = opened[-1]
    return CachedModel(model, cache)


def _cluster_stage(
    pool: Counter[str], embedder: CachedEmbedder, config: TaxonomyConfig, store: StageStore
) -> tuple[Dedupe, Clusters, bool]:
    """Dedupe and cluster the pool, or read the result stored for exactly this pool and these settings."""
    key = content_key(
        "cluster-v1", sorted(pool.items()), embedder.name, config.dedupe_threshold, config.cluster
    )
    stored = store.get("cluster", key)
    if stored is not None:
        merged = Dedupe(stored["representative"], stored["representatives"], stored["counts"])
        topics = Clusters(
            stored["topic"],
            {int(t): k for t, k in stored["keywords"].items()},
            stored["method"],
            stored["n_outliers"],
            stored["reassigned"],
        )
        return merged, topics, True
    phrases = sorted(pool)
    vectors = dict(zip(phrases, embedder.encode(phrases), strict=True)) if phrases else {}
    merged = dedupe(pool, vectors, config.dedupe_threshold)
    reps = merged.representatives
    matrix = np.stack([vectors[r] for r in reps]) if reps else np.zeros((0, 1), dtype=np.float32)
    topics = cluster(reps, matrix, config.cluster, merged.counts)
    store.put("cluster", key, {**dataclasses.asdict(merged), **dataclasses.asdict(topics)})
    return merged, topics, False


def build_taxonomy(
    questions: Sequence[TaxonomyQuestion],
    out_dir: str | Path,
    *,
    primitive_model: Model | str,
    label_model: Model | str,
    meta_model: Model | str | None = None,
    embedder: Embedder | None = None,
    config: TaxonomyConfig | None = None,
    cache: ResponseCache | str | Path | None = None,
    store: StageStore | str | Path | None = None,
    engine: EngineConfig | str | None = None,
) -> Taxonomy:
    """Build the two-level skill taxonomy of `questions` (valid questions of all compared methods).

    Args:
        questions: the valid questions, pooled across methods; the same question (text and images) twice
            is analysed once.
        out_dir: the taxonomy's run directory (replaced if it exists: it is derived from its inputs).
        primitive_model: the VLM listing primitive skills (a backend or spec string).
        label_model: the LLM naming topics.
        meta_model: the LLM grouping skills into meta-skills (default: `label_model`).
        embedder: phrase and question embeddings (default: all-MiniLM-L6-v2, offline).
        config: pipeline settings.
        cache: the response cache (a ResponseCache or its file; default: the shared one).
        store: the stage cache (a StageStore or its file; default: beside the response cache).
        engine: where the model calls of spec strings and the default embedder run (scotoma.engines):
            "local" (default), "ray" or an EngineConfig.
    """
    engine = EngineConfig.parse(engine)
    opened: list[Any] = []  # models and embedders this call opened on the engine, released at the end
    try:
        return _build(
            questions,
            out_dir,
            primitive_model,
            label_model,
            meta_model,
            embedder,
            config,
            cache,
            store,
            engine,
            opened,
        )
    finally:
        for held in opened:
            close_model(held)


def _build(
    questions: Sequence[TaxonomyQuestion],
    out_dir: str | Path,
    primitive_model: Model | str,
    label_model: Model | str,
    meta_model: Model | str | None,
    embedder: Embedder | None,
    config: TaxonomyConfig | None,
    cache: ResponseCache | str | Path | None,
    store: StageStore | str | Path | None,
    engine: EngineConfig,
    opened: list[Any],
) -> Taxonomy:
    config = config or TaxonomyConfig()
    started = time.perf_counter()
    responses = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
    stages = store if isinstance(store, StageStore) else StageStore(store)
    if embedder is None:
        opened.append(open_embedder(MODEL_NAME, engine))
        embedder = opened[-1]
    embed = CachedEmbedder(embedder, stages)
    primitive = _model(primitive_model, responses, engine, opened)
    labeller = _model(label_model, responses, engine, opened)
    grouper = _model(meta_model, responses, engine, opened) if meta_model is not None else labeller
    unique: dict[str, TaxonomyQuestion] = {}
    methods: dict[str, list[str]] = {}
    for q in questions:
        unique.setdefault(q.id, q)
        methods.setdefault(q.id, [])
        if q.method and q.method not in methods[q.id]:
            methods[q.id].append(q.method)
    timings: dict[str, float] = {}

    clock = time.perf_counter()
    found = identify_primitives(
        primitive,
        list(unique.values()),
        config.primitives_prompt,
        config.max_primitives,
        config.with_images,
        config.batch_size,
    )
    primitives = found.by_question
    timings["primitives"] = time.perf_counter() - clock

    clock = time.perf_counter()
    pool = pool_primitives(primitives)
    merged, topics, cluster_cached = _cluster_stage(pool, embed, config, stages)
    timings["dedupe_and_cluster"] = time.perf_counter() - clock

    clock = time.perf_counter()
    topic_of = {p: topics.topic[merged.representative[p]] for p in pool}
    sizes = Counter(t for phrases in primitives.values() for t in {topic_of[p] for p in phrases})
    examples: dict[int, list[str]] = {}
    for rep in sorted(merged.representatives, key=lambda r: (-merged.counts[r], r)):
        examples.setdefault(topics.topic[rep], []).append(rep)
    examples = {t: reps[: config.label_examples] for t, reps in examples.items()}
    raw, fallbacks = name_topics(labeller, examples, topics.keywords, config.labels_prompt)
    skill_by_topic = merge_labels(raw, sizes, embed, config.label_merge_threshold)
    labels = SkillLabels(skill_by_topic, raw, fallbacks)
    skills = question_skills(primitives, merged.representative, topics.topic, labels.skill)
    timings["labels"] = time.perf_counter() - clock

    clock = time.perf_counter()
    skill_sizes = Counter(s for names in skills.values() for s in names)
    metas = group_skills(
        grouper, sorted(skill_sizes, key=lambda s: (-skill_sizes[s], s)), config.n_meta, config.meta_prompt
    )
    timings["meta"] = time.perf_counter() - clock

    clock = time.perf_counter()
    ids = sorted(unique)
    question_vectors = embed.encode([unique[i].question for i in ids]) if ids else np.zeros((0, 1))
    timings["question_embeddings"] = time.perf_counter() - clock
    exact = {i: list(unique[i].exact_skills) for i in ids if unique[i].exact_skills}
    recovery = question_recovery(exact, skills) if exact else None
    counts = {
        "questions": len(unique),
        "questions_failed": len(found.failed),
        "questions_without_primitives": len(found.empty),
        "primitive_occurrences": sum(len(p) for p in primitives.values()),
        "unique_primitives": len(pool),
        "after_dedupe": len(merged.representatives),
        "topics": len(set(topics.topic.values()) - {-1}),
        "outliers": topics.n_outliers,
        "outliers_reassigned": len(topics.reassigned),
        "outliers_kept": sum(t == -1 for t in topics.topic.values()),
        "label_fallbacks": len(labels.fallbacks),
        "labels_merged": labels.n_merged,
        "skills": len(skill_sizes),
        "meta_skills": len(set(metas.meta_of.values())),
        "skills_unassigned_to_meta": len(metas.unassigned),
        "primitive_model_calls": primitive.misses,
        "phrases_embedded": embed.computed,
        "cluster_from_cache": int(cluster_cached),
    }
    timings["total"] = time.perf_counter() - started
    skill_of = {p: labels.skill[topic_of[p]] for p in pool}
    taxonomy = Taxonomy(
        Path(out_dir), unique, primitives, skills, metas.meta_of, skill_of, counts, timings, recovery
    )
    write_taxonomy_run(
        taxonomy,
        methods,
        topics,
        labels,
        metas,
        question_vectors,
        ids,
        embed.name,
        config,
        (primitive.spec, labeller.spec, grouper.spec),
    )
    return taxonomy
