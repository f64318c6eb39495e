"""benchmarks/gpu_check.py stays ready to run: its plumbing runs end to end on CPU with a tiny model."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # ~20 s: two stages of the check on a tiny Qwen2.5-VL
def test_the_gpu_check_runs_its_stages_on_a_tiny_model(tmp_path):
    command = [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--smoke", "--out", str(tmp_path)]
    done = subprocess.run(
        [*command, "--only", "generate", "--only", "bench"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    generate, bench = report["stages"]["generate"], report["stages"]["bench"]
    assert "error" not in generate and "error" not in bench, report
    assert generate["1"]["backend_tok_s"] > 0 and generate["2"]["plain_generate_tok_s"] > 0
    assert bench["variants"] == 12  # 2 NLVR1 statements x 6 box orders
