"""From loaded runs to the figures of the report: probe rows grouped by method, each question's skills
(from a taxonomy run when one is given, else the exact skills the records carry), meta-skills, and the
analyses of `scotoma.taxonomy.analyses` per method.

Which rows feed what: Table 1 and every skill analysis use a method's "eval" rows when it has any, else
all its rows; the curves over training (Figures 8-9) use its "train" rows when it has any, else all.
A method asked by several questioners or of several answerers is split into one row per pair
(`method_labels`). Without a taxonomy, an exact skill's meta-skill is its prefix ("spatial:left" ->
"Spatial"; "counting" -> "Counting").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scotoma.probe.metrics import lexical_diversity
from scotoma.report.runs import BenchRun, ProbeRow, ProbeRun, Run, TaxonomyRun
from scotoma.taxonomy.analyses import (
    SkillRow,
    failure_rate,
    number_of_skills,
    skill_counts,
    skill_coverage,
    vendi_score,
)


def exact_meta_skill(skill: str) -> str:
    """The meta-skill of an exact world skill: its prefix, in words."""
    return skill.split(":")[0].replace("_", " ").capitalize()


@dataclass
class MethodData:
    """One method's rows (across runs).

    Attributes:
        name: the method as the report names it (see `method_labels`).
        rows: all its rows, in run then record order.
        method: the method as its records name it.
        run_metrics: the metrics.json of the runs its rows come from.
    """

    name: str
    rows: list[ProbeRow]
    method: str = ""
    run_metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def table_rows(self) -> list[ProbeRow]:
        """The rows for Table 1 and the skill analyses: "eval" rows if any, else all."""
        return [r for r in self.rows if r.phase == "eval"] or self.rows

    @property
    def curve_rows(self) -> list[ProbeRow]:
        """The rows for the curves over training: "train" rows if any, else all."""
        return [r for r in self.rows if r.phase == "train"] or self.rows


@dataclass
class ReportData:
    """Everything the page shows.

    Attributes:
        probes, benches, taxonomy: the runs by kind (the last taxonomy run given wins).
        methods: method name -> its data, in order of first appearance.
        meta_of: skill -> meta-skill.
        skill_source: "taxonomy" or "exact".
        vectors: question text -> unit embedding (empty when none is available).
    """

    probes: list[ProbeRun]
    benches: list[BenchRun]
    taxonomy: TaxonomyRun | None
    methods: dict[str, MethodData]
    meta_of: dict[str, str]
    skill_source: str
    vectors: dict[str, np.ndarray]

    def skills(self, row: ProbeRow) -> tuple[str, ...]:
        """A row's skills from the chosen source."""
        if self.taxonomy is not None:
            record = self.taxonomy.records.get(row.question_id)
            return tuple(record.get("skills") or ()) if record else ()
        return row.skills

    def skill_rows(self, rows: Sequence[ProbeRow]) -> list[SkillRow]:
        """The valid, judged rows as SkillRows."""
        return [
            SkillRow(
                r.method, bool(r.failed), self.skills(r), r.question or "", r.step, r.questioner, r.answerer
            )
            for r in rows
            if r.judged and r.valid and r.failed is not None
        ]


def method_labels(rows: Sequence[ProbeRow]) -> dict[tuple[str, str, str], str]:
    """(method, questioner, answerer) -> the name the report gives it: the method, with the questioner
    and/or the answerer when the runs pit that method against several ("rl (large)", "rl (q7b -> large)")."""
    pairs: dict[str, set[tuple[str, str]]] = {}
    for r in rows:
        pairs.setdefault(r.method, set()).add((r.questioner, r.answerer))
    labels = {}
    for method, seen in pairs.items():
        several_q = len({q for q, _ in seen}) > 1
        several_a = len({a for _, a in seen}) > 1
        for q, a in seen:
            label = method
            if several_q and several_a:
                label = f"{method} ({q} -> {a})"
            elif several_q or several_a:
                label = f"{method} ({q if several_q else a})"
            labels[method, q, a] = label
    return labels


def questions_to_embed(runs: Sequence[Run]) -> list[str]:
    """The valid question texts of the probe runs that no taxonomy run holds an embedding for: what a
    caller embeds and passes to `assemble` (or `write_report`) as `vectors` for semantic diversity."""
    taxonomies = [r for r in runs if isinstance(r, TaxonomyRun)]
    embedded = taxonomies[-1].embeddings if taxonomies else {}
    rows = [r for run in runs if isinstance(run, ProbeRun) for r in run.rows if r.question and r.valid]
    return list(dict.fromkeys(r.question for r in rows if r.question_id not in embedded))


def assemble(runs: Sequence[Run], vectors: Mapping[str, np.ndarray] | None = None) -> ReportData:
    """Group the runs, choose the skill source and gather question embeddings: a taxonomy run's, then
    `vectors` (question text -> embedding) for the questions it lacks."""
    probes = [r for r in runs if isinstance(r, ProbeRun)]
    benches = [r for r in runs if isinstance(r, BenchRun)]
    taxonomies = [r for r in runs if isinstance(r, TaxonomyRun)]
    taxonomy = taxonomies[-1] if taxonomies else None
    labels = method_labels([row for run in probes for row in run.rows])
    methods: dict[str, MethodData] = {}
    for run in probes:
        for row in run.rows:
            label = labels[row.method, row.questioner, row.answerer]
            method = methods.setdefault(label, MethodData(label, [], row.method))
            method.rows.append(dataclasses.replace(row, method=label))
            if run.metrics is not None and run.metrics not in method.run_metrics:
                method.run_metrics.append(run.metrics)
    found: dict[str, np.ndarray] = {}
    if taxonomy is not None:
        for run in probes:
            for r in run.rows:
                if r.question and r.question_id in taxonomy.embeddings:
                    found[r.question] = taxonomy.embeddings[r.question_id]
    for text, vector in (vectors or {}).items():
        found.setdefault(text, np.asarray(vector, dtype=np.float32))
    if taxonomy is not None:
        meta_of, source = taxonomy.meta_of, "taxonomy"
    else:
        exact = {s for run in probes for r in run.rows for s in r.skills}
        meta_of, source = {s: exact_meta_skill(s) for s in sorted(exact)}, "exact"
    return ReportData(probes, benches, taxonomy, methods, meta_of, source, found)


def _metric(run_metrics: Sequence[Mapping[str, Any] | None], method: str, name: str) -> float:
    """A per-method figure from a probe run's metrics.json ({"methods": {method: {name: value}}})."""
    for metrics in run_metrics:
        value = ((metrics or {}).get("methods") or {}).get(method, {}).get(name)
        if isinstance(value, int | float):
            return float(value)
    return math.nan


def method_table(data: ReportData, min_questions: int = 20) -> list[dict[str, Any]]:
    """Table 1: one dict per method with qvr, fdr, sd, ld, skills, coverage, valid, questions."""
    out = []
    for name, method in data.methods.items():
        rows = method.table_rows
        judged = [r for r in rows if r.judged]
        valid = [r for r in judged if r.valid and r.failed is not None]
        skill_rows = data.skill_rows(valid)
        texts = [r.question or "" for r in valid]
        sd = math.nan
        if texts and all(t in data.vectors for t in texts):
            sd = vendi_score(np.stack([data.vectors[t] for t in texts]))
        elif texts:
            sd = _metric(method.run_metrics, method.method, "semantic_diversity")
        out.append(
            {
                "method": name,
                "qvr": len([r for r in judged if r.valid]) / len(judged) if judged else math.nan,
                "fdr": failure_rate(skill_rows).value,
                "sd": sd,
                "ld": lexical_diversity(texts) if texts else math.nan,
                "skills": number_of_skills(skill_rows, min_questions),
                "coverage": skill_coverage(skill_rows),
                "valid": len(valid),
                "questions": len(rows),
                "unjudged": len(rows) - len(judged),
            }
        )
    return out


def skill_frequencies(data: ReportData) -> dict[str, int]:
    """Skill -> failed questions needing it, over every method (the gallery's filter order)."""
    failures = [r for m in data.methods.values() for r in data.skill_rows(m.table_rows) if r.failed]
    return dict(skill_counts(failures).most_common())
