"""A model's identity (spec plus weights digest) comes from `get_model`, so every role's cache keys see
weights retrained in place: the judge, captioner, synth and taxonomy roles as well as the probe target."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scotoma.cache import CachedModel, ResponseCache
from scotoma.judge.verifiers import get_verifier
from scotoma.models import ScriptedModel, get_model
from scotoma.models import weights as weights_module
from scotoma.models.weights import local_folder, weights_digest, weights_identity
from scotoma.types import Conversation, GenConfig

QUESTIONS = [Conversation.user("Is there a blue circle?"), Conversation.user("How many squares?")]


def judge_model(folder: Path, cache: ResponseCache) -> CachedModel:
    """The cached backend of a judge on `folder`, built the way a probe or bench run builds it."""
    judge = get_verifier(f"judge:hf:{folder}", cache)
    assert isinstance(judge.model, CachedModel)  # type: ignore[attr-defined]
    return judge.model  # type: ignore[attr-defined]


def test_a_judge_on_weights_retrained_in_place_is_not_answered_from_the_cache(tmp_path, monkeypatch):
    # A stand-in for HFModel that answers with the bytes of its weights file: a stale cache hit shows up
    # as the old weights' answer.
    def folder_model(path: str, options: dict, spec: str) -> ScriptedModel:
        return ScriptedModel((Path(path) / "model.safetensors").read_text(), spec=spec)

    monkeypatch.setattr("scotoma.models.hf.HFModel", folder_model)
    digests = []
    monkeypatch.setattr(
        weights_module, "weights_digest", lambda folder: digests.append(folder) or weights_digest(folder)
    )
    folder, cache = tmp_path / "judge", ResponseCache(tmp_path / "cache.sqlite")
    folder.mkdir()
    (folder / "model.safetensors").write_text("weights v1")

    first = judge_model(folder, cache)
    assert first.spec == f"hf:{folder}#{weights_digest(folder)}"
    assert [c.text for c in first.generate(QUESTIONS, GenConfig())] == ["weights v1"] * 2
    first.generate(QUESTIONS, GenConfig())
    assert (first.hits, first.misses) == (2, 2) and len(digests) == 1  # one digest per load, not per call

    unchanged = judge_model(folder, cache)
    assert [c.text for c in unchanged.generate(QUESTIONS, GenConfig())] == ["weights v1"] * 2
    assert (unchanged.hits, unchanged.misses) == (2, 0) and unchanged.model.calls == 0

    (folder / "model.safetensors").write_text("weights v2")  # a second training into the same folder
    retrained = judge_model(folder, cache)
    answers = retrained.generate(QUESTIONS, GenConfig())
    assert [c.text for c in answers] == ["weights v2"] * 2 and not any(c.cached for c in answers)
    assert (retrained.hits, retrained.misses) == (0, 2) and retrained.spec != first.spec


def test_specs_without_local_weights_keep_their_cache_key(tmp_path):
    remote = "openai:gpt-4o@http://127.0.0.1:9/v1"
    assert CachedModel(get_model(remote), ResponseCache(tmp_path / "c.sqlite")).spec == remote
    assert get_model("scripted:yes").spec == "scripted:yes"
    assert weights_identity("hf:org/hub-id") == "hf:org/hub-id" and local_folder("hf:org/hub-id") is None
    assert weights_identity("in-memory name") == "in-memory name"  # no kind: not a folder, left as it is
    empty = tmp_path / "no-weights"
    empty.mkdir()
    assert weights_identity(f"hf:{empty}") == f"hf:{empty}" and local_folder(f"hf:{empty}") == empty


@pytest.mark.integration
def test_a_real_judge_folder_retrained_in_place_misses_the_cache(tmp_path, tiny_vlm_dir):
    from safetensors.torch import load_file, save_file

    folder = shutil.copytree(tiny_vlm_dir("idefics3"), tmp_path / "judge")
    cache, config = ResponseCache(tmp_path / "cache.sqlite"), GenConfig(max_new_tokens=3)
    first = judge_model(folder, cache)
    first.generate(QUESTIONS, config)
    unchanged = judge_model(folder, cache)
    unchanged.generate(QUESTIONS, config)
    assert (first.misses, unchanged.hits, unchanged.misses) == (2, 2, 0)

    weights = load_file(folder / "model.safetensors")
    moved = {name: t + 0.5 if t.is_floating_point() else t for name, t in weights.items()}
    save_file(moved, folder / "model.safetensors", {"format": "pt"})
    retrained = judge_model(folder, cache)
    answers = retrained.generate(QUESTIONS, config)
    assert (retrained.hits, retrained.misses) == (0, 2) and not any(c.cached for c in answers)
    assert retrained.spec.startswith(f"hf:{folder}#") and retrained.spec != first.spec
