"""A bench run's figures in the results layout of lmms-eval (and lm-evaluation-harness), `results.json`
beside metrics.json, so the result readers and leaderboards built for those harnesses read scotoma runs.

One task per input setting: the benchmark's name for IQ, `<name>_<setting>` for the others (e.g.
`nlvr1_qo`). Metrics use the harnesses' "metric,filter" keys with the filter "none": `acc` (accuracy
over all variants), `original_order_acc`, `group_acc` (an item counts when every variant is right) and
`macro_acc`, each with its `_stderr`. The standard error is the half-width of the run's 95% bootstrap
interval (clustered on the item) over 1.96 where there is one, else the harnesses' own sqrt(p(1-p)/(n-1)).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from scotoma.runlog import dumps

Z95 = 1.959963984540054
METRICS = {  # the harness key -> scotoma's figure of a setting
    "acc": "accuracy",
    "original_order_acc": "original_order_accuracy",
    "group_acc": "group_accuracy",
    "macro_acc": "macro_accuracy",
}


def task_name(benchmark: str, setting: str) -> str:
    """The harness task of one setting: `nlvr1` for IQ, `nlvr1_qo` for QO."""
    return benchmark if setting == "IQ" else f"{benchmark}_{setting.lower()}"


def standard_error(figure: dict[str, Any]) -> float | str:
    """The standard error of one accuracy figure ({"value", "n", "ci_low", "ci_high"}); "N/A" as the
    harnesses write it when it cannot be had."""
    if figure.get("ci_low") is not None and figure.get("ci_high") is not None:
        return (figure["ci_high"] - figure["ci_low"]) / (2 * Z95)
    p, n = figure.get("value"), figure.get("n") or 0
    if p is None or n < 2:
        return "N/A"
    return math.sqrt(p * (1 - p) / (n - 1))


def lmms_eval_results(metrics: dict[str, Any]) -> dict[str, Any]:
    """The results document of one bench run's metrics (as written to metrics.json, or before)."""
    metrics = json.loads(dumps(metrics))  # dataclasses (GenConfig, PermuteConfig) as they are logged
    benchmark, gen = metrics["benchmark"], metrics.get("gen") or {}
    results, configs, n_samples, better = {}, {}, {}, {}
    for setting, figures in (metrics.get("settings") or {}).items():
        task = task_name(benchmark, setting)
        entry: dict[str, Any] = {"alias": task}
        for key, name in METRICS.items():
            figure = figures.get(name) or {}
            if figure.get("value") is None:
                continue
            entry[f"{key},none"] = figure["value"]
            entry[f"{key}_stderr,none"] = standard_error(figure)
        results[task] = entry
        configs[task] = {
            "task": task,
            "dataset_path": metrics.get("source") or benchmark,
            "output_type": "generate_until",
            "generation_kwargs": {
                "max_new_tokens": gen.get("max_new_tokens"),
                "temperature": gen.get("temperature"),
                "do_sample": bool(gen.get("temperature")),
            },
            "num_fewshot": 0,
            "metadata": {"version": metrics.get("benchmark_version"), "setting": setting},
        }
        n_samples[task] = {"original": figures.get("n_variants"), "effective": figures.get("n_variants")}
        better[task] = {key: True for key in METRICS}
    return {
        "results": results,
        "group_subtasks": {task: [] for task in results},
        "configs": configs,
        "versions": {task: metrics.get("benchmark_version") for task in results},
        "n-shot": {task: 0 for task in results},
        "higher_is_better": better,
        "n-samples": n_samples,
        "config": {
            "model": "scotoma",
            "model_args": f"spec={metrics.get('model')}",
            "batch_size": None,
            "limit": metrics.get("limit"),
            "gen_kwargs": {k: gen.get(k) for k in ("max_new_tokens", "temperature", "top_p", "seed")},
        },
        "date": time.time(),
    }


__all__ = ["lmms_eval_results", "standard_error", "task_name"]
