"""`scotoma world generate` and `scotoma world show`, through typer's CliRunner."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from scotoma.cli import app
from scotoma.world import judge
from scotoma.world.sampling.dataset import load_sample, read_samples

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def generate(out: Path, *options: str):
    return runner.invoke(app, ["world", "generate", "--out", str(out), *options])


def test_generate_writes_records_images_and_a_summary(tmp_path):
    result = generate(tmp_path, "--n", "12", "--images-per-sample", "2", "--seed", "4")
    assert result.exit_code == 0, result.output
    assert "families and answer balance" in result.output and "skills" in result.output
    records = list(read_samples(tmp_path))
    assert [r["key"] for r in records] == [f"4-{i}" for i in range(12)]
    for record in records:
        assert len(record["images"]) == 2
        assert all((tmp_path / image["uri"]).is_file() for image in record["images"])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["n"] == 12 and sum(metrics["families"].values()) == 12
    spec = json.loads((tmp_path / "spec.json").read_text())
    assert spec["seed"] == 4 and spec["config"]["images_per_sample"] == [2, 2]


def test_generate_options_reach_the_sampler(tmp_path):
    result = generate(
        tmp_path,
        *("--n", "16", "--images-per-sample", "1-3", "--families", "counting,cross_image"),
        *("--objects", "2-5", "--max-depth", "2", "--no-balance"),
    )
    assert result.exit_code == 0, result.output
    for record in read_samples(tmp_path):
        sample = load_sample(tmp_path, record["key"])
        assert sample.family in ("counting", "cross_image") and 1 <= len(sample.images) <= 3
        assert all(2 <= len(box.objects) <= 5 for box in sample.scene.boxes)
        assert record["target"] is None
        assert judge(sample.question, sample.scene).answer == sample.answer


def test_skills_option_filters_questions(tmp_path):
    result = generate(tmp_path, "--n", "6", "--families", "spatial", "--skills", "spatial:right")
    assert result.exit_code == 0, result.output
    assert all("spatial:right" in r["skills"] for r in read_samples(tmp_path))


def test_rerun_resumes_and_a_different_request_needs_force(tmp_path):
    assert generate(tmp_path, "--n", "5").exit_code == 0
    first = (tmp_path / "records.jsonl").read_text()
    assert generate(tmp_path, "--n", "8").exit_code == 0  # extends: three more, the first five untouched
    text = (tmp_path / "records.jsonl").read_text()
    assert text.startswith(first) and len(text.splitlines()) == 8
    clash = generate(tmp_path, "--n", "5", "--seed", "1")
    assert clash.exit_code == 2 and "different" in clash.output
    assert generate(tmp_path, "--n", "3", "--seed", "1", "--force").exit_code == 0
    assert [r["key"] for r in read_samples(tmp_path)] == ["1-0", "1-1", "1-2"]


def test_bad_options_say_what_is_wrong(tmp_path):
    bad_range = generate(tmp_path, "--images-per-sample", "three")
    assert bad_range.exit_code == 2 and "N1-N2" in bad_range.output
    bad_family = generate(tmp_path, "--families", "colours")
    assert bad_family.exit_code == 2 and "unknown families" in bad_family.output
    too_many = generate(tmp_path, "--images-per-sample", "2-9")
    assert too_many.exit_code == 2 and "images_per_sample" in too_many.output


def test_show_prints_one_sample(tmp_path):
    assert generate(tmp_path, "--n", "4", "--images-per-sample", "3").exit_code == 0
    record = list(read_samples(tmp_path))[2]
    for which in ("2", "0-2"):
        result = runner.invoke(app, ["world", "show", str(tmp_path), which])
        assert result.exit_code == 0, result.output
        out = result.output
        assert record["question"] in out and f"answer:   {record['answer']}" in out
        assert f"program:  {record['program']['node']}(" in out and ", ".join(record["skills"]) in out
        for k, image in enumerate(record["images"], 1):
            assert f"Image {k}: {tmp_path / image['uri']}" in out
        rows = [line for line in out.splitlines() if re.match(r"^│ (square|circle|triangle) ", line)]
        assert len(rows) == sum(len(box) for box in record["scene"])  # one row per object
    first = runner.invoke(app, ["world", "show", str(tmp_path)])
    assert first.exit_code == 0 and "0-0" in first.output
    missing = runner.invoke(app, ["world", "show", str(tmp_path), "7-7"])
    assert missing.exit_code == 2 and "no sample" in missing.output
    nothing = runner.invoke(app, ["world", "show", str(tmp_path / "nowhere")])
    assert nothing.exit_code == 2 and "scotoma world generate" in nothing.output


def test_the_readme_world_command_runs(tmp_path):
    """The README's world example, with its --out moved into a temporary folder."""
    command = next(line for line in (ROOT / "README.md").read_text().splitlines() if "world generate" in line)
    args = shlex.split(command.split("#")[0].split("scotoma ", 1)[1])
    args[args.index("--out") + 1] = str(tmp_path / "world")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    n = int(args[args.index("--n") + 1])
    assert len(list(read_samples(tmp_path / "world"))) == n
