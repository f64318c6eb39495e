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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scotoma.bench.config import BenchConfig, BenchSpec
from scotoma.bench.items import Benchmark, Variant
from scotoma.bench.lmms_results import lmms_eval_results
from scotoma.bench.metrics import summarize
from scotoma.bench.oracle_captioner import ORACLE_SPEC
from scotoma.bench.permute import make_variants
from scotoma.bench.records import score_batch
from scotoma.bench.registry import load_benchmark
from scotoma.bench.settings import Describer, build_conversation, make_captioner, prompt_style
from scotoma.cache import CachedModel, ResponseCache
from scotoma.engines import close_model, open_model
from scotoma.judge import JudgeExtractor
from scotoma.judge.chain_inference import with_chain_instruction
from scotoma.models import Model, ModelError, TooManyImagesError, get_model
from scotoma.models.weights import weights_identity
from scotoma.progress import progress_bar
from scotoma.runlog import RunDir, write_json_atomic
from scotoma.types import ImageRef


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


LMMS_RESULTS = "results.json"  # lmms-eval's layout of the figures, beside metrics.json


def default_run_dir(benchmark: str, model: str, root: str | Path = "runs/bench") -> Path:
    """runs/bench/<benchmark>--<model spec made filename-safe>."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[:80] or "model"
    return Path(root) / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', benchmark)}--{slug}"


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


def run_bench(config: BenchConfig | None = None, out_dir: str | Path | None = None) -> BenchResult:
    """Run a benchmark on a model and write one run directory.

    Args:
        config: what to run (see BenchConfig); default `BenchConfig()`, the world suite on the built-in
            answerer.
        out_dir: the run directory; default runs/bench/<benchmark>--<model>.

    Raises:
        RunDirError: `out_dir` holds a run with another config (and config.overwrite is False).
        TooManyImagesError: a variant shows more images than the model accepts (before any model call).
        ModelError: every model call failed.
    """
    started = time.perf_counter()
    config = config or BenchConfig()
    if isinstance(config.benchmark, Benchmark):
        bench = config.benchmark
        if config.limit is not None:
            bench = dataclasses.replace(bench, items=bench.items[: config.limit])
    else:
        split = {"split": config.split} if config.split else {}
        bench = load_benchmark(config.benchmark, config.data, config.seed, config.limit, **split)
    model_spec, captioner_spec, judge_spec = config.model, config.captioner, config.judge
    spec = BenchSpec(
        benchmark=bench.name,
        benchmark_version=bench.version,
        source=bench.source,
        model=str(_spec_of(model_spec)),
        settings=config.settings,
        permute=config.permute,
        captioner=_spec_of(captioner_spec),
        judge=_spec_of(judge_spec),
        limit=config.limit,
        gen=config.gen,
        prompt_style=config.style or bench.prompt_style,
        chain=config.chain,
        split=config.split,
    )
    layout = prompt_style(spec.prompt_style)
    variants = make_variants(bench.items, spec.settings, spec.permute, config.seed)
    out_dir = Path(out_dir) if out_dir is not None else default_run_dir(bench.name, spec.model)
    # local weights by their digest: a retrained model in the same folder is another run, not a resume
    identity = {
        **spec.to_dict(),
        "weights": weights_identity(model_spec) if isinstance(model_spec, str) else None,
    }
    run = RunDir.open(out_dir, f"bench {bench.name}", identity, config.seed, overwrite=config.overwrite)
    hits = 0
    opened: list[Model] = []  # models this call loaded on the engine, released when it ends

    def on_engine(name: str) -> Model:
        opened.append(open_model(name, config.engine, get_model))
        return opened[-1]

    try:
        todo = run.todo(variants, lambda v: v.key)
        if todo:
            cache = config.cache
            response_cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
            model = CachedModel(
                on_engine(model_spec) if isinstance(model_spec, str) else model_spec,
                response_cache,
            )
            check_image_counts(model, todo.items)
            judge = None
            if judge_spec is not None:
                judge_model = on_engine(judge_spec) if isinstance(judge_spec, str) else judge_spec
                judge = JudgeExtractor(CachedModel(judge_model, response_cache))
            if isinstance(captioner_spec, str) and captioner_spec != ORACLE_SPEC:
                captioner_spec = on_engine(captioner_spec)
            captioner = make_captioner(captioner_spec, response_cache)
            descriptions = _describe_all(captioner, todo.items, config.batch_size) if captioner else None

            def answer(chunk: list[Variant]) -> tuple[list[dict[str, Any]], list[str]]:
                conversations = [build_conversation(v, layout, descriptions) for v in chunk]
                if config.chain:
                    conversations = [with_chain_instruction(c) for c in conversations]
                completions = model.generate(conversations, spec.gen)
                return score_batch(bench, chunk, completions, judge, config.chain, conversations)

            todo.work(answer, config.batch_size, f"bench {bench.name}")
            hits = model.hits
        if todo and todo.n_failed == len(todo):
            raise ModelError(
                f"every model call failed ({todo.n_failed} of {len(todo)} variants), e.g. "
                f"{todo.first_error}; check that {spec.model} is reachable and the spec is right, then run "
                "the same command again"
            )
        metrics = {
            **spec.to_dict(),
            "n_items": len(bench.items),
            "n_variants": len(variants),
            "n_missing": len(variants) - len(run.done),
            "n_failed": todo.n_failed,  # model calls that failed in this call (not written: a re-run retries)
            "first_error": todo.first_error,
            **summarize(list(run.records()), n_boot=config.n_boot, seed=config.seed),
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
        n_skipped=todo.n_skipped,
        n_new=len(todo) - todo.n_failed,
        n_errors=todo.n_failed,
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
