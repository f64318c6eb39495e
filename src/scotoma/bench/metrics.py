"""From bench records to figures: accuracy per setting, subtask, level and image-count bucket (micro and
macro, clustered 95% intervals), original-order and group accuracy, order and option sensitivity,
unparsed rates; and the paired comparison of two runs. Reads records only, so reports can reuse it."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scotoma.bench.stats import N_BOOT, bootstrap_macro, bootstrap_ratio, image_bucket, paired_difference
from scotoma.slices import bench_slices

Record = dict[str, Any]
UNPARSED = "<unparsed>"


def read_records(run_dir: str | Path) -> list[Record]:
    """The records of a bench run directory (its records.jsonl), without locking it."""
    path = Path(run_dir) / "records.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; give a run directory written by `scotoma bench`")
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line of a killed run; the run itself repairs it on resume
    return records


def json_safe(value: Any) -> Any:
    """NaN (an estimate over nothing) becomes None, so metrics.json is standard JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _estimate(records: Sequence[Record], n_boot: int, seed: int) -> dict[str, Any]:
    est = bootstrap_ratio(
        [float(r["correct"]) for r in records], [r["item_id"] for r in records], n_boot, seed
    )
    return est.to_dict()


def _grouped(
    records: Sequence[Record], key: Callable[[Record], str], n_boot: int, seed: int
) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return {name: _estimate(group, n_boot, seed) for name, group in sorted(groups.items())}


def _answers_vary(records: Sequence[Record], fixed: str, varied: str) -> tuple[float, int]:
    """Share of items whose answer (in original option letters) differs between values of `varied`
    while `fixed` is held; only items with two or more values of `varied` count."""
    answers: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for r in records:
        answer = r["answer_original"] if r["answer_original"] is not None else UNPARSED
        answers[(r["item_id"], json.dumps(r[fixed]))][json.dumps(r[varied])] = answer
    considered: set[str] = set()
    changed: set[str] = set()
    for (item_id, _), by_order in answers.items():
        if len(by_order) < 2:
            continue
        considered.add(item_id)
        if len(set(by_order.values())) > 1:
            changed.add(item_id)
    return (len(changed) / len(considered) if considered else float("nan")), len(considered)


def variant_kind(record: Record) -> str:
    """Which way a variant departs from the original: "original", "images permuted", "options rotated",
    or both."""
    images = record["image_order"] != sorted(record["image_order"])
    options = record["option_order"] != "".join(sorted(record["option_order"]))
    parts = [name for name, moved in (("images permuted", images), ("options rotated", options)) if moved]
    return ", ".join(parts) or "original"


def group_accuracy(records: Sequence[Record], n_boot: int = N_BOOT, seed: int = 0) -> dict[str, Any]:
    """Share of items whose every variant is right (per setting when given one setting's records)."""
    by_item: dict[str, bool] = {}
    for r in records:
        by_item[r["item_id"]] = by_item.get(r["item_id"], True) and bool(r["correct"])
    items = sorted(by_item)
    return bootstrap_ratio([float(by_item[i]) for i in items], items, n_boot, seed).to_dict()


def summarize_setting(records: Sequence[Record], n_boot: int = N_BOOT, seed: int = 0) -> dict[str, Any]:
    """All figures for the records of one input setting."""
    values = [float(r["correct"]) for r in records]
    clusters = [r["item_id"] for r in records]
    identity = [r for r in records if r["identity"]]
    order_share, order_items = _answers_vary(records, "option_order", "image_order")
    option_share, option_items = _answers_vary(records, "image_order", "option_order")
    methods = Counter(r["method"] for r in records)
    return {
        "n_items": len(set(clusters)),
        "n_variants": len(records),
        "accuracy": _estimate(records, n_boot, seed),
        "macro_accuracy": bootstrap_macro(
            values, clusters, [r["subtask"] or "-" for r in records], n_boot, seed
        ).to_dict(),
        "original_order_accuracy": _estimate(identity, n_boot, seed) if identity else None,
        "group_accuracy": group_accuracy(records, n_boot, seed),
        "order_sensitivity": {"value": order_share, "n_items": order_items},
        "option_sensitivity": {"value": option_share, "n_items": option_items},
        "unparsed_rate": sum(not r["parsed"] for r in records) / len(records),
        "judge_extracted": methods.get("judge", 0),
        "methods": dict(sorted(methods.items())),
        "by_subtask": _grouped(records, lambda r: r["subtask"] or "-", n_boot, seed),
        "by_level": _grouped(records, lambda r: r["level"] or "-", n_boot, seed),
        "by_images": _grouped(records, lambda r: image_bucket(r["n_images"]), n_boot, seed),
        "by_variant": _grouped(records, variant_kind, n_boot, seed),
        "failure_slices": [s.to_dict() for s in bench_slices(records)],
    }


def summarize(records: Sequence[Record], n_boot: int = N_BOOT, seed: int = 0) -> dict[str, Any]:
    """Figures per input setting, in the order IQ, DQ, IDQ, QO (then any other)."""
    order = {s: i for i, s in enumerate(("IQ", "DQ", "IDQ", "QO"))}
    settings = sorted({r["setting"] for r in records}, key=lambda s: (order.get(s, 99), s))
    return json_safe(
        {
            "n_records": len(records),
            "settings": {
                s: summarize_setting([r for r in records if r["setting"] == s], n_boot, seed)
                for s in settings
            },
        }
    )


def compare_records(
    records_a: Sequence[Record], records_b: Sequence[Record], n_boot: int = N_BOOT, seed: int = 0
) -> dict[str, Any]:
    """Paired comparison on the variants both runs answered: B's accuracy minus A's, per setting."""
    by_key_a = {r["key"]: r for r in records_a}
    by_key_b = {r["key"]: r for r in records_b}
    shared = sorted(by_key_a.keys() & by_key_b.keys())
    out: dict[str, Any] = {
        "n_paired": len(shared),
        "only_a": len(by_key_a.keys() - by_key_b.keys()),
        "only_b": len(by_key_b.keys() - by_key_a.keys()),
        "settings": {},
    }
    for setting in sorted({by_key_a[k]["setting"] for k in shared}):
        keys = [k for k in shared if by_key_a[k]["setting"] == setting]
        a = [float(by_key_a[k]["correct"]) for k in keys]
        b = [float(by_key_b[k]["correct"]) for k in keys]
        items = [by_key_a[k]["item_id"] for k in keys]
        out["settings"][setting] = {
            "accuracy_a": bootstrap_ratio(a, items, n_boot, seed).to_dict(),
            "accuracy_b": bootstrap_ratio(b, items, n_boot, seed).to_dict(),
            "difference": paired_difference(a, b, items, n_boot, seed).to_dict(),
            "b_right_a_wrong": sum(y > x for x, y in zip(a, b, strict=True)),
            "a_right_b_wrong": sum(x > y for x, y in zip(a, b, strict=True)),
        }
    return json_safe(out)


def compare_runs(run_a: str | Path, run_b: str | Path, n_boot: int = N_BOOT, seed: int = 0) -> dict[str, Any]:
    """Compare two bench run directories on the items and variants both answered.

    Returns:
        {"run_a", "run_b", "n_paired", "only_a", "only_b", "settings": {setting: {"accuracy_a",
        "accuracy_b", "difference" (B - A, with a 95% interval clustered on the item), "b_right_a_wrong",
        "a_right_b_wrong"}}}.
    """
    result = compare_records(read_records(run_a), read_records(run_b), n_boot, seed)
    if not result["n_paired"]:
        raise ValueError(
            f"{run_a} and {run_b} share no variant; compare runs of the same benchmark, settings and "
            "permutations"
        )
    return {"run_a": str(run_a), "run_b": str(run_b), **result}
