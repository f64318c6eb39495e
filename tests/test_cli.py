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


@pytest.mark.integration
def test_a_short_probe_shows_one_display_and_names_its_summary(tmp_path, monkeypatch):
    """No printed log dicts, library bars or FutureWarning; the log dicts are in the run directory."""
    import json
    import warnings

    monkeypatch.setenv("SCOTOMA_CACHE_DIR", str(tmp_path / "cache"))
    grpo = "max_steps=2,num_generations=2,per_device_train_batch_size=4,device=cpu"
    args = ["probe", "world_samples=2", "eval_generations=1", "embedder=hashing", f"recipe_overrides={grpo}"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = runner.invoke(app, [*args, "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert "{'loss'" not in result.output and "probe/fdr" not in result.output, result.output
    assert "it/s]" not in result.output and "examples/s]" not in result.output, result.output  # tqdm bars
    assert not [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    last = result.output.strip().splitlines()[-1]
    assert last == f"summary: {tmp_path / 'p' / 'metrics.json'}  html: {tmp_path / 'p' / 'summary.html'}"
    assert (tmp_path / "p" / "metrics.json").is_file() and (tmp_path / "p" / "summary.html").is_file()
    steps = (tmp_path / "p" / "rl" / "grpo" / "records.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in steps] == [1, 2]
    assert all("probe/fdr" in json.loads(line) for line in steps)
