"""`run_synth`: one synthesis run into one run directory, with every export format and its metrics.

    out/
      spec.json  records.jsonl  metrics.json     the run (scotoma.runlog): resumable, one record per index
      images/<sha256>.png                        every image once
      trl/ llamafactory/ swift/ easyr1/          the exports (scotoma.synth.export), re-checked on write

- `run_synth("visc", WorldChainConfig(), out)`: exact chains from the world, no model needed;
- `run_synth("visc", ModelChainConfig(), out, "hf:...", images_dir=...)`: the four stages played by
  models on your image sets (or on world scenes when no folder is given);
- `run_synth("s2h", S2HConfig(), out, "builtin:answerer")`: L1/L2/L3 preference pairs; L1 needs the
  model, whose wrong answers become the rejected responses.

Every model call goes through the response cache. A re-run of the same request skips the indices
already written and loads no model when none is left; a larger `n` extends the run. `metrics.json`
reports record counts, drops by stage and reason, cache hits, and each stage's time and throughput.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scotoma.cache import ResponseCache
from scotoma.engines import EngineConfig
from scotoma.runlog import RunDir
from scotoma.synth.export import ExportConfig, export_all, store_images
from scotoma.synth.producers import ModelLike, Producer, make_producer, plan_run
from scotoma.synth.prompting import PROMPTS
from scotoma.synth.records import ChainSample, dropped_record, read_record
from scotoma.synth.s2h import S2HConfig
from scotoma.synth.similarity import Embedder
from scotoma.synth.stages import StageTimer, SynthDrop
from scotoma.synth.visc_model import ModelChainConfig
from scotoma.synth.world_chains import WorldChainConfig


@dataclass
class SynthResult:
    """What a synthesis run did.

    Attributes:
        run_dir: the run directory.
        metrics: what metrics.json holds.
        n_new: indices drawn by this call (each wrote its samples or a dropped record).
        n_skipped: indices already written when it started (resume).
        seconds: wall time of this call.
    """

    run_dir: Path
    metrics: dict[str, Any]
    n_new: int
    n_skipped: int
    seconds: float


def run_synth(
    kind: str,
    config: WorldChainConfig | ModelChainConfig | S2HConfig | None = None,
    out_dir: str | Path = "runs/synth",
    model_spec: ModelLike | None = None,
    *,
    n: int = 100,
    seed: int = 0,
    images_dir: str | Path | None = None,
    stage_models: dict[str, ModelLike] | None = None,
    cache: ResponseCache | str | Path | None = None,
    embed: Embedder | None = None,
    export: ExportConfig | None = None,
    batch_size: int = 32,
    overwrite: bool = False,
    engine: EngineConfig | str | None = None,
) -> SynthResult:
    """Synthesize `n` samples of `kind` ("visc" or "s2h") into `out_dir`, then export every format.

    Args:
        kind: "visc" (focus-centric chains) or "s2h" (preference pairs).
        config: WorldChainConfig (exact chains), ModelChainConfig (model-backed chains) or S2HConfig;
            None picks the default for `kind` (exact chains when no model and no images are given).
        out_dir: the run directory.
        model_spec: a spec string or Model: every VISC stage role, S2H's L1 target and L3 captioner.
        n: indices to draw (for an image folder: at most as many sets as it holds).
        seed: seeds every draw.
        images_dir: image sets for model-backed VISC (see scotoma.synth.image_sets).
        stage_models: role -> model for model-backed VISC ("extractor", "connector", "annotator",
            "questioner"), overriding `model_spec` for that role.
        cache: a ResponseCache or its file; default the user cache ($SCOTOMA_CACHE_DIR).
        embed: the sentence encoder of S2H's L3 filter; default all-MiniLM-L6-v2.
        export: how to export; default all formats, the config's layout and S2H's mixture.
        batch_size: indices per request to each stage's model and per write to records.jsonl; an hf:
            model splits a request into its own batches (hf:PATH?batch_size=N, default 16).
        overwrite: delete what out_dir holds and start over.
        engine: where the model calls of spec strings run (scotoma.engines): "local" (default), "ray" or
            an EngineConfig; the records are the same either way.

    Raises:
        ValueError: an unknown kind, a config of the wrong type, or a missing model (L1, model stages).
    """
    started = time.perf_counter()
    engine = EngineConfig.parse(engine)  # a bad engine string fails before the run directory is made
    plan = plan_run(kind, config, model_spec, stage_models, images_dir, n, seed)
    export = export or ExportConfig(
        layout=plan.config.layout,
        mixture=getattr(plan.config, "mixture", "flat"),
        name=f"scotoma_{kind}",
        seed=seed,
    )
    spec = {
        "kind": kind,
        "config": plan.config,
        "models": plan.models,
        "export": export,
        "images_dir": None if images_dir is None else str(images_dir),
        "prompts": list(PROMPTS),  # versioned files: a new wording gets a new name, so specs tell runs apart
    }
    run = RunDir.open(out_dir, f"synth {kind}", spec, seed, overwrite=overwrite)
    producer = Producer(lambda indices, keys: [], StageTimer())
    try:
        todo = run.todo(range(len(plan.keys)), plan.keys.__getitem__)
        if todo:
            response_cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
            producer = make_producer(plan, model_spec, stage_models, response_cache, embed, seed, engine)

        def synthesize(indices: list[int]) -> tuple[list[dict[str, Any]], list[str]]:
            records = []
            for index, made in zip(indices, producer.produce(indices, plan.keys), strict=True):
                if isinstance(made, SynthDrop):  # a drop is a result: written, so a re-run skips it
                    records.append(dropped_record(plan.keys[index], made.stage, made.reason))
                else:
                    records += [store_images(sample, run.path).to_dict() for sample in made]
            return records, []

        todo.work(synthesize, batch_size, f"synth {kind}")
        seconds = time.perf_counter() - started
        metrics = _finish(run, plan.keys, producer, export, len(todo), seconds, kind, plan.models)
    except BaseException:
        run.close(failed=True)  # a run that wrote nothing yet is taken back
        raise
    finally:
        producer.close()
        run.close()
    return SynthResult(Path(out_dir), metrics, len(todo), todo.n_skipped, time.perf_counter() - started)


def _finish(
    run: RunDir,
    keys: Sequence[str],
    producer: Producer,
    export: ExportConfig,
    n_new: int,
    seconds: float,
    kind: str,
    models: Any,
) -> dict[str, Any]:
    """Export everything the run holds and write metrics.json."""
    records = list(run.records())
    samples = [s for s in map(read_record, records) if s is not None]
    dropped = [r for r in records if r.get("kind") == "dropped"]
    with producer.timer.stage("export") as stats:
        report = export_all(samples, run.path, export)
        stats.items += sum(report["files"].values())
    groups = Counter(
        s.meta.get("composite", "model") if isinstance(s, ChainSample) else s.level for s in samples
    )
    metrics = {
        "kind": kind,
        "indices": len(keys),
        "records": len(records),
        "samples": len(samples),
        "samples_by_group": dict(sorted(groups.items())),
        "dropped": len(dropped),
        "dropped_by_stage": dict(sorted(Counter(r["stage"] for r in dropped).items())),
        "drop_reasons": dict(Counter(r["reason"] for r in dropped).most_common(10)),
        "new_this_call": n_new,
        "seconds": round(seconds, 3),
        "indices_per_s": round(n_new / seconds, 2) if seconds > 0 and n_new else None,
        "stages": producer.timer.as_dict(),
        "cache": producer.cache_stats(),
        "export": report,
        "models": models,
    }
    run.write_metrics(metrics)
    return metrics
