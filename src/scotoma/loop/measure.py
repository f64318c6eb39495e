"""Measuring a target before and after the fix: the held-out world bench, NLVR1 dev and a probe.

- bench `world` (every family, 1-4 images, seed `eval_seed`): accuracy per family and, from the skills
  each item's program needs, per skill; the loop's verdicts are read here;
- bench `nlvr1` (the dev split, 3 boxes per statement, its original order): must not fall;
- probe (`zero_shot`: the questioner as it is, so before and after see the same kind of questions) on
  `probe_samples` world image sets: per-skill failure rates; the one before the fix picks the targets.

Each part is an ordinary bench or probe run directory under the measurement's folder, so it resumes and
`scotoma report` reads it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from scotoma.bench import BenchConfig, load_benchmark, run_bench
from scotoma.bench.metrics import read_records
from scotoma.loop.config import LoopConfig
from scotoma.probe import ProbeConfig, run_probe
from scotoma.probe.context import load_samples
from scotoma.probe.metrics import per_skill_failure_rate, skill_counts
from scotoma.slices import record_slices, world_predicates


class StatementAnswer(NamedTuple):
    """How a model answered one NLVR1 statement: right or not, whether it said "yes" (None when its answer
    was not read) and whether the statement is true."""

    correct: bool
    said_yes: bool | None
    true: bool

    @classmethod
    def of(cls, record: dict[str, Any]) -> StatementAnswer:
        """From a yes/no bench record."""
        said = {"yes": True, "no": False}.get(record.get("extracted") or "")
        return cls(bool(record["correct"]), said, record["target"] == "yes")


@dataclass
class Measurement:
    """One model's figures.

    Attributes:
        model: the spec measured.
        family: world bench family -> (correct, total).
        skill: world bench skill -> (correct, total).
        nlvr: NLVR1 dev (correct, total).
        probe_failure: probe skill -> failure rate among valid questions needing it.
        probe_questions: probe skill -> valid questions needing it.
        probe_fdr: the probe's failure discovery rate over all valid questions.
        items: per world bench item, (skills and slice predicates, correct, family): a target, skill or
            predicate, selects the items it names.
        probe_slices: the predicates of the probe's top distinct failure slices (`rank_slices`), best first.
        nlvr_answers: per NLVR1 dev statement (bench record key), how it was answered: what pairs the
            statements before and after for the change's interval.
    """

    model: str
    family: dict[str, tuple[int, int]]
    skill: dict[str, tuple[int, int]]
    nlvr: tuple[int, int]
    probe_failure: dict[str, float]
    probe_questions: dict[str, int]
    probe_fdr: float
    items: list[tuple[list[str], bool, str]]
    probe_slices: list[str] = field(default_factory=list)
    nlvr_answers: dict[str, StatementAnswer] = field(default_factory=dict)


def tally(records: Iterable[dict[str, Any]], key: str) -> dict[str, tuple[int, int]]:
    """(correct, total) per value of `key` ("subtask" or, one count per skill, "skills")."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        values = record[key] if key == "skills" else [record[key]]
        for value in set(values):
            counts[value][0] += bool(record["correct"])
            counts[value][1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(counts.items())}


def measure(model: str, out: Path, config: LoopConfig) -> Measurement:
    """Bench `world`, bench `nlvr1` and a zero-shot probe of `model`, each in a run directory under `out`."""
    common = {"model": model, "batch_size": config.batch_size, "n_boot": 200, "engine": config.engine}
    world_config = BenchConfig(f"world:n={config.eval_items}", seed=config.eval_seed, **common)
    world = run_bench(world_config, out / "bench_world")
    world_records = read_records(world.run_dir)
    predicates = item_predicates(config)
    nlvr = run_bench(BenchConfig("nlvr1", limit=config.nlvr_limit, **common), out / "bench_nlvr1")
    nlvr_records = read_records(nlvr.run_dir)
    probe_config = ProbeConfig(
        questioner=config.questioner,
        answerer=model,
        base=config.base,
        methods=["zero_shot"],
        world_samples=config.probe_samples,
        world_seed=config.probe_seed,
        eval_generations=config.probe_generations,
        min_skill_questions=config.min_skill_questions,
        engine=config.engine,
    )
    probe = run_probe(probe_config, out / "probe", quiet=True)
    records = [
        r for r in read_records(probe.out_dir) if r.get("method") == "zero_shot" and r.get("phase") == "eval"
    ]
    return Measurement(
        model=model,
        family=tally(world_records, "subtask"),
        skill=tally(world_records, "skills"),
        nlvr=(sum(bool(r["correct"]) for r in nlvr_records), len(nlvr_records)),
        probe_failure=per_skill_failure_rate(records),
        probe_questions=dict(skill_counts(records)),
        probe_fdr=probe.metrics["methods"]["zero_shot"]["fdr"],
        items=[
            ([*r["skills"], *predicates[r["item_id"]]], bool(r["correct"]), r["subtask"])
            for r in world_records
        ],
        # distinct slices: two targets holding (mostly) the same questions (family:arithmetic and
        # skill:arithmetic, objects>=5 and objects>=6) would leave a third kind of failure untargeted
        probe_slices=[s.predicate for s in record_slices(records, _scenes(probe_config), distinct=True)],
        nlvr_answers={r["key"]: StatementAnswer.of(r) for r in nlvr_records},
    )


def _scenes(config: ProbeConfig) -> dict[str, Any]:
    """The world scene of each of the probe's samples, by sample key (drawn again: a pure function of the
    config's world settings)."""
    return {s.key: s.scene for s in load_samples(config) if s.scene is not None}


def item_predicates(config: LoopConfig) -> dict[str, list[str]]:
    """The slice predicates (`scotoma.slices.world_predicates`) of every held-out world bench item, by
    item id; the bench draws the same items again."""
    bench = load_benchmark(f"world:n={config.eval_items}", seed=config.eval_seed)
    return {
        item.id: sorted(world_predicates(item.meta["program"], item.meta["scene"])) for item in bench.items
    }


def worst_slices(measurement: Measurement, count: int) -> list[str]:
    """The predicates of the probe's `count` top failure slices; a `skill:S` slice stays a slice, trained on
    questions drawn from it like any other (the sampler's skill filter cannot reach every skill)."""
    if not measurement.probe_slices:
        raise ValueError("the probe found no failure slice; raise probe_samples or choose=skills")
    return measurement.probe_slices[:count]


def worst_skills(measurement: Measurement, count: int, min_questions: int) -> list[str]:
    """The `count` skills with the highest probe failure rate among those with enough valid questions."""
    ranked = sorted(
        (s for s, n in measurement.probe_questions.items() if n > min_questions),
        key=lambda s: (-measurement.probe_failure.get(s, 0.0), s),
    )
    if not ranked:
        raise ValueError(
            f"the probe found no skill with more than {min_questions} valid questions; raise probe_samples "
            "or lower min_skill_questions"
        )
    return ranked[:count]


__all__ = ["Measurement", "item_predicates", "measure", "tally", "worst_skills", "worst_slices"]
