"""The bench runner on a real (tiny, random-weight) transformers VLM through the hf backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from scotoma.bench import BenchConfig, Benchmark, Item, read_records, run_bench
from scotoma.types import ImageRef


@pytest.mark.integration
def test_runner_with_a_tiny_hf_model(tiny_hf_model, tmp_path: Path) -> None:
    model = tiny_hf_model("idefics3")
    pictures = tuple(ImageRef.from_pil(Image.new("RGB", (56, 56), (60 * i, 90, 200))) for i in range(3))
    items = [Item("a", pictures, "is there a blue circle ?", "yes", "yes_no")]
    bench = Benchmark("tiny", "1", items, prompt_style="bare")
    config = BenchConfig(
        bench, model, permute="images", cache=tmp_path / "c.sqlite", max_new_tokens=4, batch_size=8, n_boot=50
    )
    result = run_bench(config, tmp_path / "run")
    records = read_records(result.run_dir)
    assert result.n_variants == len(records) == 6  # 3! image orders
    assert all(isinstance(r["output"], str) and r["prompt_tokens"] > 0 for r in records)
    assert {r["method"] for r in records} <= {
        "explicit",
        "leading",
        "mention",
        "last_number",
        "none",
        "empty",
    }
    # the same run again, into a new directory: every answer comes from the cache
    again = run_bench(config, tmp_path / "run2")
    assert again.cache_hits == 6 and [r["output"] for r in read_records(again.run_dir)] == [
        r["output"] for r in records
    ]
