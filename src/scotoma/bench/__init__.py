"""Multi-image benchmarks under the MMRA protocol: benchmarks as data + scorer, input settings IQ / DQ /
IDQ / QO, image-order and option permutations, a batched resumable runner, and clustered statistics."""

from scotoma.bench.config import BenchConfig, BenchSpec
from scotoma.bench.items import SETTINGS, Benchmark, Item, Score, Variant, score_output
from scotoma.bench.metrics import compare_records, compare_runs, read_records, summarize
from scotoma.bench.permute import PermuteConfig, make_variants, referenced_positions, referenced_positions_in
from scotoma.bench.registry import (
    BenchmarkInfo,
    benchmark_info,
    benchmark_names,
    load_benchmark,
    register_benchmark,
)
from scotoma.bench.runner import BenchResult, default_run_dir, run_bench
from scotoma.bench.settings import (
    PROMPT_STYLES,
    Describer,
    FunctionCaptioner,
    ModelCaptioner,
    PromptStyle,
    build_conversation,
)
from scotoma.bench.stats import Estimate, bootstrap_macro, bootstrap_ratio, image_bucket, paired_difference
from scotoma.bench.table import html_page, print_comparison, print_results, write_html

__all__ = [
    "PROMPT_STYLES",
    "SETTINGS",
    "BenchConfig",
    "BenchResult",
    "BenchSpec",
    "Benchmark",
    "BenchmarkInfo",
    "Describer",
    "Estimate",
    "FunctionCaptioner",
    "Item",
    "ModelCaptioner",
    "PermuteConfig",
    "PromptStyle",
    "Score",
    "Variant",
    "benchmark_info",
    "benchmark_names",
    "bootstrap_macro",
    "bootstrap_ratio",
    "build_conversation",
    "compare_records",
    "compare_runs",
    "default_run_dir",
    "html_page",
    "image_bucket",
    "load_benchmark",
    "make_variants",
    "paired_difference",
    "print_comparison",
    "print_results",
    "read_records",
    "referenced_positions",
    "referenced_positions_in",
    "register_benchmark",
    "run_bench",
    "score_output",
    "summarize",
    "write_html",
]
