"""`run_loop`: find, fix, verify. Probe the target, take its worst skills, synthesize data for them, train
the target with LoRA, then probe and bench it again.

    out/
      spec.json  metrics.json          the loop (the before/after table and its verdicts in metrics.json)
      before/    bench_world/ bench_nlvr1/ probe/     the target as it was
      data/      synth_visc/ synth_s2h/ images/ sft.jsonl dpo.jsonl
      train_sft/ train_dpo/            TRL runs; the merged model of the last one is the fixed target
      after/     bench_world/ bench_nlvr1/ probe/     the fixed target

Every step is an ordinary run directory, so a killed loop resumes: bench, probe and synth skip what
they wrote and the cache answers repeated calls; a finished training is reused (an unfinished one is
started over, as training does not resume).

The verdicts (issue 7): on the held-out world bench the failure rate on items needing a targeted skill
drops by at least a third, relative; no untargeted family (one whose own skills, `FAMILY_SKILLS`, hold
no targeted skill) loses more than 2 points of accuracy; NLVR1 dev accuracy falls by at most 1 point.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scotoma.bench.stats import paired_difference
from scotoma.loop.config import LoopConfig
from scotoma.loop.data import build_training_data
from scotoma.loop.measure import Measurement, StatementAnswer, measure, worst_skills, worst_slices
from scotoma.runlog import RunDir
from scotoma.train import TrainResult, train_from_files
from scotoma.world.programs.skills import FAMILY_SKILLS

TARGET_DROP = 1 / 3  # relative fall of the targeted failure rate
MAX_FAMILY_LOSS = 0.02
MAX_NLVR_LOSS = 0.01
EPSILON = 1e-9  # 0.80 - 0.79 is 0.0100000000000000009 in floats: a loss of exactly one point passes


@dataclass
class LoopResult:
    """The loop's outcome: its folder, the targeted skills, the fixed model and the before/after table."""

    out_dir: Path
    targets: list[str]
    model: str
    metrics: dict[str, Any]
    seconds: float


def _rate(counts: tuple[int, int]) -> float | None:
    return counts[0] / counts[1] if counts[1] else None


def _pooled(m: Measurement, targets: list[str]) -> tuple[int, int]:
    hits = [correct for skills, correct, _ in m.items if set(skills) & set(targets)]
    return sum(hits), len(hits)


def compare(before: Measurement, after: Measurement, targets: list[str]) -> dict[str, Any]:
    """The before/after table and the three verdicts."""
    pooled_before, pooled_after = _pooled(before, targets), _pooled(after, targets)
    fail_before = 1 - (_rate(pooled_before) or 0.0)
    fail_after = 1 - (_rate(pooled_after) or 0.0)
    drop = (fail_before - fail_after) / fail_before if fail_before else 0.0
    families = {
        family: {
            "before": _rate(before.family[family]),
            "after": _rate(after.family.get(family, (0, 0))),
            "n": before.family[family][1],
            "targeted": bool(set(FAMILY_SKILLS.get(family, ())) & set(targets)),
        }
        for family in before.family
    }
    losses = {
        f: row["before"] - row["after"]
        for f, row in families.items()
        if not row["targeted"] and row["before"] is not None and row["after"] is not None
    }
    nlvr_before, nlvr_after = _rate(before.nlvr) or 0.0, _rate(after.nlvr) or 0.0
    nlvr = {"before": nlvr_before, "after": nlvr_after, "n": before.nlvr[1], **nlvr_change(before, after)}
    skills = {
        skill: {
            "before_failure": 1 - (_rate(before.skill[skill]) or 0.0),
            "after_failure": 1 - (_rate(after.skill.get(skill, (0, 0))) or 0.0),
            "n": before.skill[skill][1],
            "probe_before": before.probe_failure.get(skill),
            "probe_after": after.probe_failure.get(skill),
            "targeted": skill in targets,
        }
        for skill in before.skill
    }
    return {
        "targets": targets,
        "targeted_failure": {"before": fail_before, "after": fail_after, "n": pooled_before[1]},
        "targeted_relative_drop": drop,
        "families": families,
        "skills": skills,
        "nlvr1": nlvr,
        "probe_fdr": {"before": before.probe_fdr, "after": after.probe_fdr},
        "verdicts": {
            "targeted_failure_drops_a_third": drop >= TARGET_DROP - EPSILON,
            "no_other_family_loses_2_points": all(
                loss <= MAX_FAMILY_LOSS + EPSILON for loss in losses.values()
            ),
            "nlvr1_within_1_point": nlvr_before - nlvr_after <= MAX_NLVR_LOSS + EPSILON,
        },
        "largest_untargeted_loss": max(losses.items(), key=lambda kv: kv[1]) if losses else None,
    }


def nlvr_change(before: Measurement, after: Measurement) -> dict[str, float | None]:
    """NLVR1's change paired by statement, with its 95% bootstrap interval (`paired_difference`: a
    statement resampled counts in both models at once); the share of statements each model called true;
    and the change of balanced accuracy (the mean of the accuracies on true and on false statements),
    which a shift of that share alone leaves where it is: a near-chance model's NLVR1 accuracy moves with
    how often it says "yes" as much as with what it sees. Empty when either side holds no answers."""
    keys = sorted(set(before.nlvr_answers) & set(after.nlvr_answers))
    if not keys:
        return {}
    sides = [[m.nlvr_answers[k] for k in keys] for m in (before, after)]
    change = paired_difference(*([float(a.correct) for a in side] for side in sides), keys)
    # balanced accuracy as a mean over statements: each weighs 1 / (its class's count x the classes)
    truths = [a.true for a in sides[0]]
    count = Counter(truths)
    weighted = [
        [a.correct * len(keys) / (len(count) * count[t]) for a, t in zip(side, truths, strict=True)]
        for side in sides
    ]
    balanced = paired_difference(*weighted, keys)

    def yes_rate(side: list[StatementAnswer]) -> float | None:
        said = [a.said_yes for a in side if a.said_yes is not None]
        return sum(said) / len(said) if said else None

    return {
        "change": change.value,
        "change_low": change.ci_low,
        "change_high": change.ci_high,
        "yes_before": yes_rate(sides[0]),
        "yes_after": yes_rate(sides[1]),
        "balanced_before": sum(weighted[0]) / len(keys),
        "balanced_after": sum(weighted[1]) / len(keys),
        "balanced_change_low": balanced.ci_low,
        "balanced_change_high": balanced.ci_high,
    }


def nlvr_details(nlvr: dict[str, Any]) -> str:
    """The NLVR1 change's interval, the share called true and balanced accuracy (`nlvr_change`) as text
    to append (it starts with a space); "" when the measurement holds no per-statement answers."""
    if nlvr.get("change") is None:
        return ""

    def points(value: float) -> str:
        return f"{100 * value:+.1f}"

    return (
        f" (change {points(nlvr['change'])} points, 95% CI {points(nlvr['change_low'])} to "
        f"{points(nlvr['change_high'])}; called true {100 * nlvr['yes_before']:.1f}% -> "
        f"{100 * nlvr['yes_after']:.1f}%; balanced accuracy {100 * nlvr['balanced_before']:.1f}% -> "
        f"{100 * nlvr['balanced_after']:.1f}%, 95% CI of the change {points(nlvr['balanced_change_low'])} "
        f"to {points(nlvr['balanced_change_high'])})"
    )


def _train(
    stage: str, recipe: str, data: Path, model: str, overrides: list[str], out: Path
) -> tuple[str, dict[str, Any]]:
    """A TRL run of the loop: (the merged model's spec, a summary). A finished run (its merged model
    saved) is reused with the summary it wrote; a partial one is started over."""
    summary_file = out / "loop_summary.json"
    if summary_file.is_file() and (out / "model").is_dir():
        return f"hf:{out / 'model'}", {**json.loads(summary_file.read_text()), "reused": True}
    if out.exists():
        shutil.rmtree(out)
    settings = [f"model={model}", "merge_lora=true", *overrides]
    result = train_from_files(stage, recipe, [data], out, settings, display=f"loop {stage}")
    summary = _train_summary(result)
    summary_file.write_text(json.dumps(summary, indent=1))
    return f"hf:{result.model_path}", summary


def run_loop(config: LoopConfig | None = None, out_dir: str | Path = "runs/loop") -> LoopResult:
    """Find, fix, verify; see the module docstring.

    Raises:
        RunDirError: `out_dir` holds a loop with another config.
        ValueError: the probe found no skill to target (see `worst_skills`).
    """
    started = time.perf_counter()
    config = config or LoopConfig()
    out = Path(out_dir)
    run = RunDir.open(out, "loop", config.identity(), config.data_seed)
    try:
        timings: dict[str, float] = {}
        tick = time.perf_counter()
        before = measure(config.answerer, out / "before", config)
        timings["measure_before"] = time.perf_counter() - tick
        targets = list(config.targets) or (
            worst_slices(before, config.worst_skills)
            if config.choose == "slices"
            else worst_skills(before, config.worst_skills, config.min_skill_questions)
        )
        tick = time.perf_counter()
        data = build_training_data(targets, config.answerer, config, out / "data")
        timings["synthesize"] = time.perf_counter() - tick
        model = config.answerer
        steps: dict[str, Any] = {}
        tick = time.perf_counter()
        if data.sft is not None:
            # Conversations of several questions: every answer carries the loss, not just the last.
            dense = ["loss_on=assistant"] if config.questions_per_row > 1 else []
            model, steps["sft"] = _train(
                "sft", config.sft_recipe, data.sft, model, [*dense, *config.sft_overrides], out / "train_sft"
            )
        if config.dpo and data.dpo is not None:
            model, steps["dpo"] = _train(
                "dpo", config.dpo_recipe, data.dpo, model, config.dpo_overrides, out / "train_dpo"
            )
        timings["train"] = time.perf_counter() - tick
        tick = time.perf_counter()
        after = measure(model, out / "after", config)
        timings["measure_after"] = time.perf_counter() - tick
        metrics = {
            **compare(before, after, targets),
            "model_before": config.answerer,
            "model_after": model,
            "data": data.counts,
            "training": steps,
            "seconds": timings,
        }
        run.write_metrics(metrics)
    except BaseException:
        run.close(failed=True)  # a run that wrote nothing yet is taken back
        raise
    finally:
        run.close()
    return LoopResult(out, targets, model, metrics, time.perf_counter() - started)


def _train_summary(result: TrainResult) -> dict[str, Any]:
    times = result.step_times_s
    return {
        "steps": result.steps,
        "samples": result.samples,
        "dropped": result.dropped,
        "first_loss": result.losses[0] if result.losses else None,
        "last_loss": result.losses[-1] if result.losses else None,
        "mean_step_s": sum(times) / len(times) if times else None,
    }


def format_table(metrics: dict[str, Any]) -> str:
    """The before/after table as text (what `scotoma loop` prints)."""

    def pct(value: float | None) -> str:
        return "   -  " if value is None else f"{100 * value:5.1f}%"

    lines = [f"targeted skills: {', '.join(metrics['targets'])}"]
    targeted = metrics["targeted_failure"]
    lines.append(
        f"failure rate on items needing them (n={targeted['n']}): {pct(targeted['before'])} -> "
        f"{pct(targeted['after'])} (relative drop {100 * metrics['targeted_relative_drop']:.0f}%)"
    )
    lines.append("family                 before   after     n  targeted")
    for family, row in metrics["families"].items():
        mark = "yes" if row["targeted"] else ""
        lines.append(f"{family:<20} {pct(row['before'])}  {pct(row['after'])} {row['n']:5d}  {mark}")
    nlvr = metrics["nlvr1"]
    line = f"NLVR1 dev (n={nlvr['n']}): {pct(nlvr['before'])} -> {pct(nlvr['after'])}{nlvr_details(nlvr)}"
    lines.append(line)
    fdr = metrics["probe_fdr"]
    lines.append(f"probe FDR (zero-shot questioner): {pct(fdr['before'])} -> {pct(fdr['after'])}")
    lines += [f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in metrics["verdicts"].items()]
    return "\n".join(lines)


__all__ = ["LoopResult", "compare", "format_table", "nlvr_details", "run_loop"]
