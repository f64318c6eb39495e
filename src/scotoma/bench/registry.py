"""Benchmark names -> loaders with versions. A suite is just a function returning items:

    def load_my_suite(data=None, seed=0, **options) -> list[Item]: ...
    register_benchmark(BenchmarkInfo("my-suite", "1", load_my_suite, "what it measures"))

Loaders are called with keyword arguments only: `data` (a path, or None), `seed`, and any string options
given on the command line; they ignore what they do not use.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scotoma.bench.items import Benchmark, Item, Scorer, score_output
from scotoma.bench.jsonl_format import JSONL_VERSION, load_jsonl
from scotoma.bench.mmiu import MMIU_VERSION, load_mmiu
from scotoma.bench.mmra import MMRA_VERSION, load_mmra
from scotoma.bench.nlvr1 import NLVR1_VERSION, load_nlvr1_items
from scotoma.bench.world_mmra import WORLD_MMRA_VERSION, load_world_mmra
from scotoma.bench.world_suites import (
    WORLD_SUITES_VERSION,
    load_s2h_l1,
    load_s2h_l2,
    load_s2h_l3,
    load_world,
)

Loader = Callable[..., Iterable[Item]]


@dataclass(frozen=True)
class BenchmarkInfo:
    """A registered benchmark.

    Attributes:
        name: what users type, e.g. "mmra".
        version: bump when the loader, items or scoring change.
        load: the loader (see the module docstring).
        description: one line for listings.
        data_env: environment variable that may hold the data path when none is given.
        prompt_style: the prompt layout to ask it in (settings.PROMPT_STYLES).
        scorer: how outputs are scored; the default is rule-based extraction.
    """

    name: str
    version: str
    load: Loader
    description: str
    data_env: str | None = None
    prompt_style: str = "mmra-v1"
    scorer: Scorer = score_output


_REGISTRY: dict[str, BenchmarkInfo] = {}


def register_benchmark(info: BenchmarkInfo, replace: bool = False) -> None:
    """Add a benchmark; a second registration of a name fails unless `replace`."""
    if info.name in _REGISTRY and not replace:
        raise ValueError(f"benchmark {info.name!r} is already registered; pass replace=True to override it")
    _REGISTRY[info.name] = info


def benchmark_names() -> list[str]:
    """Registered names, sorted."""
    return sorted(_REGISTRY)


def benchmark_info(name: str) -> BenchmarkInfo:
    """The registration of `name`."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(benchmark_names())}")
    return _REGISTRY[name]


def split_benchmark_spec(spec: str) -> tuple[str, str | None]:
    """ "mmra" -> ("mmra", None); "jsonl:path/to/file.jsonl" -> ("jsonl", "path/to/file.jsonl")."""
    name, sep, data = spec.partition(":")
    return name, (data if sep and data else None)


def load_benchmark(
    spec: str, data: str | Path | None = None, seed: int = 0, limit: int | None = None, **options: Any
) -> Benchmark:
    """Load a registered benchmark.

    Args:
        spec: a name ("mmra"), or "name:PATH" as a shorthand for `data`.
        data: where the local copy lies; falls back to the benchmark's environment variable.
        seed: for generated suites.
        limit: keep the first `limit` items (for smoke runs).
        **options: passed on to the loader.
    """
    name, inline = split_benchmark_spec(spec)
    info = benchmark_info(name)
    params = inspect.signature(info.load).parameters.values()
    extra = [p.name for p in params if p.kind is p.VAR_KEYWORD]
    # a loader's **options are its own to check; **_ only swallows the shared ones (seed) and would
    # silently ignore an option it cannot use
    named = {p.name for p in params if p.kind is not p.VAR_KEYWORD}
    unknown = sorted(set(options) - named) if extra in ([], ["_"]) else []
    if unknown:
        raise ValueError(f"benchmark {name} takes no {', '.join(unknown)} option (e.g. --split is for nlvr1)")
    if data is None:
        data = inline or (os.environ.get(info.data_env) if info.data_env else None) or None
    items = list(info.load(data=data, seed=seed, **options))
    if limit is not None:
        items = items[:limit]
    if not items:
        raise ValueError(f"benchmark {name} loaded no items from {data}; check the path and its contents")
    return Benchmark(
        name=name,
        version=info.version,
        items=items,
        scorer=info.scorer,
        prompt_style=info.prompt_style,
        source=str(data) if data is not None else None,
    )


register_benchmark(
    BenchmarkInfo(
        "mmra",
        MMRA_VERSION,
        load_mmra,
        "MMRA: 11 two-image relation subtasks at image and entity level (local copy)",
        data_env="SCOTOMA_MMRA_PATH",
    )
)
register_benchmark(
    BenchmarkInfo(
        "mmiu",
        MMIU_VERSION,
        load_mmiu,
        "MMIU: 52 multi-image tasks in 7 relationship types (local copy of all.json + images)",
        data_env="SCOTOMA_MMIU_PATH",
    )
)
register_benchmark(
    BenchmarkInfo(
        "jsonl",
        JSONL_VERSION,
        load_jsonl,
        "your own questions: one JSON object per line (see scotoma.bench.jsonl_format)",
    )
)
register_benchmark(
    BenchmarkInfo(
        "nlvr1",
        NLVR1_VERSION,
        load_nlvr1_items,
        "NLVR1 dev: 989 true/false statements over 3 boxes; --permute images gives the 6 shipped orders",
        data_env="SCOTOMA_NLVR1_DIR",
        prompt_style="bare",
    )
)
register_benchmark(
    BenchmarkInfo(
        "world-mmra",
        WORLD_MMRA_VERSION,
        load_world_mmra,
        "shapes world, MMRA-like: 8 two-image relations at image and entity level, multiple choice (seeded)",
    )
)
for _name, _load, _what in (
    ("world", load_world, "every question family, 1-4 images, balanced answers"),
    ("world-s2h-l1", load_s2h_l1, "S2H level 1: a question about one named image among distractors"),
    ("world-s2h-l2", load_s2h_l2, "S2H level 2: visual arithmetic over named images"),
    ("world-s2h-l3", load_s2h_l3, "S2H level 3: global search (which image, how many images, each/some)"),
):
    register_benchmark(
        BenchmarkInfo(
            _name, WORLD_SUITES_VERSION, _load, f"shapes world (seeded): {_what}", prompt_style="bare"
        )
    )
