"""The bench runner: every (item, setting, image order, option order) variant, batched across items and
variants, through the response cache, into one resumable run directory.

    records.jsonl  one record per variant: raw output, extracted answer, parsed, correct, tokens
    metrics.json   per setting: accuracy with 95% intervals, by subtask / level / image count, sensitivity
    spec.json      what was asked: benchmark and version, model, settings, permutations, prompts, seed

A killed run loses at most the batch in flight; running the same command again skips what is written,
and answers already in the cache cost no model call. The model is loaded only when something is left.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scotoma.bench.items import SETTINGS, Benchmark, Variant
from scotoma.bench.lmms_results import lmms_eval_results
from scotoma.bench.metrics import summarize
from scotoma.bench.oracle_captioner import ORACLE_SPEC
from scotoma.bench.permute import PermuteConfig, make_variants
from scotoma.bench.records import score_batch
from scotoma.bench.registry import load_benchmark
from scotoma.bench.settings import (
    PROMPT_VERSION,
    Describer,
    build_conversation,
    make_captioner,
    prompt_style,
)
from scotoma.cache import CachedModel, ResponseCache
from scotoma.engines import EngineConfig, close_model, open_model
from scotoma.judge import EXTRACTOR_VERSION, JudgeExtractor
from scotoma.judge.chain_inference import DEFAULT_GEN as CHAIN_GEN
from scotoma.judge.chain_inference import with_chain_instruction
from scotoma.models import Model, ModelError, TooManyImagesError, get_model
from scotoma.models.weights import weights_identity
from scotoma.progress import progress_bar
from scotoma.runlog import RunDir, pending, write_json_atomic
from scotoma.types import GenConfig, ImageRef


@dataclass
class BenchResult:
    """What a bench run did.

    Attributes:
        run_dir: the run directory.
        metrics: the figures written to metrics.json.
        n_variants: variants the run asks in all.
        n_skipped: variants already in the run directory when it started (resume).
        n_new: variants answered and written by this call.
        n_errors: variants whose model call failed; not written, so a re-run retries them.
        cache_hits: answers taken from the response cache.
        seconds: wall time of this call.
    """

    run_dir: Path
    metrics: dict[str, Any]
    n_variants: int
    n_skipped: int
    n_new: int
    n_errors: int
    cache_hits: int
    seconds: float


@dataclass(frozen=True)
class BenchConfig:
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


LMMS_RESULTS = "results.json"  # lmms-eval's layout of the figures, beside metrics.json


def bench_gen(
    chain: bool = False, max_new_tokens: int | None = None, temperature: float = 0.0, seed: int = 0
) -> GenConfig:
    """How bench generates: greedy, 32 new tokens (512 in chain mode) unless told otherwise; the seed
    counts only when sampling (temperature > 0)."""
    base = CHAIN_GEN if chain else GenConfig(max_new_tokens=32)
    return dataclasses.replace(
        base,
        max_new_tokens=max_new_tokens or base.max_new_tokens,
        temperature=temperature,
        seed=seed if temperature > 0 else base.seed,
    )


def default_run_dir(benchmark: str, model: str, root: str | Path = "runs/bench") -> Path:
    """runs/bench/<benchmark>--<model spec made filename-safe>."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[:80] or "model"
    return Path(root) / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', benchmark)}--{slug}"


def _settings(settings: Sequence[str] | str) -> tuple[str, ...]:
    parts = settings.split(",") if isinstance(settings, str) else list(settings)
    out = tuple(dict.fromkeys(p.strip().upper() for p in parts if p.strip()))
    bad = [s for s in out if s not in SETTINGS]
    if bad or not out:
        raise ValueError(f"unknown input setting(s) {bad or settings!r}; use IQ, DQ, IDQ, QO")
    return out


def _spec_of(thing: Any) -> str | None:
    """What a model, captioner or judge is called in the run's spec: its spec string, or a function's name."""
    if thing is None or isinstance(thing, str):
        return thing
    if hasattr(thing, "spec"):
        return str(thing.spec)
    return (
        f"function:{getattr(thing, '__module__', '?')}.{getattr(thing, '__qualname__', type(thing).__name__)}"
    )


def _describe_all(captioner: Describer, variants: Sequence[Variant], batch_size: int) -> dict[str, str]:
    images: dict[str, ImageRef] = {}
    for variant in variants:
        if variant.setting in ("DQ", "IDQ"):
            images.update((image.sha256, image) for image in variant.images)
    todo = list(images.values())
    descriptions: dict[str, str] = {}
    with progress_bar("describe images", total=len(todo)) as bar:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            descriptions.update(zip((i.sha256 for i in chunk), captioner.describe(chunk), strict=True))
            bar.advance(len(chunk))
    return descriptions


def run_bench(
    benchmark: str | Benchmark,
    model_spec: str | Model,
    settings: Sequence[str] | str = ("IQ",),
    permute: str | Sequence[str] | PermuteConfig | None = None,
    out_dir: str | Path | None = None,
    captioner_spec: str | Model | Describer | Callable[[ImageRef], str] | None = None,
    seed: int = 0,
    *,
    data: str | Path | None = None,
    limit: int | None = None,
    judge_spec: str | Model | None = None,
    gen: GenConfig | None = None,
    batch_size: int = 64,
    max_image_orders: int | None = 6,
    style: str | None = None,
    cache: ResponseCache | str | Path | None = None,
    n_boot: int = 1000,
    overwrite: bool = False,
    chain: bool = False,
    split: str | None = None,
    engine: EngineConfig | str | None = None,
) -> BenchResult:
    """Run a benchmark on a model and write one run directory.

    Args:
        benchmark: a registered name ("mmra", "mmiu", "jsonl", or "name:PATH"), or a Benchmark.
        model_spec: the model under test: a spec string ("hf:...", "openai:...", ...) or a Model.
        settings: input settings, e.g. ("IQ", "QO") or "IQ,DQ".
        permute: "images", "options", "images,options", a PermuteConfig, or None for originals only.
        out_dir: the run directory; default runs/bench/<benchmark>--<model>.
        captioner_spec: describes images for DQ/IDQ: a spec string, a Model, a Describer, or a function
            ImageRef -> str. Required when DQ or IDQ is asked.
        seed: seeds loading of generated suites, the sampling of image orders and the bootstrap.
        data: where the benchmark's local copy lies (see each loader).
        limit: keep the first `limit` items.
        judge_spec: a model that reads the answer of outputs the rules leave unparsed (counted apart).
        gen: generation settings; default greedy with 32 new tokens.
        batch_size: variants per model call and per write to records.jsonl.
        max_image_orders: most image orders per item with permute=images; None means all.
        style: prompt layout (settings.PROMPT_STYLES); default the benchmark's own.
        cache: a ResponseCache or its file; default the user cache ($SCOTOMA_CACHE_DIR).
        n_boot: bootstrap replicates of the intervals.
        overwrite: delete what the run directory holds and start over.
        chain: ask in focus-chain style (paper 001): the chain instruction follows each question, the
            answer is read from the output's final answer span, the raw chain is logged; default 512
            new tokens.
        split: the split of a benchmark whose local copy has several (nlvr1: dev, train, test); None
            is the loader's default.
        engine: where the model calls of spec strings run (scotoma.engines): "local" (default), "ray" or
            an EngineConfig; the records are the same either way.
    """
    started = time.perf_counter()
    if isinstance(benchmark, Benchmark):
        bench = benchmark
    else:
        bench = load_benchmark(benchmark, data, seed, limit, **({"split": split} if split else {}))
    if isinstance(benchmark, Benchmark) and limit is not None:
        bench = dataclasses.replace(bench, items=bench.items[:limit])
    engine = EngineConfig.parse(engine)  # a bad engine string fails before the run directory is made
    gen = gen or bench_gen(chain)
    if gen.n != 1:
        raise ValueError("bench scores one completion per variant; use GenConfig(n=1)")
    chosen = _settings(settings)
    if not isinstance(permute, PermuteConfig):
        permute = PermuteConfig.parse(permute, max_image_orders)
    if {"DQ", "IDQ"} & set(chosen) and captioner_spec is None:
        raise ValueError(
            "settings DQ and IDQ need image descriptions: pass a captioner (a model spec or function)"
        )
    config = BenchConfig(
        benchmark=bench.name,
        benchmark_version=bench.version,
        source=bench.source,
        model=str(_spec_of(model_spec)),
        settings=chosen,
        permute=permute,
        captioner=_spec_of(captioner_spec),
        judge=_spec_of(judge_spec),
        limit=limit,
        gen=gen,
        prompt_style=style or bench.prompt_style,
        chain=chain,
        split=split,
    )
    layout = prompt_style(config.prompt_style)
    variants = make_variants(bench.items, chosen, permute, seed)
    out_dir = Path(out_dir) if out_dir is not None else default_run_dir(bench.name, config.model)
    # local weights by their digest: a retrained model in the same folder is another run, not a resume
    identity = {
        **config.to_dict(),
        "weights": weights_identity(model_spec) if isinstance(model_spec, str) else None,
    }
    run = RunDir.open(out_dir, f"bench {bench.name}", identity, seed, overwrite=overwrite)
    n_errors = hits = 0
    first_error: str | None = None
    opened: list[Model] = []  # models this call loaded on the engine, released when it ends

    def on_engine(spec: str) -> Model:
        opened.append(open_model(spec, engine, get_model))
        return opened[-1]

    try:
        todo = list(pending(variants, lambda v: v.key, run))
        n_skipped = len(variants) - len(todo)
        if todo:
            response_cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
            model = CachedModel(
                on_engine(model_spec) if isinstance(model_spec, str) else model_spec,
                response_cache,
            )
            check_image_counts(model, todo)
            judge = None
            if judge_spec is not None:
                judge_model = on_engine(judge_spec) if isinstance(judge_spec, str) else judge_spec
                judge = JudgeExtractor(CachedModel(judge_model, response_cache))
            if isinstance(captioner_spec, str) and captioner_spec != ORACLE_SPEC:
                captioner_spec = on_engine(captioner_spec)
            captioner = make_captioner(captioner_spec, response_cache)
            descriptions = _describe_all(captioner, todo, batch_size) if captioner else None
            with progress_bar(f"bench {bench.name}", total=len(todo)) as bar:
                for start in range(0, len(todo), batch_size):
                    chunk = todo[start : start + batch_size]
                    conversations = [build_conversation(v, layout, descriptions) for v in chunk]
                    if chain:
                        conversations = [with_chain_instruction(c) for c in conversations]
                    completions = model.generate(conversations, gen)
                    records, errors = score_batch(bench, chunk, completions, judge, chain, conversations)
                    run.append(records)
                    n_errors += errors
                    first_error = first_error or next(
                        (c.error for c in completions if c.finish_reason == "error"), None
                    )
                    bar.advance(len(chunk))
            hits = model.hits
        if todo and n_errors == len(todo):
            raise ModelError(
                f"every model call failed ({n_errors} of {n_errors} variants), e.g. {first_error}; check "
                f"that {config.model} is reachable and the spec is right, then run the same command again"
            )
        metrics = {
            **config.to_dict(),
            "n_items": len(bench.items),
            "n_variants": len(variants),
            "n_missing": len(variants) - len(run.done),
            "n_failed": n_errors,  # model calls that failed in this call (not written: a re-run retries)
            "first_error": first_error,
            **summarize(list(run.records()), n_boot=n_boot, seed=seed),
        }
        run.write_metrics(metrics)
        write_json_atomic(run.path / LMMS_RESULTS, lmms_eval_results(metrics))  # for the harnesses' readers
    except BaseException:
        run.close(failed=True)  # a run that wrote nothing yet is taken back
        raise
    finally:
        for loaded in opened:
            close_model(loaded)
        run.close()
    return BenchResult(
        run_dir=out_dir,
        metrics=metrics,
        n_variants=len(variants),
        n_skipped=n_skipped,
        n_new=len(todo) - n_errors,
        n_errors=n_errors,
        cache_hits=hits,
        seconds=time.perf_counter() - started,
    )


def check_image_counts(model: Model, variants: Sequence[Variant]) -> None:
    """Fail before any work when some variant shows more images than the model accepts."""
    if model.max_images is None:
        return
    shown = [v for v in variants if v.setting in ("IQ", "IDQ") and len(v.images) > model.max_images]
    if shown:
        raise TooManyImagesError(
            f"{len(shown)} variants show more than the {model.max_images} images {model.spec} accepts (e.g. "
            f"item {shown[0].item.id!r} with {len(shown[0].images)}); raise the model's max_images option, "
            "use the DQ or QO setting, or leave those items out"
        )
