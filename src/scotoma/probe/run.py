"""`run_probe(config, out_dir)`: the whole of paper 000 in one run directory.

By default (`scotoma probe` with no arguments): 64 shapes-world image sets; `builtin:questioner` trained
by GRPO against `builtin:answerer` with the oracle verifier (method "rl"), then evaluated on the same
images; then the zero-shot questioner on those images ("zero_shot"). Any method of `METHODS` can be
added (conme, sft, expert_iteration, rl_sft) and any backend given. The run directory holds

    spec.json       the ProbeConfig, versions, seed
    records.jsonl   one record per question slot: method, phase (train/eval), round, sample, question,
                    answer, validity, failure, reason, skills, reward components (training)
    metrics.json    per method: QVR, FDR, SD, LD, skills, ...; exclusive skills; FDR curves; timings
    summary.html    every method the run holds: the metric table (columns defined), skill x method counts,
                    the top failing skills and failure slices with examples and numbered images, the FDR
                    curve and the exclusive skills (`scotoma.probe.summary_html`)
    rl/             GRPO run (weights, step log) and banks.json; likewise rl_sft/, sft/, expert_iteration/

Running the same command again resumes: written records are skipped, finished trainings reused, model
calls answered from the response cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scotoma.models.base import Model, ModelError
from scotoma.models.embed import Embedder
from scotoma.probe.baselines import conme, expert_iteration, sft, sft_questioner, zero_shot
from scotoma.probe.config import ProbeConfig, default_out_dir, probe_config
from scotoma.probe.context import ProbeContext
from scotoma.probe.core import ANSWERER_ERROR
from scotoma.probe.loop import method_records
from scotoma.probe.metrics import exclusive_skills, fdr_curve, summarize
from scotoma.probe.rl import train_rl
from scotoma.probe.summary import failure_examples, print_summary
from scotoma.probe.summary_html import write_html
from scotoma.slices import record_slices

SUMMARY_HTML = "summary.html"


def rl(ctx: ProbeContext, method: str = "rl") -> list[dict[str, Any]]:
    """GRPO from the configured questioner, then an evaluation round."""
    return ctx.eval_round(method, train_rl(ctx, method, ctx.config.questioner))


def rl_sft(ctx: ProbeContext, method: str = "rl_sft") -> list[dict[str, Any]]:
    """GRPO from the SFT baseline's questioner, then an evaluation round."""
    return ctx.eval_round(method, train_rl(ctx, method, sft_questioner(ctx)))


RUNNERS: dict[str, Callable[[ProbeContext, str], list[dict[str, Any]]]] = {
    "rl": rl,
    "zero_shot": zero_shot,
    "conme": conme,
    "sft": sft,
    "expert_iteration": expert_iteration,
    "rl_sft": rl_sft,
}


@dataclass
class ProbeResult:
    """What a probe run produced.

    Attributes:
        out_dir: the run directory.
        metrics: what metrics.json holds.
        summary_path: the HTML summary.
        seconds: wall time of this call.
    """

    out_dir: Path
    metrics: dict[str, Any]
    summary_path: Path
    seconds: float


def _curve_records(ctx: ProbeContext, method: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records in generation order for the FDR curve: training questions first where there are any."""
    trained = method_records(ctx.run, method, phase="train")
    return trained + records if trained else records


def held_methods(ctx: ProbeContext, ran: Sequence[str]) -> list[str]:
    """Every method the run holds evaluation records of, in the order they were first written, then any
    of `ran` (this call's methods) that wrote none: a run extended by `methods=conme` is summarised
    whole. ConMe's first turn is left out (`compute_metrics` adds it beside conme)."""
    seen = dict.fromkeys(r.get("method") for r in ctx.run.records() if r.get("phase") == "eval")
    return [m for m in dict.fromkeys([*seen, *ran]) if isinstance(m, str) and m != "conme_turn1"]


def compute_metrics(ctx: ProbeContext, by_method: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Every metric of every method, the exclusive skills, FDR curves and what the methods reported."""
    config = ctx.config
    methods = dict(by_method)
    if "conme" in methods:
        methods["conme_turn1"] = method_records(ctx.run, "conme_turn1")
    return {
        "questioner": config.questioner,
        "answerer": config.answerer,
        "base": config.base,
        "verifier": ctx.verifier.spec,
        "verifier_version": ctx.verifier.version,
        "prompts": ctx.prompts.to_dict(),
        "samples": len(ctx.samples),
        "k": config.k,
        "min_skill_questions": config.min_skill_questions,
        "main_method": next(iter(by_method)),
        "methods": {m: summarize(rs, ctx.embedder, config.min_skill_questions) for m, rs in methods.items()},
        # over every method the table lists (ConMe's first turn too), else a skill "exclusive" to one
        # would show under conme_turn1 with as many questions
        "exclusive_skills": exclusive_skills(methods, config.min_skill_questions),
        "fdr_curves": {m: fdr_curve(_curve_records(ctx, m, rs)) for m, rs in by_method.items()},
        "info": ctx.info,
    }


def _error_text(detail: str) -> str:
    return detail.removeprefix(ANSWERER_ERROR).lstrip(": ")


def run_probe(
    config: ProbeConfig | None = None,
    out_dir: str | Path | None = None,
    *,
    models: Mapping[str, Model] | None = None,
    embedder: Embedder | None = None,
    quiet: bool = False,
) -> ProbeResult:
    """Run every method of `config` on its images and write the run directory and summary.

    Args:
        config: the settings (default: `ProbeConfig()`, the CPU world run).
        out_dir: the run directory; default runs/probe/<questioner>--<answerer>--<verifier>.
        models: backends already loaded, by spec (they replace `get_model` for those specs).
        embedder: replaces the configured sentence embedder.
        quiet: do not print the summary tables.

    Raises:
        ModelError: a model cannot be loaded (e.g. the built-in models are not trained yet).
        RunDirError: `out_dir` holds a run with another config.
    """
    started = time.perf_counter()
    config = config or ProbeConfig()
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(config)
    ctx = ProbeContext.open(config, out_dir, models, embedder)
    try:
        by_method, seconds = {}, {}
        for method in config.methods:
            begun = time.perf_counter()
            by_method[method] = RUNNERS[method](ctx, method)
            seconds[method] = time.perf_counter() - begun
        errors = ctx.answer_errors
        if errors and not any(by_method.values()):
            raise ModelError(
                f"every call to the answerer failed ({len(errors)} samples), e.g. {_error_text(errors[0])}; "
                f"check that {config.answerer} is reachable, then run the same command again"
            )
        # The summary covers the methods of earlier calls too, with their timings and training info.
        before = ctx.run.read_metrics() or {}
        ctx.info = {**before.get("info", {}), **ctx.info}
        seconds = {**before.get("seconds_per_method", {}), **seconds}
        by_method = {
            m: by_method.get(m) or method_records(ctx.run, m) for m in held_methods(ctx, list(by_method))
        }
        metrics = compute_metrics(ctx, by_method)
        metrics["seconds_per_method"] = {m: seconds[m] for m in by_method if m in seconds}
        metrics["answerer_failures"] = {
            "samples_left_out": len(errors),
            "first_error": _error_text(errors[0]) if errors else None,
        }
        examples = failure_examples(by_method[metrics["main_method"]])
        metrics["top_failing_skills"] = [
            {k: v for k, v in e.items() if k != "examples"} | {"examples": [x["key"] for x in e["examples"]]}
            for e in examples
        ]
        main = by_method[metrics["main_method"]]
        slices = record_slices(main, {s.key: s.scene for s in ctx.samples if s.scene is not None})
        metrics["failure_slices"] = [sl.to_dict() for sl in slices]
        ctx.run.write_metrics(metrics)
        by_key = {r.get("key"): r for r in main}
        slice_rows = [(sl, [by_key[k] for k in sl.examples if k in by_key]) for sl in slices]
        summary = write_html(
            ctx.run.path / SUMMARY_HTML, metrics, examples, {s.key: s for s in ctx.samples}, slice_rows
        )
        if not quiet and ctx.run.path == out_dir:
            print_summary(metrics, examples, slices=slice_rows)
    except BaseException:
        ctx.run.close(failed=True)  # a run that wrote nothing yet is taken back
        raise
    finally:
        ctx.close()
    return ProbeResult(out_dir, metrics, summary, time.perf_counter() - started)


def probe_command(
    questioner: str | None = None,
    answerer: str | None = None,
    verifier: str | None = None,
    images: str | Path | None = None,
    config: str | Path | None = None,
    out: str | Path | None = None,
    overrides: Sequence[str] = (),
    base: str | None = None,
) -> ProbeResult:
    """`scotoma probe [--questioner SPEC] [--answerer SPEC] [--verifier oracle|judge:SPEC] [--images DIR]
    [--base SPEC] [--config YAML] [--out DIR] [key=value ...]`: the YAML file, then the options, then the
    overrides (any `ProbeConfig` field, e.g. methods=rl,zero_shot,conme k=4 lexical=false)."""
    settings = probe_config(
        config, overrides, questioner=questioner, answerer=answerer, verifier=verifier, images=images,
        base=base,
    )  # fmt: skip
    return run_probe(settings, out)


__all__ = ["RUNNERS", "SUMMARY_HTML", "ProbeResult", "compute_metrics", "probe_command", "run_probe"]
