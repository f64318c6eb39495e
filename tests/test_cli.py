import pytest
from typer.testing import CliRunner

from scotoma.cli import app

runner = CliRunner()


def test_help_lists_every_job():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for job in ("probe", "bench", "synth", "train", "report", "taxonomy", "world", "serve"):
        assert job in result.output


@pytest.mark.parametrize("job", ["probe", "bench", "synth", "train", "report", "taxonomy", "world", "serve"])
def test_every_job_has_help(job):
    result = runner.invoke(app, [job, "--help"])
    assert result.exit_code == 0, result.output


def test_probe_without_shipped_models_says_how_to_get_them(tmp_path):
    result = runner.invoke(
        app, ["probe", "--answerer", "builtin:no-such-model", "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 2
    assert "train" in result.output


def test_synth_world_chains_and_report_of_a_bench_run(tmp_path):
    synth = runner.invoke(app, ["synth", "visc", "--out", str(tmp_path / "visc"), "--n", "5"])
    assert synth.exit_code == 0, synth.output
    assert (tmp_path / "visc" / "records.jsonl").exists()
    bench = ["bench", "world", "--model", "scripted:yes", "--n-boot", "20", "--out", str(tmp_path / "b")]
    assert runner.invoke(app, bench).exit_code == 0
    report = runner.invoke(app, ["report", str(tmp_path / "b"), "--out", str(tmp_path / "r")])
    assert report.exit_code == 0, report.output
    assert (tmp_path / "r" / "report.html").exists()


def test_bench_runs_compares_and_lists(tmp_path):
    fixture = "tests/fixtures/mmra_mini"
    common = [
        "--data",
        fixture,
        "--model",
        "scripted:The answer is (A).",
        "--n-boot",
        "50",
        "--permute",
        "images",
    ]
    first = runner.invoke(app, ["bench", "mmra", *common, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "a" / "metrics.json").exists() and (tmp_path / "a" / "results.html").exists()
    second = runner.invoke(app, ["bench", "mmra", *common, "--out", str(tmp_path / "a")])
    assert "(0 new)" in second.output  # resumed: nothing run twice
    other = ["--data", fixture, "--model", "scripted:B", "--n-boot", "50", "--out", str(tmp_path / "b")]
    assert runner.invoke(app, ["bench", "mmra", *other]).exit_code == 0
    compared = runner.invoke(app, ["bench", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert compared.exit_code == 0, compared.output
    assert "mmra" in runner.invoke(app, ["bench", "list"]).output


def test_bench_without_a_model_says_what_to_give():
    result = runner.invoke(app, ["bench", "mmra"])
    assert result.exit_code != 0
    assert "--model" in result.output


@pytest.mark.parametrize("stage", ["sft", "dpo", "grpo"])
def test_train_stages_have_help(stage):
    result = runner.invoke(app, ["train", stage, "--help"])
    assert result.exit_code == 0 and "--recipe" in result.output
