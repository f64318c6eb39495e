"""The HTML report: what each section shows, computed from run directories only."""

from __future__ import annotations

import re
from html import escape, unescape

import numpy as np
import pytest

from scotoma.report import RunError, TaxonomyRun, load_runs, write_report
from scotoma.report.data import assemble, exact_meta_skill, method_table
from scotoma.report.slices import row_predicates
from scotoma.slices import rank_slices
from scotoma.svg import bar_chart, heatmap, line_chart, radar, ticks
from test_report_runs import bench_run, hashed_vectors, probe_run, taxonomy_run, world_runs, write_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    probes = world_runs(root)
    return {"probes": probes, "taxonomy": taxonomy_run(root, probes), "bench": bench_run(root / "bench")}


@pytest.fixture(scope="module")
def page(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    path = write_report([*runs["probes"], runs["taxonomy"], runs["bench"]], out, min_questions=2)
    return path.read_text(encoding="utf-8")


def section(page: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, flags=re.DOTALL)
    assert match, f"no section {anchor}"
    return match.group(1)


def test_the_page_is_self_contained(page):
    assert page.startswith("<!doctype html>")
    # Nothing is fetched: no external script, style, image or link (the SVG namespace is only a name).
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<link" not in page and "<script src" not in page and "@import" not in page
    for anchor in ("runs", "summary", "meta-skills", "skills", "composition", "training", "exclusive"):
        section(page, anchor)
    for anchor in ("landscape", "failures", "bench", "taxonomy"):
        section(page, anchor)


def test_table_1_matches_the_records(runs):
    data = assemble(load_runs(runs["probes"]))
    table = {row["method"]: row for row in method_table(data, min_questions=2)}
    assert list(table) == ["zero_shot", "rl (small)", "rl (large)"]  # rl faced two answerers
    records = [r for r in load_runs(runs["probes"][:1])[0].rows]
    valid = [r for r in records if r.valid]
    zero = table["zero_shot"]
    assert zero["qvr"] == len(valid) / len(records) and zero["valid"] == len(valid)
    assert zero["fdr"] == sum(r.failed for r in valid) / len(valid)
    assert zero["coverage"] == pytest.approx(sum(len(set(r.skills)) for r in valid) / len(valid))
    rl = table["rl (small)"]
    assert zero["sd"] == rl["sd"] == 12.5  # no embeddings: each run's own metrics.json value
    assert rl["questions"] == 60  # its eval rows only; the 60 training rows feed the curves
    assert rl["fdr"] > zero["fdr"] > table["rl (large)"]["fdr"]


def test_summary_marks_best_and_second(page):
    summary = section(page, "summary")
    assert summary.count('class="best"') >= 6 and 'class="second"' in summary
    fdr = re.findall(r"<tr><td>([^<]+)</td><td>.*?</td><td>(.*?)</td>", summary)
    best = [method for method, cell in fdr if 'class="best"' in cell]
    assert best == ["rl (small)"]  # the highest FDR


def test_table_1_defines_every_column(page):
    summary = unescape(section(page, "summary"))
    headers = re.findall(r"<th( title=\"[^\"]+\")?>([^<]+)</th>", summary)
    assert [h for tip, h in headers if not tip] == ["Method"]  # every other column has a tooltip
    for _, name in headers[1:]:
        assert re.search(rf"<dt>{re.escape(name)}</dt><dd>[^<]+</dd>", summary)
    assert "<dt># Skills</dt><dd>skills needed by more than 2 valid questions</dd>" in summary


def test_radars_draw_one_polygon_per_method_and_axis(page):
    body = section(page, "meta-skills")
    for key in ("fdr", "sd", "ld"):
        chart = re.search(rf'<svg class="chart" data-chart="radar-{key}".*?</svg>', body, flags=re.DOTALL)
        assert chart, key
        assert chart.group(0).count('class="series"') == 3


def test_skills_come_from_the_taxonomy(runs, page):
    taxonomy = load_runs([runs["taxonomy"]])[0]
    skills = section(page, "skills")
    top = max(taxonomy.metrics["skills"].items(), key=lambda kv: kv[1]["n_questions"])[0]
    assert f"<td>{top}</td>" in unescape(skills)
    assert "Skills from the taxonomy skill source" in section(page, "summary")


def test_training_figures(page):
    body = section(page, "training")
    assert 'data-chart="fdr-curve"' in body and body.count("<polyline") == 3
    assert 'data-chart="density-rl (small)"' in body  # the only method with training steps
    assert body.count('class="cell"') > 0


def test_gallery_cards_and_filters(runs, page):
    body = section(page, "failures")
    cards = re.findall(r'<div class="card" data-skills="([^"]*)" data-method="([^"]*)">', body)
    rows = [r for run in load_runs(runs["probes"]) for r in run.rows if r.phase == "eval" and r.failed]
    assert len(cards) == len(rows) <= 120
    assert {m for _, m in cards} == {"zero_shot", "rl (small)", "rl (large)"}
    assert body.count('src="data:image/png;base64,') >= len(cards)
    # thumbnails numbered as the questions name the images: image 1, image 2, ... in each card
    for card in re.findall(r'<div class="thumbs">(.*?)</div>', body):
        numbers = re.findall(r"<figcaption>image (\d+)</figcaption>", card)
        assert numbers == [str(n) for n in range(1, len(numbers) + 1)] and numbers
    assert 'id="skill-filter"' in body and 'id="method-filter"' in body
    options = re.findall(r'<option value="([^"]+)">', body)
    assert all(skill in options for skills, _ in cards for skill in unescape(skills).split("|") if skill)
    assert "the target miscounted" in body and "Right answer:" in body


def test_gallery_is_capped_round_robin(runs, tmp_path):
    path = write_report(runs["probes"], tmp_path, max_gallery=5, min_questions=2)
    body = section(path.read_text(), "failures")
    methods = re.findall(r'data-method="([^"]*)"', body)
    assert methods == ["zero_shot", "rl (small)", "rl (large)", "zero_shot", "rl (small)"]
    assert re.search(r"\(5 of \d+ failures drawn\)", body)


def test_exclusive_and_landscape_tables(runs, tmp_path):
    groups = {"RL methods": ["rl (small)", "rl (large)"], "baselines": ["zero_shot"]}
    path = write_report(runs["probes"], tmp_path, min_questions=2, exclusive_groups=groups)
    page = path.read_text()
    exclusive = section(page, "exclusive")
    assert "Exclusive to RL methods" in exclusive and "Exclusive to baselines" in exclusive
    # each exclusive skill says how often the methods outside the group ask it (at most min_questions)
    data = assemble(load_runs(runs["probes"]))
    rows = {m: data.skill_rows(d.table_rows) for m, d in data.methods.items()}
    zero_only = re.search(r"Exclusive to baselines.*?</table>", exclusive, re.S).group(0)
    found = re.findall(r"<tr><td>([^<]+)</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td></tr>", zero_only)
    assert found, "the fixture has skills only zero_shot covers"
    for skill, others in found:
        counts = {m: sum(skill in r.skills for r in rows[m]) for m in ("rl (small)", "rl (large)")}
        assert others == ", ".join(f"{m} {n}" for m, n in counts.items()) and max(counts.values()) <= 2
    landscape = unescape(section(page, "landscape"))
    # zero_shot and rl (small) faced the small target, rl (large) the large one: one questioner, two targets.
    assert "Questioner builtin:questioner" in landscape and "Universally hard" in landscape
    assert "<th>small</th><th>large</th>" in landscape and "<th>σ</th>" in landscape


def test_bench_tables(page):
    body = unescape(section(page, "bench"))
    assert "mini - scripted:" in body and "Order-sensitive" in body
    assert re.search(r"<td>count</td><td>\d+\.\d \[\d+\.\d, \d+\.\d\]</td>", body)  # accuracy with its CI


def test_without_a_taxonomy_exact_skills_and_prefix_meta_skills(runs, tmp_path):
    page = write_report(runs["probes"][:1], tmp_path, min_questions=2).read_text()
    assert "Skills from the exact skill source" in page
    assert "Semantic diversity: not available" in page  # no embeddings and no taxonomy
    assert (
        exact_meta_skill("spatial:left") == "Spatial"
        and exact_meta_skill("cross_image:comparison") == "Cross image"
    )
    with_vectors = write_report(
        runs["probes"][:1], tmp_path / "e", min_questions=2, vectors=hashed_vectors(runs["probes"][:1])
    )
    assert 'data-chart="radar-sd"' in with_vectors.read_text()
    # the CLI is the caller that embeds: `scotoma report --embedder hashing`
    from typer.testing import CliRunner

    from scotoma.cli import app

    cli = ["report", str(runs["probes"][0]), "--out", str(tmp_path / "c"), "--embedder", "hashing"]
    done = CliRunner().invoke(app, cli)
    assert done.exit_code == 0, done.output
    assert 'data-chart="radar-sd"' in (tmp_path / "c" / "report.html").read_text()


def test_missing_images_are_noted_not_fatal(tmp_path):
    record = {
        "key": "a",
        "question": "Q?",
        "valid": True,
        "failed": True,
        "method": "m",
        "images": [{"sha256": "00" * 32, "uri": "gone.png", "width": 5, "height": 5}],
    }
    page = write_report([write_run(tmp_path / "r", "probe", [record])], tmp_path / "out").read_text()
    assert "image 1: not available" in page


def test_bench_only_and_bad_inputs(runs, tmp_path):
    page = write_report([runs["bench"]], tmp_path).read_text()
    assert '<section id="bench">' in page and '<section id="summary">' not in page
    with pytest.raises(ValueError, match="at least one"):
        write_report([], tmp_path)
    with pytest.raises(RunError, match="not a run directory"):
        write_report([tmp_path / "nothing"], tmp_path)
    assert probe_run  # the builders are shared with the browser test


def test_svg_charts_by_hand():
    chart = radar("r", "R", ["a", "b", "c"], {"m": [1.0, 0.5, float("nan")]})
    points = re.search(r'class="series" data-series="m" points="([^"]+)"', chart).group(1).split()
    # centre (250, 195), radius 130, first axis straight up, nan drawn at the centre
    assert points[0] == "250.0,65.0" and points[2] == "250.0,195.0"
    assert "m - c: n/a" in chart
    line = line_chart("l", "L", {"m": [(1, 0.5), (2, 1.0)]}, "x", "y")
    assert 'points="265.0,155.0 470.0,30.0"' in line
    # both axes carry labelled ticks: x at 0, 0.5, 1, 1.5, 2 (x from 60 to 470), y at 0, 0.25, ... 1
    assert (
        line.count('class="tick"') == 5 and '<text x="367.5" y="296" text-anchor="middle">1.5</text>' in line
    )
    assert '<text x="56" y="96.5" text-anchor="end">0.75</text>' in line
    assert ticks(512) == [0, 200, 400] and ticks(100) == [0, 50, 100] and ticks(0) == [0]
    assert ticks(8) == [0, 2, 4, 6, 8] and ticks(3) == [0, 1, 2, 3]
    bars = bar_chart("b", "B", ["x", "y"], {"m": [2.0, 1.0]}, "n")
    assert bars.count('class="bar"') == 2 and 'height="230.0"' in bars and 'height="115.0"' in bars
    assert heatmap("h", "H", ["r"], ["c1", "c2"], [[0.0, 1.0]]).count("rgb(31,119,180)") == 1


def test_taxonomy_runs_carry_skills_meta_skills_and_embeddings(runs):
    loaded = load_runs([*runs["probes"], runs["taxonomy"]])
    taxonomy = loaded[-1]
    assert isinstance(taxonomy, TaxonomyRun)
    probe_rows = [r for run in loaded[:3] for r in run.rows if r.valid]
    assert all(r.question_id in taxonomy.records for r in probe_rows)
    assert set(taxonomy.meta_of) == set(taxonomy.metrics["skills"])
    vector = taxonomy.embeddings[probe_rows[0].question_id]
    assert vector.dtype == np.float32 and abs(float(np.linalg.norm(vector)) - 1) < 1e-2


def test_failure_slices_are_those_of_the_rows(runs, page):
    body = section(page, "slices")
    data = assemble(load_runs([*runs["probes"], runs["taxonomy"]]))
    zero = [r for r in data.methods["zero_shot"].table_rows if r.judged and r.valid and r.question]
    expected = rank_slices(((row_predicates(r, data.skills(r)), bool(r.failed), r) for r in zero), top=8)
    assert expected, "the fixture's zero_shot rows form slices"
    assert escape(expected[0].predicate) in body and "Lift [95% CI]" in body
    assert f"{expected[0].lift:.2f} [{expected[0].lift_low:.2f}, {expected[0].lift_high:.2f}]" in body
    # a failure in several slices is shown once per method, under the first
    for table in re.findall(r"<h3>.*?</table>", body, re.S):
        examples = re.findall(r'<td>(<div class="thumbs">.*?</div>)</td><td>([^<]*)</td><td>[^<]* / ', table)
        assert examples and len(examples) == len(set(examples))
    assert "its example failures are shown above" in body
