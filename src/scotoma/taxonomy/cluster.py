"""Stage 2b: cluster the deduplicated primitive skills into topics with BERTopic (paper 000, section 3.3).

BERTopic runs on precomputed embeddings (all-MiniLM-L6-v2 by default, so nothing is downloaded), with
UMAP's `random_state` fixed: the same pool, embeddings and seed give the same topics on every run.

The smallest topic defaults to a sixtieth of the pool, between 3 and 10: BERTopic's default of 10 is
made for pools of thousands of phrases; on the world's pools (250-350 distinct phrases after dedupe)
10 merged the 22 exact skills into 4-9 topics, while 3-5 recovered them best (see `stand_in`).

Outliers are never silently lost. HDBSCAN leaves some phrases in no cluster (topic -1); with
`outliers="reassign"` (the default) each joins the topic whose centroid (mean unit embedding) is most
similar to it, and the reassignments are returned and reported; with `outliers="keep"` they stay in
topic -1, which the taxonomy reports as its own "unclustered" skill.

`method="agglomerative"` (average linkage on cosine distance, SciPy) is the small, fast,
deterministic alternative; clusters smaller than `min_cluster_size` are its outliers. BERTopic's UMAP
needs a pool of some size: below `min_docs_bertopic` phrases the agglomerative method is used instead,
and `Clusters.method` says so.

Topic keywords are computed here for both methods with BERTopic's class-based TF-IDF,
W(t, c) = tf(t, c) * log(1 + A / f(t)) (A: mean words per topic, f(t): frequency of t over all topics),
with each phrase weighted by how many questions named it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from scotoma.errors import MissingExtra

STOP_WORDS = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "its", "of")
) | frozenset(("on", "or", "the", "their", "to", "whether", "which", "with"))


@dataclass(frozen=True)
class ClusterConfig:
    """How the pool is clustered. Help strings are the CLI's."""

    method: Literal["bertopic", "agglomerative"] = field(
        default="bertopic", metadata={"help": "bertopic (the paper's) or agglomerative (small pools, tests)"}
    )
    seed: int = field(default=0, metadata={"help": "UMAP random_state: fixes the topics"})
    min_cluster_size: int | None = field(
        default=None,
        metadata={"help": "smallest topic (HDBSCAN min_cluster_size); default: pool size / 60, within 3..10"},
    )
    n_neighbors: int = field(default=15, metadata={"help": "UMAP n_neighbors"})
    n_components: int = field(default=5, metadata={"help": "UMAP output dimensions"})
    selection: Literal["eom", "leaf"] = field(
        default="eom", metadata={"help": "HDBSCAN cluster_selection_method: eom (fewer, larger) or leaf"}
    )
    distance_threshold: float = field(
        default=0.5, metadata={"help": "agglomerative: cosine distance at which clusters stop merging"}
    )
    outliers: Literal["reassign", "keep"] = field(
        default="reassign", metadata={"help": "reassign outliers to the nearest topic, or keep them apart"}
    )
    min_docs_bertopic: int = field(
        default=40, metadata={"help": "below this many phrases, cluster agglomeratively instead"}
    )
    n_keywords: int = field(default=8, metadata={"help": "c-TF-IDF keywords kept per topic"})

    def __post_init__(self) -> None:
        if self.method not in ("bertopic", "agglomerative"):
            raise ValueError(f"unknown clustering method {self.method!r}; use bertopic or agglomerative")
        if self.selection not in ("eom", "leaf"):
            raise ValueError(f"selection must be 'eom' or 'leaf', not {self.selection!r}")
        if self.outliers not in ("reassign", "keep"):
            raise ValueError(f"outliers must be 'reassign' or 'keep', not {self.outliers!r}")
        if self.min_cluster_size is not None and self.min_cluster_size < 2:
            raise ValueError("min_cluster_size must be at least 2 (or None for the pool-size default)")

    def smallest_topic(self, n_docs: int) -> int:
        """`min_cluster_size`, or for None: n_docs / 60 clipped to 3..10 (BERTopic's 10 from 600 phrases)."""
        return self.min_cluster_size if self.min_cluster_size is not None else min(10, max(3, n_docs // 60))


@dataclass
class Clusters:
    """Topics of the pool.

    Attributes:
        topic: phrase -> topic id, 0 the largest topic; -1 only for outliers kept apart.
        keywords: topic id -> its c-TF-IDF keywords, best first.
        method: the method actually used ("agglomerative" when the pool was too small for BERTopic, or
            "agglomerative (bertopic found no topic)" when HDBSCAN left every phrase an outlier).
        n_outliers: phrases the clustering left in no topic, before they were handled.
        reassigned: outlier phrase -> the topic it joined (empty with outliers="keep").
    """

    topic: dict[str, int]
    keywords: dict[int, list[str]]
    method: str
    n_outliers: int
    reassigned: dict[str, int]


def _bertopic(docs: Sequence[str], embeddings: np.ndarray, config: ClusterConfig) -> list[int]:
    try:
        from bertopic import BERTopic
        from hdbscan import HDBSCAN
        from umap import UMAP
    except ImportError as error:
        raise MissingExtra(
            "the taxonomy's topic modelling (BERTopic) needs bertopic, umap-learn and hdbscan",
            "taxonomy",
            "ClusterConfig(method='agglomerative') in Python",
        ) from error
    umap = UMAP(
        n_neighbors=min(config.n_neighbors, len(docs) - 1),
        n_components=config.n_components,
        min_dist=0.0,
        metric="cosine",
        random_state=config.seed,
    )
    hdbscan = HDBSCAN(
        min_cluster_size=config.smallest_topic(len(docs)),
        metric="euclidean",
        cluster_selection_method=config.selection,
        prediction_data=False,
    )
    model = BERTopic(umap_model=umap, hdbscan_model=hdbscan, calculate_probabilities=False, verbose=False)
    topics, _ = model.fit_transform(list(docs), embeddings=np.asarray(embeddings, dtype=np.float64))
    return [int(t) for t in topics]


def _agglomerative(embeddings: np.ndarray, config: ClusterConfig) -> list[int]:
    try:
        from scipy.cluster.hierarchy import fcluster, linkage
    except ImportError as error:
        raise ImportError("agglomerative clustering needs SciPy: pip install 'scotoma[taxonomy]'") from error

    if len(embeddings) < 2:
        return [0] * len(embeddings)
    tree = linkage(np.asarray(embeddings, dtype=np.float64), method="average", metric="cosine")
    labels = fcluster(tree, t=config.distance_threshold, criterion="distance").tolist()
    sizes = Counter(labels)
    smallest = config.smallest_topic(len(embeddings))
    return [int(label) if sizes[label] >= smallest else -1 for label in labels]


def _renumber(docs: Sequence[str], raw: Sequence[int]) -> list[int]:
    """Topic ids by size, largest first (ties: the topic whose first phrase comes first); -1 stays."""
    sizes = Counter(t for t in raw if t != -1)
    first = {t: i for i, t in reversed(list(enumerate(raw)))}
    order = sorted(sizes, key=lambda t: (-sizes[t], first[t]))
    new = {old: i for i, old in enumerate(order)}
    return [new.get(t, -1) for t in raw]


def centroids(topics: Sequence[int], embeddings: np.ndarray) -> dict[int, np.ndarray]:
    """Topic -> unit mean of its members' embeddings (outliers excluded)."""
    out = {}
    for topic in sorted(set(topics) - {-1}):
        mean = embeddings[[i for i, t in enumerate(topics) if t == topic]].mean(axis=0)
        out[topic] = mean / (np.linalg.norm(mean) or 1.0)
    return out


def reassign_outliers(topics: Sequence[int], embeddings: np.ndarray) -> list[int]:
    """Each -1 joins the topic with the most similar centroid (ties: the lower topic id)."""
    centres = centroids(topics, embeddings)
    if not centres:
        return list(topics)
    ids = list(centres)
    matrix = np.stack([centres[t] for t in ids])
    return [t if t != -1 else ids[int(np.argmax(matrix @ embeddings[i]))] for i, t in enumerate(topics)]


def ctfidf_keywords(
    docs: Sequence[str], topics: Sequence[int], weights: Mapping[str, int] | None = None, top: int = 8
) -> dict[int, list[str]]:
    """Topic -> its `top` words by class-based TF-IDF (see the module docstring); -1 included if present."""
    tf: dict[int, Counter[str]] = defaultdict(Counter)
    for doc, topic in zip(docs, topics, strict=True):
        weight = (weights or {}).get(doc, 1)
        for word in re.findall(r"[a-z0-9]+", doc.lower()):
            if len(word) > 1 and word not in STOP_WORDS:
                tf[topic][word] += weight
    if not tf:
        return {}
    frequency: Counter[str] = Counter()
    for counts in tf.values():
        frequency.update(counts)
    mean_words = sum(sum(c.values()) for c in tf.values()) / len(tf)
    out = {}
    for topic, counts in sorted(tf.items()):
        score = {w: n * np.log(1 + mean_words / frequency[w]) for w, n in counts.items()}
        out[topic] = sorted(score, key=lambda w: (-score[w], w))[:top]
    return out


def cluster(
    docs: Sequence[str],
    embeddings: np.ndarray,
    config: ClusterConfig | None = None,
    weights: Mapping[str, int] | None = None,
) -> Clusters:
    """Cluster the deduplicated phrases `docs` (rows of `embeddings` are their unit embeddings).

    Args:
        docs: distinct phrases.
        embeddings: one unit row per phrase.
        config: method, seed and outlier handling.
        weights: phrase -> questions naming it, for the keywords.
    """
    config = config or ClusterConfig()
    docs = list(docs)
    if len(set(docs)) != len(docs):
        raise ValueError("cluster() takes distinct phrases; deduplicate them first")
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if not docs:
        return Clusters({}, {}, config.method, 0, {})
    method = config.method
    if method == "bertopic" and len(docs) < config.min_docs_bertopic:
        method = "agglomerative"
    raw = _bertopic(docs, embeddings, config) if method == "bertopic" else _agglomerative(embeddings, config)
    if all(t == -1 for t in raw) and method == "bertopic":  # HDBSCAN found no dense region at all
        method = "agglomerative (bertopic found no topic)"
        raw = _agglomerative(embeddings, config)
    if all(t == -1 for t in raw):  # no group reaches min_cluster_size: the pool is one topic
        raw = [0] * len(raw)
    topics = _renumber(docs, raw)
    n_outliers = topics.count(-1)
    reassigned: dict[str, int] = {}
    if config.outliers == "reassign" and n_outliers:
        new = reassign_outliers(topics, embeddings)
        reassigned = {doc: t for doc, old, t in zip(docs, topics, new, strict=True) if old == -1}
        topics = new
    keywords = ctfidf_keywords(docs, topics, weights, config.n_keywords)
    return Clusters(dict(zip(docs, topics, strict=True)), keywords, method, n_outliers, reassigned)
