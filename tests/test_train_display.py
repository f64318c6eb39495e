"""What a training run shows (one bar with a few figures) and keeps (every log dict in its run directory),
driven by hand with a stand-in for transformers' TrainerState."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from scotoma.cli.boundary import is_user_error, message_of
from scotoma.errors import MissingExtra
from scotoma.probe.training import PROBE_FIELDS
from scotoma.runlog import RunDir
from scotoma.train.display import STAGE_FIELDS, StatusField, status_text, training_display
from scotoma.train.harness import step_logger

LOGS = [  # three steps of a probe's GRPO, as TRL logs them (abridged), then its closing summary
    {"loss": 2.2e-08, "reward": -0.00558, "probe/valid": 0.71875, "probe/fdr": 0.3913, "epoch": 0.5},
    {"loss": 4.3e-05, "reward": -0.05469, "probe/valid": 0.75, "probe/fdr": 0.3333, "epoch": 1.0},
    {"loss": 1.8e-04, "reward": -0.1132, "probe/valid": 0.78125, "probe/fdr": 0.28, "epoch": 1.5},
    {"train_runtime": 8.257, "train_loss": 7.587e-05, "epoch": 1.5},
]


def state(step: int, max_steps: int = 3) -> SimpleNamespace:
    return SimpleNamespace(global_step=step, max_steps=max_steps, is_local_process_zero=True)


def test_status_text_by_hand():
    assert status_text(LOGS[2], PROBE_FIELDS) == "reward -0.113  valid 78%  FDR 28%"
    assert status_text(LOGS[0], STAGE_FIELDS["sft"]) == "loss 2.2e-08"
    # absent and non-numeric figures are left out, not shown as 0
    assert status_text({"reward": 0.5, "probe/fdr": "n/a"}, PROBE_FIELDS) == "reward 0.5"
    assert status_text(LOGS[3], PROBE_FIELDS) == ""
    assert StatusField("acc", "a", percent=True).format(0.125) == "acc 12%"


def test_the_display_counts_steps_and_shows_the_latest_figures():
    display = training_display("GRPO rl", PROBE_FIELDS)
    display.on_train_begin(None, state(0), None)
    for step, logs in enumerate(LOGS[:3], start=1):
        display.on_step_end(None, state(step), None)
        display.on_log(None, state(step), None, logs=dict(logs))
        assert display.bar.completed == step and display.bar.total == 3
    assert display.bar.status == "reward -0.113  valid 78%  FDR 28%"
    display.on_log(None, state(3), None, logs=dict(LOGS[3]))  # the summary has none of them: kept as was
    assert display.bar.status == "reward -0.113  valid 78%  FDR 28%"
    display.on_train_end(None, state(3), None)


def test_every_log_dict_lands_in_the_run_directory(tmp_path):
    run = RunDir.open(tmp_path / "grpo", "train grpo", {"recipe": {}}, 0)
    logger = step_logger(run)
    logger.on_train_begin(None, state(0), None)
    for step, logs in enumerate(LOGS, start=1):
        logger.on_step_end(None, state(step), None)
        logger.on_log(None, state(step), None, logs=dict(logs))
    run.close()
    records = [json.loads(line) for line in (tmp_path / "grpo" / "records.jsonl").read_text().splitlines()]
    # each step's dict whole, with its step and time; the closing summary goes to metrics.json instead
    assert [r["step"] for r in records] == [1, 2, 3]
    for record, logs in zip(records, LOGS[:3], strict=True):
        assert {k: record[k] for k in logs} == logs and record["step_time_s"] >= 0
    assert logger.losses == [2.2e-08, 4.3e-05, 1.8e-04]
    assert logger.last_logs["train_runtime"] == 8.257


def test_a_missing_extra_is_one_line_that_names_it(monkeypatch):
    import sys

    from scotoma.taxonomy.cluster import ClusterConfig, cluster

    monkeypatch.setitem(sys.modules, "bertopic", None)  # makes `import bertopic` raise ImportError
    docs = [f"skill {i}" for i in range(40)]
    vectors = np.random.default_rng(0).normal(size=(40, 8))
    with pytest.raises(MissingExtra) as caught:
        cluster(docs, vectors, ClusterConfig(method="bertopic", min_docs_bertopic=10))
    assert is_user_error(caught.value)  # exit code 2, no "a bug" and no traceback
    line = message_of(caught.value)
    assert "\n" not in line and "pip install 'scotoma[taxonomy]'" in line and "bertopic" in line
