"""`BenchConfig`: what `run_bench` is asked to do, with bench's defaults in one place; and `BenchSpec`, what
a run's results depend on once the benchmark is loaded (stored in spec.json and checked on resume)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scotoma.bench.items import SETTINGS, Benchmark
from scotoma.bench.permute import PermuteConfig
from scotoma.bench.settings import PROMPT_VERSION, Describer, prompt_style
from scotoma.cache import ResponseCache
from scotoma.engines import EngineConfig
from scotoma.judge import EXTRACTOR_VERSION
from scotoma.judge.chain_inference import DEFAULT_GEN as CHAIN_GEN
from scotoma.models import Model
from scotoma.types import GenConfig, ImageRef

MAX_NEW_TOKENS = 32  # an answer is a letter, a number or yes/no; chain mode takes CHAIN_GEN's 512


@dataclass(frozen=True)
class BenchConfig:
    """A bench run: what to ask which model, how, and where the answers come from.

    Strings are spec strings as on the command line; the model, captioner, judge, benchmark and cache may
    also be objects already built (tests, notebooks). Checked at construction: a bad value raises
    ValueError in one line that says what to give.

    Attributes:
        benchmark: a registered name ("mmra", "mmiu", "world", "jsonl", or "name:PATH"), or a Benchmark.
        model: the model under test: a spec string ("hf:...", "openai:...", ...) or a Model.
        settings: input settings, e.g. ("IQ", "QO") or "IQ,DQ"; stored upper-case, each once.
        permute: "images", "options", "images,options", a PermuteConfig, or None for originals only;
            stored as a PermuteConfig.
        max_image_orders: most image orders per item with permute=images; None means all.
        captioner: describes images for DQ/IDQ: a spec string, "oracle", a Model, a Describer, or a
            function ImageRef -> str. Required when DQ or IDQ is asked.
        judge: a model that reads the answer of outputs the rules leave unparsed (counted apart).
        data: where the benchmark's local copy lies (see each loader).
        split: the split of a benchmark whose local copy has several (nlvr1: dev, train, test); None is
            the loader's default.
        limit: keep the first `limit` items.
        style: prompt layout (settings.PROMPT_STYLES); None is the benchmark's own.
        chain: ask in focus-chain style (paper 001): the chain instruction follows each question, the
            answer is read from the output's final answer span, the raw chain is logged.
        max_new_tokens: tokens per answer; None is 32, or 512 with `chain`.
        temperature: sampling temperature; 0 is greedy (the protocol's).
        seed: seeds loading of generated suites, the sampling of image orders, the bootstrap, and the
            model's sampling when temperature > 0.
        batch_size: variants per request to the model and per write to records.jsonl. A backend with a
            batch size of its own splits each request into chunks of that size (hf: 16 conversations per
            `generate`, set with hf:PATH?batch_size=N), so the smaller of the two is what runs at once.
        n_boot: bootstrap replicates of the confidence intervals (0: none).
        cache: a ResponseCache or its file; None is the user cache ($SCOTOMA_CACHE_DIR).
        engine: where the model calls of spec strings run (scotoma.engines): "local", "ray" or an
            EngineConfig; the records are the same either way. Stored as an EngineConfig.
        overwrite: delete what the run directory holds and start over.
    """

    benchmark: str | Benchmark = "world"
    model: str | Model = "builtin:answerer"
    settings: Sequence[str] | str = ("IQ",)
    permute: str | Sequence[str] | PermuteConfig | None = None
    max_image_orders: int | None = 6
    captioner: str | Model | Describer | Callable[[ImageRef], str] | None = None
    judge: str | Model | None = None
    data: str | Path | None = None
    split: str | None = None
    limit: int | None = None
    style: str | None = None
    chain: bool = False
    max_new_tokens: int | None = None
    temperature: float = 0.0
    seed: int = 0
    batch_size: int = 64
    n_boot: int = 1000
    cache: ResponseCache | str | Path | None = None
    engine: EngineConfig | str | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        at_least = {
            "batch_size": (self.batch_size, 1),
            "n_boot": (self.n_boot, 0),
            "limit": (self.limit, 1),
            "max_image_orders": (self.max_image_orders, 1),
            "max_new_tokens": (self.max_new_tokens, 1),
        }
        for name, (value, low) in at_least.items():
            if value is not None and value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be at least 0 (0 is greedy), got {self.temperature}")
        settings = _settings(self.settings)
        if {"DQ", "IDQ"} & set(settings) and self.captioner is None:
            raise ValueError(
                "settings DQ and IDQ need image descriptions: pass a captioner (a model spec or function)"
            )
        if self.style is not None:
            prompt_style(self.style)  # an unknown style names the known ones
        permute = self.permute
        if not isinstance(permute, PermuteConfig):
            permute = PermuteConfig.parse(permute, self.max_image_orders)
        object.__setattr__(self, "settings", settings)
        object.__setattr__(self, "permute", permute)
        object.__setattr__(self, "engine", EngineConfig.parse(self.engine))

    @property
    def gen(self) -> GenConfig:
        """How bench generates: greedy, 32 new tokens (512 in chain mode) unless told otherwise; the seed
        counts only when sampling."""
        base = CHAIN_GEN if self.chain else GenConfig(max_new_tokens=MAX_NEW_TOKENS)
        return dataclasses.replace(
            base,
            max_new_tokens=self.max_new_tokens or base.max_new_tokens,
            temperature=self.temperature,
            seed=self.seed if self.temperature > 0 else base.seed,
        )


def _settings(settings: Sequence[str] | str) -> tuple[str, ...]:
    parts = settings.split(",") if isinstance(settings, str) else list(settings)
    out = tuple(dict.fromkeys(p.strip().upper() for p in parts if p.strip()))
    bad = [s for s in out if s not in SETTINGS]
    if bad or not out:
        raise ValueError(f"unknown input setting(s) {bad or settings!r}; use IQ, DQ, IDQ, QO")
    return out


@dataclass(frozen=True)
class BenchSpec:
    """The settings that decide a run's results; stored in spec.json and checked on resume."""

    benchmark: str
    benchmark_version: str
    source: str | None
    model: str
    settings: tuple[str, ...]
    permute: PermuteConfig
    captioner: str | None
    judge: str | None
    limit: int | None
    gen: GenConfig
    prompt_style: str
    chain: bool = False
    prompt_version: str = PROMPT_VERSION
    extractor_version: str = EXTRACTOR_VERSION
    split: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # split only when asked: runs made before it existed keep resuming
        return {
            k: getattr(self, k) for k in self.__dataclass_fields__ if k != "split" or self.split is not None
        }
