"""Statistics against hand-computed numbers and an independent re-implementation of the bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scotoma.bench.metrics import compare_records, summarize
from scotoma.bench.stats import bootstrap_macro, bootstrap_ratio, image_bucket, paired_difference


def record(item: str, correct: bool, subtask: str = "X", setting: str = "IQ", order=(0, 1), opt="AB", **kw):
    base = {
        "key": f"{item}|{setting}|img={'-'.join(map(str, order))}|opt={opt}",
        "item_id": item,
        "setting": setting,
        "image_order": list(order),
        "option_order": opt,
        "identity": tuple(order) == (0, 1) and opt == "AB",
        "subtask": subtask,
        "level": "entity" if subtask == "X" else "image",
        "n_images": 2,
        "correct": correct,
        "parsed": True,
        "method": "explicit",
        "answer_original": "A" if correct else "B",
    }
    return {**base, **kw}


def test_accuracy_and_macro_by_hand() -> None:
    # i1: 2/2 right, i2: 0/2, i3 (subtask Y): 2/2 -> micro 4/6; X = 2/4, Y = 2/2 -> macro (0.5 + 1) / 2
    values = [1, 1, 0, 0, 1, 1]
    clusters = ["i1", "i1", "i2", "i2", "i3", "i3"]
    groups = ["X", "X", "X", "X", "Y", "Y"]
    micro = bootstrap_ratio(values, clusters, n_boot=200, seed=0)
    assert micro.value == pytest.approx(4 / 6) and micro.n_items == 3 and micro.n == 6
    macro = bootstrap_macro(values, clusters, groups, n_boot=200, seed=0)
    assert macro.value == pytest.approx(0.75)
    assert 0 <= micro.ci_low <= micro.value <= micro.ci_high <= 1
    assert bootstrap_ratio([1, 1, 1], ["a", "b", "c"]).ci_low == 1.0  # no spread, no width
    with pytest.raises(ValueError, match="two groups"):
        bootstrap_macro([1, 0], ["a", "a"], ["X", "Y"])


def test_clustered_bootstrap_matches_an_independent_loop() -> None:
    rng = np.random.default_rng(7)
    n_items, per_item = 30, 3
    values = rng.integers(0, 2, n_items * per_item).astype(float)
    clusters = [f"item{i:02d}" for i in range(n_items) for _ in range(per_item)]
    got = bootstrap_ratio(values, clusters, n_boot=500, seed=11)
    # the documented procedure, written out: clusters sorted by key, one integers() call per replicate
    keys = sorted(set(clusters))
    sums = np.array([sum(v for v, c in zip(values, clusters, strict=True) if c == k) for k in keys])
    counts = np.array([clusters.count(k) for k in keys], dtype=float)
    draw = np.random.default_rng(11)
    replicates = []
    for _ in range(500):
        idx = draw.integers(0, len(keys), len(keys))
        replicates.append(sums[idx].sum() / counts[idx].sum())
    low, high = np.quantile(replicates, [0.025, 0.975])
    assert (got.ci_low, got.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert got == bootstrap_ratio(values, clusters, n_boot=500, seed=11)  # same seed, same interval
    assert got != bootstrap_ratio(values, clusters, n_boot=500, seed=12)


def test_interval_shrinks_with_more_items() -> None:
    def width(n: int) -> float:
        values = [i % 2 for i in range(n)]  # 50% right
        est = bootstrap_ratio(values, range(n), n_boot=400, seed=0)
        return est.ci_high - est.ci_low

    widths = [width(n) for n in (20, 200, 2000)]
    assert widths[0] > widths[1] > widths[2]
    assert widths[1] / widths[2] == pytest.approx(np.sqrt(10), rel=0.25)  # ~1/sqrt(n)


def test_clustering_widens_the_interval_when_variants_agree() -> None:
    # 60 items, 6 variants each, all variants of an item right or all wrong: only 60 independent draws
    item_right = [i % 3 != 0 for i in range(60)]
    values = [float(right) for right in item_right for _ in range(6)]
    items = [i for i in range(60) for _ in range(6)]
    clustered = bootstrap_ratio(values, items, n_boot=1000, seed=0)
    naive = bootstrap_ratio(values, range(len(values)), n_boot=1000, seed=0)
    assert clustered.value == naive.value == pytest.approx(40 / 60)
    ratio = (clustered.ci_high - clustered.ci_low) / (naive.ci_high - naive.ci_low)
    assert ratio == pytest.approx(np.sqrt(6), rel=0.25)


def test_paired_difference_by_hand() -> None:
    a = [1, 0, 0, 1, 0, 0]
    b = [1, 1, 0, 1, 1, 1]
    items = ["i1", "i1", "i2", "i2", "i3", "i3"]
    diff = paired_difference(a, b, items, n_boot=300, seed=0)
    assert diff.value == pytest.approx(3 / 6)  # B right where A wrong on 3 of 6 paired variants
    assert diff.ci_low >= 0  # B never worse on any item
    with pytest.raises(ValueError, match="same length"):
        paired_difference([1], [1, 0], ["i"])


def test_image_buckets_follow_visc() -> None:
    assert [image_bucket(n) for n in (1, 2, 3, 4, 8, 15, 16, 17, 40)] == [
        "1-2", "1-2", "3-4", "3-4", "7-8", "15-16", "15-16", "17+", "17+"
    ]  # fmt: skip


def test_summary_of_records() -> None:
    records = [
        record("i1", True),
        record("i1", True, order=(1, 0)),
        record("i2", True),
        record("i2", False, order=(1, 0)),  # answer changes with the order
        record("i3", False, subtask="Y", parsed=False, method="none", answer_original=None),
        record("i3", False, subtask="Y", order=(1, 0), parsed=False, method="none", answer_original=None),
        record("i1", False, setting="QO"),
    ]
    summary = summarize(records, n_boot=100)
    iq = summary["settings"]["IQ"]
    assert list(summary["settings"]) == ["IQ", "QO"]
    assert iq["accuracy"]["value"] == pytest.approx(3 / 6)
    assert iq["macro_accuracy"]["value"] == pytest.approx((3 / 4 + 0) / 2)
    assert iq["original_order_accuracy"]["value"] == pytest.approx(2 / 3)
    assert iq["group_accuracy"]["value"] == pytest.approx(1 / 3)  # only i1 is right in every variant
    assert iq["order_sensitivity"] == {"value": pytest.approx(1 / 3), "n_items": 3}
    assert iq["unparsed_rate"] == pytest.approx(2 / 6)
    assert iq["by_subtask"]["Y"]["value"] == 0 and iq["by_level"]["entity"]["value"] == pytest.approx(3 / 4)
    assert iq["by_images"]["1-2"]["n"] == 6
    assert iq["by_variant"]["original"]["value"] == pytest.approx(2 / 3)
    assert iq["by_variant"]["images permuted"]["value"] == pytest.approx(1 / 3)
    assert summary["settings"]["QO"]["accuracy"]["value"] == 0


def test_compare_records_pairs_on_the_variant_key() -> None:
    run_a = [record("i1", True), record("i2", False), record("i3", False)]
    run_b = [record("i1", True), record("i2", True), record("i4", True)]
    out = compare_records(run_a, run_b, n_boot=100)
    assert (out["n_paired"], out["only_a"], out["only_b"]) == (2, 1, 1)
    iq = out["settings"]["IQ"]
    assert iq["difference"]["value"] == pytest.approx(0.5)
    assert (iq["b_right_a_wrong"], iq["a_right_b_wrong"]) == (1, 0)


def test_lmms_eval_results_layout_by_hand():
    from scotoma.bench.lmms_results import lmms_eval_results, standard_error

    figure = {"value": 1 / 3, "n": 3, "ci_low": None, "ci_high": None}
    assert standard_error(figure) == pytest.approx(math.sqrt((1 / 3) * (2 / 3) / 2))  # = 1/3
    assert standard_error({"value": 0.5, "n": 100, "ci_low": 0.4, "ci_high": 0.6}) == pytest.approx(
        0.2 / (2 * 1.959963984540054)
    )
    assert standard_error({"value": 1.0, "n": 1}) == "N/A"
    metrics = {
        "benchmark": "nlvr1",
        "benchmark_version": "1",
        "model": "builtin:answerer",
        "limit": None,
        "source": None,
        "gen": {"max_new_tokens": 32, "temperature": 0.0, "top_p": 1.0, "seed": 0},
        "settings": {
            "IQ": {"accuracy": figure, "group_accuracy": {"value": 0.0, "n": 3}, "n_variants": 3},
            "QO": {"accuracy": {"value": 0.5, "n": 2}, "n_variants": 2},
        },
    }
    doc = lmms_eval_results(metrics)
    assert set(doc["results"]) == {"nlvr1", "nlvr1_qo"}
    assert doc["results"]["nlvr1"]["acc,none"] == pytest.approx(1 / 3)
    assert doc["results"]["nlvr1"]["group_acc,none"] == 0.0
    assert doc["results"]["nlvr1_qo"]["acc_stderr,none"] == pytest.approx(math.sqrt(0.25 / 1))
    assert doc["n-samples"]["nlvr1"] == {"original": 3, "effective": 3} and doc["n-shot"]["nlvr1_qo"] == 0
    assert doc["configs"]["nlvr1"]["generation_kwargs"]["do_sample"] is False
