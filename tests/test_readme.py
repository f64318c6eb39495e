"""README opens with the two commands, and CI runs the README's test command verbatim."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [line for block in blocks[:2] for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_install_run_and_test_commands():
    run, test = readme_commands()
    assert "torch==2.13.0" in run and ".venv/bin/scotoma " in run
    assert "torch==2.13.0" in test and "pytest" in test


def test_ci_runs_the_readme_test_command():
    _, test = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci_lines


@pytest.mark.slow  # ~3 minutes on 2 CPU cores: GRPO of the built-in questioner, then the zero-shot baseline
def test_the_readme_main_command_runs(tmp_path, monkeypatch):
    """The README's first command (the main job) after the install, with its run directory moved."""
    import json
    import shlex

    from typer.testing import CliRunner

    from scotoma.cli import app

    run, _ = readme_commands()
    args = shlex.split(run.split(".venv/bin/scotoma ", 1)[1])
    assert args[0] == "probe"
    monkeypatch.setenv("SCOTOMA_QUIET", "1")
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "probe")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "probe" / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"rl", "zero_shot"}
    assert all(m["questions"] > 0 for m in metrics["methods"].values())
    assert (tmp_path / "probe" / "summary.html").is_file()
