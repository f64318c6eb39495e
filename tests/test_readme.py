"""The README's commands work as written.

Every command line of the README's ```bash blocks is classified in `COMMANDS`: run in the default tier,
run in the slow tier, or skipped with its reason (external data, a model download, a server). A README
line missing from the table, or a table entry the README no longer holds, fails
`test_every_readme_command_is_classified`, so a new command cannot go untested by accident. Commands run
in a fresh working directory, in README order (later ones read what earlier ones wrote, e.g. `world show`
the folder of `world generate`), through the CLI in this process; long ones get small sizes through their
documented options, appended, where the last value given wins. Every job names an existing summary file.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
INSTALL_AND_PROBE = (
    "python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 -e . && .venv/bin/scotoma probe"
)
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e '.[dev]' "
    "&& .venv/bin/python -m pytest"
)
PROBE_RUN = "runs/probe/builtin_questioner--builtin_answerer--oracle"  # the default run's folder
SMALL_LOOP = (  # every stage on a few items (tests/conftest.py's small_loop_config), enough probe to rank
    "probe_samples=12 probe_generations=1 min_skill_questions=0 eval_items=11 nlvr_limit=4 chains=2 "
    "pairs=2 targeted_questions=6 replay_questions=6 primitive_questions=4 questions_per_row=2 "
    "sft_overrides=max_steps=2,per_device_train_batch_size=4 "
    "dpo_overrides=max_steps=1,per_device_train_batch_size=2"
)


@dataclass(frozen=True)
class Case:
    """How the test treats one README line.

    Attributes:
        tier: "default" or "slow" (run), or "skip".
        why: for a skip, the reason; for a run with `extra`, why it is shrunk.
        extra: arguments appended to the command (documented options, smaller sizes).
        summary: the job ends with a `summary: PATH` line (every job but listings and viewers).
        fresh: run it in a working directory of its own (commands that would share one run folder).
    """

    tier: str
    why: str = ""
    extra: str = ""
    summary: bool = True
    fresh: bool = False


COMMANDS: dict[str, Case] = {
    INSTALL_AND_PROBE: Case("slow", "the main job as written: ~3 minutes of GRPO on CPU"),
    TEST_COMMAND: Case(
        "skip", "the test suite itself; CI runs it verbatim (test_ci_runs_the_readme_test_command)"
    ),
    (
        "scotoma world generate --n 200 --images-per-sample 1-4 --families existence,counting "
        "--out runs/world"
    ): Case("default", "20 samples", "--n 20"),
    "scotoma world show runs/world 0": Case("default", summary=False),
    ".venv/bin/pip install -e '.[taxonomy]'": Case(
        "skip", "installs from PyPI; the dev extra the tests run with holds the taxonomy extra"
    ),
    f"scotoma taxonomy {PROBE_RUN} --stand-in --out runs/taxonomy": Case("slow", "reads the main job's run"),
    f"scotoma report {PROBE_RUN} runs/taxonomy --out runs/report": Case("slow", "reads the main job's run"),
    "scotoma bench list": Case("default", summary=False),
    (
        "scotoma bench mmra --data PATH --model hf:Qwen/Qwen2.5-VL-3B-Instruct --setting IQ,QO "
        "--permute images"
    ): Case("skip", "needs MMRA's data (--data PATH) and Qwen2.5-VL-3B's weights from the hub"),
    "scotoma bench world,nlvr1 --model builtin:answerer --out runs/both": Case(
        "default", "6 items per benchmark", "--limit 6 --n-boot 20"
    ),
    "scotoma bench compare RUN_A RUN_B": Case(
        "default", "RUN_A and RUN_B stand for run folders: the world run above, against itself", summary=False
    ),
    "scotoma synth visc --out runs/visc --n 500": Case("default", "20 chains", "--n 20"),
    (
        "scotoma synth s2h --out runs/s2h --model builtin:answerer --formats trl,easyr1 --absolute-paths "
        "distractors=3"
    ): Case("default", "6 samples", "--n 6"),
    (
        "scotoma train sft --recipe world_tiny/sft.yaml --data runs/visc/trl/sft.jsonl --out runs/sft "
        "learning_rate=1e-4"
    ): Case("default", "2 optimiser steps", "max_steps=2"),
    "scotoma loop --out runs/loop": Case("slow", "a few items per stage (17 minutes as written)", SMALL_LOOP),
    "scotoma loop targets=counting,arithmetic dpo=false chains=500": Case(
        "slow", "a few items per stage", SMALL_LOOP, fresh=True
    ),
    "scotoma loop --answerer builtin:answerer-yellow-unseen choose=slices": Case(
        "slow", "a few items per stage", SMALL_LOOP, fresh=True
    ),
    'scotoma serve --model builtin:answerer --port 8000 --api-key "$KEY"': Case(
        "skip", "a server that runs until stopped; tests/test_serve.py serves the same app"
    ),
}
PLACEHOLDERS = {"RUN_A": "runs/both/world", "RUN_B": "runs/both/world"}


def readme_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def command_lines(block: str) -> list[str]:
    """The block's commands, without comment lines and trailing `# ...` comments."""
    lines = []
    for line in block.splitlines():
        code = re.sub(r"\s+#\s.*$", "", line).strip()
        if code and not code.startswith("#"):
            lines.append(code)
    return lines


def readme_commands() -> list[str]:
    """The README's command lines, in order."""
    return [line for block in readme_blocks() for line in command_lines(block)]


def test_readme_opens_with_install_run_and_test_commands():
    run, test = (line for block in readme_blocks()[:2] for line in command_lines(block))
    assert run == INSTALL_AND_PROBE and test == TEST_COMMAND
    assert "torch==2.13.0" in run and ".venv/bin/scotoma " in run
    assert "torch==2.13.0" in test and "pytest" in test


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert TEST_COMMAND in ci_lines


def test_every_readme_command_is_classified():
    commands = readme_commands()
    unclassified = [c for c in commands if c not in COMMANDS]
    assert not unclassified, (
        f"classify these README commands in tests/test_readme.py COMMANDS: {unclassified}"
    )
    stale = [c for c in COMMANDS if c not in commands]
    assert not stale, f"no longer in the README, drop them from COMMANDS: {stale}"
    assert all(case.tier in ("default", "slow", "skip") for case in COMMANDS.values())
    assert all(case.why for case in COMMANDS.values() if case.tier == "skip")


def cli_args(command: str, case: Case) -> list[str]:
    """The arguments after `scotoma`, placeholders replaced and the case's extra arguments appended."""
    tail = command.split("scotoma ", 1)[1]
    args = [PLACEHOLDERS.get(arg, arg) for arg in shlex.split(tail)]
    return [*args, *shlex.split(case.extra)]


def summary_path(output: str) -> Path:
    """The path of the job's `summary: PATH` line (scotoma.cli.summary_line)."""
    lines = [line for line in output.splitlines() if line.startswith("summary: ")]
    assert lines, f"no summary line in:\n{output}"
    return Path(lines[-1].removeprefix("summary: ").split("  html: ")[0])


def run_tier(tier: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run the tier's README commands in order; return them."""
    from scotoma.cli import app

    monkeypatch.setenv("SCOTOMA_QUIET", "1")
    monkeypatch.setenv("SCOTOMA_CACHE_DIR", str(workdir / "cache"))
    ran = []
    for n, command in enumerate(readme_commands()):
        case = COMMANDS[command]
        if case.tier != tier:
            continue
        cwd = workdir / f"own{n}" if case.fresh else workdir / "shared"
        cwd.mkdir(exist_ok=True)
        monkeypatch.chdir(cwd)
        result = CliRunner().invoke(app, cli_args(command, case))
        assert result.exit_code == 0, f"{command}\n{result.output}"
        # neither transformers' printed log dicts nor the libraries' tqdm bars come between the job's lines
        assert "{'loss'" not in result.output, result.output
        assert "it/s]" not in result.output and "examples/s]" not in result.output, result.output
        if case.summary:
            html = summary_path(result.output)
            assert html.is_file(), f"{command}: its summary line names no file\n{result.output}"
        ran.append(command)
    return ran


@pytest.mark.integration
def test_the_readme_commands_run(tmp_path, monkeypatch):
    """Every default-tier README command, as written but smaller (~30 s on 2 CPU cores)."""
    ran = run_tier("default", tmp_path, monkeypatch)
    assert len(ran) == sum(case.tier == "default" for case in COMMANDS.values())


@pytest.mark.slow  # ~3 minutes of the main job, a minute per small loop, on 2 CPU cores
def test_the_readme_long_commands_run(tmp_path, monkeypatch):
    """The main job as written (its default run folder), the taxonomy and report of it, the loops."""
    import json

    ran = run_tier("slow", tmp_path, monkeypatch)
    assert len(ran) == sum(case.tier == "slow" for case in COMMANDS.values())
    probe = tmp_path / "shared" / PROBE_RUN
    metrics = json.loads((probe / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"rl", "zero_shot"}
    assert all(m["questions"] > 0 for m in metrics["methods"].values())
    assert (probe / "summary.html").is_file() and (tmp_path / "shared" / "runs/report/report.html").is_file()
