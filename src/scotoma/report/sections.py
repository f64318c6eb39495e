"""The report's sections as HTML fragments, each from `ReportData`: Table 1, the meta-skill radars
(Figure 5), per-skill rates, skill combinations (Figure 7), FDR over questions and meta-skill density
over training (Figures 8-9), exclusive skills (Table 3), hard and model-specific skills (Tables 8-9),
bench tables and the taxonomy's own figures."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from scotoma import svg
from scotoma.bench.table import breakdown_rows, slice_rows, summary_rows
from scotoma.probe.metrics import DEFINITIONS
from scotoma.report.data import ReportData, method_table
from scotoma.taxonomy.analyses import (
    Rate,
    exclusive_skills,
    fdr_curve,
    meta_skill_density,
    meta_skill_failure_rates,
    meta_skill_profile,
    skill_counts,
    skill_failure_rates,
    skills_per_question,
    unique_skill_combinations,
)
from scotoma.taxonomy.landscape import landscapes


def pct(value: float | None) -> str:
    """0.4758 -> "47.6"; nan or None -> "-"."""
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}"


def num(value: float | None, digits: int = 2) -> str:
    """A number with `digits` decimals; nan or None -> "-"."""
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


class Markup(str):
    """A table cell that is HTML already (not escaped again)."""


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "", titles: Sequence[str] = ()
) -> str:
    """An HTML table of formatted cells; plain strings are escaped, `Markup` cells are kept as they are.
    `titles` are the headers' tooltips, in order ("" for none)."""
    tips = [*titles, *[""] * (len(header) - len(titles))]
    head = "".join(
        f'<th title="{escape(tip)}">{escape(h)}</th>' if tip else f"<th>{escape(h)}</th>"
        for h, tip in zip(header, tips, strict=True)
    )

    def cell(value: str) -> str:
        return value if isinstance(value, Markup) else escape(value)

    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def summary_table(data: ReportData, min_questions: int) -> str:
    """Table 1 with the best value of each column in bold and the second underlined; every column is
    defined (header tooltips and a definitions list, the probe summary's words)."""
    rows = method_table(data, min_questions)
    columns = [("qvr", "QVR (%)", pct), ("fdr", "FDR (%)", pct), ("sd", "SD", num), ("ld", "LD", num)]
    columns += [("skills", "# Skills", str), ("coverage", "Skill Cov.", num)]
    metric = {"sd": "semantic_diversity", "ld": "lexical_diversity", "skills": "number_of_skills"}
    metric |= {"coverage": "skill_coverage"}
    meaning = {key: DEFINITIONS[metric.get(key, key)].format(min=min_questions) for key, _, _ in columns}
    meaning["valid"] = "valid questions / question slots asked (the valid ones are judged)"
    meaning["unjudged"] = "questions the verifier gave no readable verdict on, left out of every metric"
    ranks: dict[str, list[float]] = {}
    for key, _, _ in columns:
        values = sorted({r[key] for r in rows if not math.isnan(r[key])}, reverse=True)
        ranks[key] = values[:2]
    body = []
    for r in rows:
        cells = [r["method"]]
        for key, _, fmt in columns:
            text = escape(fmt(r[key]))
            if ranks[key] and len(rows) > 1 and r[key] == ranks[key][0]:
                text = f'<b class="best">{text}</b>'
            elif len(ranks[key]) > 1 and len(rows) > 2 and r[key] == ranks[key][1]:
                text = f'<u class="second">{text}</u>'
            cells.append(Markup(text))
        cells += [f"{r['valid']} / {r['questions']}", str(r["unjudged"])]
        body.append(cells)
    titles = [*(title for _, title, _ in columns), "Valid / questions", "Unjudged"]
    keys = [*(key for key, _, _ in columns), "valid", "unjudged"]
    terms = "".join(
        f"<dt>{escape(t)}</dt><dd>{escape(meaning[k])}</dd>" for t, k in zip(titles, keys, strict=True)
    )
    return (
        table(["Method", *titles], body, "summary", ["", *(meaning[k] for k in keys)])
        + f'<dl class="definitions">{terms}</dl>'
        + note(
            f"Skills from the {data.skill_source} skill source. Best in bold, second underlined. "
            "QVR over judged questions, every other column over valid ones (paper 000, section 4.1)."
        )
    )


def radars(data: ReportData) -> str:
    """Figure 5: FDR, semantic and lexical diversity per meta-skill, one polygon per method."""
    profiles = {
        m: meta_skill_profile(data.skill_rows(d.table_rows), data.meta_of, data.vectors or None)
        for m, d in data.methods.items()
    }
    totals: dict[str, float] = {}
    for profile in profiles.values():
        for meta, values in profile.items():
            totals[meta] = totals.get(meta, 0.0) + values["n"]
    axes = sorted(totals, key=lambda m: (-totals[m], m))
    if not axes:
        return note("No skills: the runs carry none and no taxonomy run was given.")
    parts = []
    for key, title in (("fdr", "Failure rate"), ("sd", "Semantic diversity"), ("ld", "Lexical diversity")):
        series = {m: [p.get(a, {}).get(key, math.nan) for a in axes] for m, p in profiles.items()}
        if all(math.isnan(v) for values in series.values() for v in values):
            parts.append(note(f"{title}: not available (needs question embeddings: give a taxonomy run)."))
        elif len(axes) >= 3:
            parts.append(svg.radar(f"radar-{key}", f"{title} per meta-skill", axes, series))
        else:
            parts.append(svg.bar_chart(f"radar-{key}", f"{title} per meta-skill", axes, series, title))
    return '<div class="charts">' + "".join(parts) + "</div>"


def _rate_cell(rate: Rate | None) -> str:
    return "-" if rate is None else f"{pct(rate.value)} ({rate.n})"


def skill_tables(data: ReportData, limit: int = 40) -> str:
    """Failure rate per skill and per meta-skill, per method."""
    rows = {m: data.skill_rows(d.table_rows) for m, d in data.methods.items()}
    totals = skill_counts(r for rs in rows.values() for r in rs)
    per_skill = {m: skill_failure_rates(rs) for m, rs in rows.items()}
    per_meta = {m: meta_skill_failure_rates(rs, data.meta_of) for m, rs in rows.items()}
    header = ["Skill", "Meta-skill", "Questions", *(f"{m} FDR % (n)" for m in rows)]
    body = [
        [s, data.meta_of.get(s, "-"), str(n), *(_rate_cell(per_skill[m].get(s)) for m in rows)]
        for s, n in totals.most_common(limit)
    ]
    metas = sorted({meta for rates in per_meta.values() for meta in rates})
    meta_body = [[meta, *(_rate_cell(per_meta[m].get(meta)) for m in rows)] for meta in metas]
    return (
        "<h3>Per meta-skill</h3>"
        + table(["Meta-skill", *(f"{m} FDR % (n)" for m in rows)], meta_body)
        + f"<h3>Per skill (the {min(limit, len(totals))} most asked)</h3>"
        + table(header, body)
    )


def composition(data: ReportData) -> str:
    """Figure 7: unique skill combinations (a) and the distribution of skills per question (b)."""
    rows = {m: data.skill_rows(d.table_rows) for m, d in data.methods.items()}
    combos = {"unique combinations": [float(unique_skill_combinations(rs)) for rs in rows.values()]}
    shares = {m: skills_per_question(rs) for m, rs in rows.items()}
    buckets = [b for b in next(iter(shares.values()), {}) if b != "0" or any(s["0"] for s in shares.values())]
    return (
        '<div class="charts">'
        + svg.bar_chart("combinations", "Unique skill combinations", list(rows), combos, "combinations", 0)
        + svg.bar_chart(
            "skills-per-question",
            "Skills per question",
            buckets,
            {m: [s[b] for b in buckets] for m, s in shares.items()},
            "share of questions",
        )
        + "</div>"
    )


def training(data: ReportData) -> str:
    """Figure 8 (cumulative FDR against questions generated) and Figure 9 (meta-skill density)."""
    curves = {}
    for name, method in data.methods.items():
        outcomes = [r.failed if (r.judged and r.valid) else None for r in method.curve_rows]
        curves[name] = [(x, 100 * y) for x, y in fdr_curve(outcomes)]
    parts = [svg.line_chart("fdr-curve", "Cumulative FDR", curves, "questions generated", "FDR (%)", 100, 0)]
    for name, method in data.methods.items():
        density = meta_skill_density(data.skill_rows(method.curve_rows), data.meta_of)
        if len(density.counts) > 1:
            whole = density.edges[-1] - density.edges[0] >= len(density.counts)  # integer steps per bin
            columns = [f"{edge:.0f}" if whole else f"{edge:.2g}" for edge in density.edges[:-1]]
            parts.append(
                svg.heatmap(
                    f"density-{name}",
                    f"Meta-skill density over training steps: {name}",
                    list(density.share),
                    columns,
                    list(density.share.values()),
                )
            )
    if len(parts) == 1:
        parts.append(note("Meta-skill density: no method has questions at more than one training step."))
    return '<div class="charts">' + "".join(parts) + "</div>"


def exclusive(data: ReportData, groups: Mapping[str, Sequence[str]] | None, min_questions: int) -> str:
    """Table 3: skills covered only by a group of methods, with their failure rates."""
    rows = [r for d in data.methods.values() for r in data.skill_rows(d.table_rows)]
    groups = groups or {m: [m] for m in data.methods}
    parts = []
    for title, members in groups.items():
        found = exclusive_skills(rows, set(members), min_questions)
        methods = [m for m in data.methods if m in members]
        others = [m for m in data.methods if m not in members]
        body = [
            [
                e.skill,
                *(_rate_cell(e.rates.get(m)) for m in methods),
                pct(e.mean),
                ", ".join(f"{m} {sum(e.skill in r.skills for r in rows if r.method == m)}" for m in others),
            ]
            for e in found
        ]
        mean = sum(e.mean for e in found) / len(found) if found else math.nan
        parts.append(f"<h3>Exclusive to {escape(title)}: {len(found)} skills (avg FDR {pct(mean)}%)</h3>")
        header = ["Skill", *(f"{m} FDR % (n)" for m in methods), "Mean FDR %", "Others' valid questions"]
        parts.append(table(header, body))
    return "".join(parts) + note(
        f"A method covers a skill with more than {min_questions} valid questions; a skill is exclusive to a "
        f"group when no method outside it covers it. Methods outside may still ask it {min_questions} times "
        "or fewer (last column), so it can show under them in the per-skill table."
    )


def landscape_tables(data: ReportData, min_questions: int) -> str:
    """Tables 8-9 for every questioner that faced two or more answerers."""
    rows = [r for d in data.methods.values() for r in data.skill_rows(d.table_rows)]
    found = landscapes(rows, min_questions)
    if not found:
        return note(
            "Needs runs of one questioner against two or more answerers (questioner x answerer matrix)."
        )
    parts = []
    for land in found:
        hard = [[r.skill, *(pct(v) for v in r.rates)] for r in land.hard]
        specific = [[r.skill, *(pct(v) for v in r.rates), pct(r.spread)] for r in land.specific]
        parts.append(f"<h3>Questioner {escape(land.questioner)} ({land.n_skills} shared skills)</h3>")
        parts.append('<div class="pair"><div><h4>Universally hard (by minimum FDR)</h4>')
        parts.append(table(["Skill", *land.answerers], hard) + "</div>")
        parts.append("<div><h4>Model-specific (by FDR standard deviation)</h4>")
        parts.append(table(["Skill", *land.answerers, "σ"], specific) + "</div></div>")
    return "".join(parts)


def bench_tables(data: ReportData) -> str:
    """Per bench run: the per-setting summary (with order sensitivity) and accuracy per subtask with CIs."""
    parts = []
    for run in data.benches:
        parts.append(f"<h3>{escape(run.label)}</h3>")
        parts.append(table(*summary_rows(run.metrics), "bench"))
        parts.append(
            "<h4>Accuracy by subtask [95% CI]</h4>" + table(*breakdown_rows(run.metrics, "by_subtask"))
        )
        parts.append("<h4>Top failure slices</h4>" + table(*slice_rows(run.metrics)))
    return "".join(parts)


def taxonomy_section(data: ReportData) -> str:
    """The taxonomy's skills by meta-skill, stage counts, timings and recovery."""
    tax = data.taxonomy
    if tax is None:
        return note("No taxonomy run given: skills are the exact skills carried by the records.")
    metrics: dict[str, Any] = tax.metrics
    skills = metrics.get("skills", {})
    groups = "".join(
        f"<li><b>{escape(meta)}</b>: "
        + ", ".join(f"{escape(s)} ({skills.get(s, {}).get('n_questions', 0)})" for s in members)
        + "</li>"
        for meta, members in metrics.get("meta_skills", {}).items()
    )
    counts = [[k, str(v)] for k, v in metrics.get("counts", {}).items()]
    timings = [[k, f"{v:.2f}"] for k, v in metrics.get("timings_s", {}).items()]
    recovery = metrics.get("recovery") or {}
    rec = [[k, num(v, 3) if isinstance(v, float) else str(v)] for k, v in recovery.items() if k != "majority"]
    return (
        f'<ul class="taxonomy">{groups}</ul>'
        + '<div class="pair"><div><h4>Stage counts</h4>'
        + table(["", "count"], counts)
        + "</div>"
        + "<div><h4>Stage timings (s)</h4>"
        + table(["", "seconds"], timings)
        + "</div>"
        + ("<div><h4>Recovery of exact skills</h4>" + table(["", "value"], rec) + "</div>" if rec else "")
        + "</div>"
    )
