"""`ProbeConfig`: every knob of `scotoma probe`, with a help string each, loadable from YAML and
overridable with "key=value" strings. Defaults are paper 000's where it gives them (k = 2, L = 2, the
full reward of Eq. 5) and the CPU world run otherwise (builtin questioner and answerer, oracle verifier,
64 shapes-world image sets).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scotoma.engines import EngineConfig
from scotoma.overrides import coerce_field, override_values
from scotoma.probe.banks import PREFIX_SOURCES, check_prefix_settings
from scotoma.probe.reward import COMBINES, NOVELTY_FORMS, RewardConfig
from scotoma.yaml_files import read_yaml_mapping

METHODS = ("rl", "zero_shot", "conme", "sft", "expert_iteration", "rl_sft")


@dataclass
class ProbeConfig:
    """What a probe run does. Field help strings are the CLI's."""

    # the three models
    questioner: str = field(
        default="builtin:questioner",
        metadata={"help": "Questioner spec (trained by RL): builtin:questioner, hf:PATH, ..."},
    )
    answerer: str = field(
        default="builtin:answerer",
        metadata={"help": "Target VLM spec whose failures are sought (frozen), any backend."},
    )
    verifier: str = field(
        default="oracle",
        metadata={"help": "oracle (shapes world, exact) or judge:<backend spec> (a VLM judge)."},
    )
    base: str | None = field(
        default=None,
        metadata={
            "help": "A model to compare the target with (differential testing), e.g. the model it was "
            "fine-tuned from: a failure counts only where this model answers right; none = every failure."
        },
    )
    # the images
    images: str | None = field(
        default=None,
        metadata={"help": "Folder of images to probe (sub-folders = multi-image samples); none = world."},
    )
    limit: int | None = field(
        default=None, metadata={"help": "Probe at most this many samples from the folder."}
    )
    world_samples: int = field(
        default=64, metadata={"help": "Shapes-world image sets to probe (and to train on)."}
    )
    world_seed: int = field(default=0, metadata={"help": "Seed of the world's scenes."})
    images_per_sample: list[int] = field(
        default_factory=lambda: [1, 4], metadata={"help": "World images per sample: [low, high]."}
    )
    objects_per_box: list[int] = field(
        default_factory=lambda: [1, 8], metadata={"help": "World objects per image: [low, high]."}
    )
    # the probe
    k: int = field(
        default=2, metadata={"help": "Questions per image in one questioner output (paper Table 5: 2)."}
    )
    questioner_prompt: str = field(
        default="auto", metadata={"help": "Questioner prompt: auto, a shipped name or a file."}
    )
    answerer_prompt: str = field(
        default="auto", metadata={"help": "Answerer prompt: auto, a shipped name or a file."}
    )
    conme_prompt: str = field(
        default="auto", metadata={"help": "ConMe second-turn prompt: auto, a shipped name or a file."}
    )
    image_label: str = field(
        default="auto",
        metadata={"help": 'Text before each image, {n} its number; auto = "Image {n}: " (none for builtin).'},
    )
    strict_tags: bool = field(
        default=False, metadata={"help": "Read questions only from <response_i> tags (no sentence fallback)."}
    )
    question_max_new_tokens: int = field(
        default=96, metadata={"help": "Questioner's new tokens in evaluation rounds."}
    )
    question_temperature: float = field(
        default=1.0, metadata={"help": "Questioner's sampling temperature in evaluation rounds."}
    )
    answer_max_new_tokens: int = field(
        default=16, metadata={"help": "Target's new tokens per answer (greedy)."}
    )
    chain: bool = field(
        default=False,
        metadata={
            "help": "Ask the target in focus-chain style (paper 001) and verify its final answer "
            "(its new tokens rise to at least 512)."
        },
    )
    judge_max_new_tokens: int = field(
        default=1024, metadata={"help": "A VLM judge's new tokens (reasoning, then the JSON verdict)."}
    )
    # the reward (Eq. 5) and its ablations (Tables 4-6)
    semantic: bool = field(
        default=True, metadata={"help": "Semantic diversity term delta_emb (Table 4 'Sem.')."}
    )
    lexical: bool = field(
        default=True, metadata={"help": "Lexical diversity term delta_ifreq (Table 4 'Lex.')."}
    )
    penalty: bool = field(default=True, metadata={"help": "Invalid-question penalty (Table 4 'Pen.')."})
    lambda_scale: float = field(default=1.0, metadata={"help": "lambda_scale of Eq. 5."})
    lambda_penalty: float = field(default=1.0, metadata={"help": "lambda_penalty of Eq. 5."})
    novelty: str = field(
        default="sum",
        metadata={
            "help": "Diversity terms combined as Eq. 5 writes them (sum, Delta in [0, 2]) or their mean "
            f"(Delta in [0, 1], as Eq. 2 states): {', '.join(NOVELTY_FORMS)}."
        },
    )
    prefix_length: int = field(
        default=2, metadata={"help": "L: words in a question prefix for delta_ifreq (Table 6: 2)."}
    )
    prefix_source: str = field(
        default="failures",
        metadata={"help": f"Questions counted in the prefix bank: {', '.join(PREFIX_SOURCES)}."},
    )
    combine: str = field(
        default="mean", metadata={"help": f"k question rewards -> one per output: {', '.join(COMBINES)}."}
    )
    embedder: str = field(
        default="all-MiniLM-L6-v2",
        metadata={"help": "Sentence embedder for delta_emb and SD: all-MiniLM-L6-v2 or hashing."},
    )
    # training
    recipe: str = field(
        default="auto",
        metadata={"help": "GRPO recipe: auto (world_tiny or qwen2_5_vl_3b grpo_probe.yaml) or a path."},
    )
    recipe_overrides: list[str] = field(
        default_factory=list, metadata={"help": "key=value overrides of the GRPO recipe."}
    )
    sft_recipe: str = field(
        default="auto", metadata={"help": "SFT recipe (SFT baseline, expert iteration): auto or a path."}
    )
    sft_overrides: list[str] = field(
        default_factory=list, metadata={"help": "key=value overrides of the SFT recipe."}
    )
    # methods and evaluation
    methods: list[str] = field(
        default_factory=lambda: ["rl", "zero_shot"],
        metadata={"help": f"Methods to run, in order: {', '.join(METHODS)}."},
    )
    eval_generations: int = field(
        default=4, metadata={"help": "Questioner outputs per image in an evaluation round."}
    )
    batch_size: int = field(
        default=16,
        metadata={
            "help": "Samples per batch in evaluation rounds: one request each to the questioner, answerer "
            "and verifier, and one write to records.jsonl (an hf: model splits a request into its own "
            "hf:PATH?batch_size=N)."
        },
    )
    expert_iteration_rounds: int = field(
        default=5, metadata={"help": "Rounds of generate, keep failures, fine-tune (paper: 5)."}
    )
    sft_corpus: str | None = field(
        default=None,
        metadata={"help": "JSONL question corpus for SFT (images + questions); none = world questions."},
    )
    sft_questions: int = field(
        default=256, metadata={"help": "Image sets in the generated world SFT corpus."}
    )
    min_skill_questions: int = field(
        default=20, metadata={"help": "A skill counts when more than this many valid questions need it."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of sampling and training."})
    cache: str | None = field(
        default=None, metadata={"help": "Response cache file; none = $SCOTOMA_CACHE_DIR or ~/.cache/scotoma."}
    )
    engine: str = field(
        default="local",
        metadata={
            "help": "Where the answerer's, judge's and evaluated questioners' calls run: local, ray or "
            "ray:actors=N,gpus=G (scotoma.engines); training stays in this process."
        },
    )

    def __post_init__(self) -> None:
        EngineConfig.parse(self.engine)  # a bad engine string fails here, before any work
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"unknown methods {unknown or '(none)'}; choose from {', '.join(METHODS)}")
        if len(self.images_per_sample) != 2 or len(self.objects_per_box) != 2:
            raise ValueError("images_per_sample and objects_per_box are ranges [low, high]")
        if self.k < 1 or self.eval_generations < 1 or self.batch_size < 1 or self.world_samples < 1:
            raise ValueError("k, eval_generations, batch_size and world_samples must be at least 1")
        if self.images is not None and self.verifier == "oracle":
            raise ValueError(
                "images from a folder have no world scene, so the oracle cannot verify them; use "
                "--verifier judge:<backend spec>"
            )
        if self.base is not None and self.base == self.answerer:
            raise ValueError(
                f"base={self.base} is the answerer itself, so every failure would be shared; give the model "
                "to compare the target with (e.g. the one it was fine-tuned from), or leave base unset"
            )
        check_prefix_settings(self.prefix_length, self.prefix_source)
        self.reward_config()  # validates novelty and combine

    def reward_config(self) -> RewardConfig:
        """The reward's switches and weights (L and the prefix source go to the banks, `rl.banks_for`)."""
        return RewardConfig(
            semantic=self.semantic,
            lexical=self.lexical,
            penalty=self.penalty,
            lambda_scale=self.lambda_scale,
            lambda_penalty=self.lambda_penalty,
            novelty=self.novelty,
            combine=self.combine,
        )

    def with_overrides(self, overrides: Sequence[str]) -> ProbeConfig:
        """A copy with "key=value" overrides applied (values coerced to the field types).

        Raises:
            ValueError: not key=value, an unknown field (with the closest names) or a bad value.
        """
        return dataclasses.replace(self, **parse_overrides(overrides))

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Sequence[str] = ()) -> ProbeConfig:
        """Load a YAML mapping of fields, then apply "key=value" overrides."""
        return cls(**{**read_yaml(path), **parse_overrides(overrides)})

    def to_dict(self) -> dict[str, Any]:
        """Every field."""
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """What a run directory is opened with (its spec.json): every field but `methods` and `engine`.

        Which methods run is a choice of what to compute, not of what the records mean: every method's
        records are keyed by its name, so running baselines later in a finished run's directory reuses
        what it already holds (methods done before are not run again) and compares on the same images.
        Where the model calls ran does not change the records either: a run resumes on another engine.
        A base model (`base`) changes what counts as a failure, so it is part of the identity when set.
        """
        identity = {k: v for k, v in self.to_dict().items() if k not in ("methods", "engine")}
        if self.base is None:  # runs made before the field existed resume
            del identity["base"]
        return identity


def parse_overrides(overrides: Sequence[str]) -> dict[str, Any]:
    """Field values from "key=value" strings, coerced to the field types."""
    return override_values(ProbeConfig, overrides)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Field values from a YAML mapping, coerced to the field types."""
    data = read_yaml_mapping(path, "probe settings")
    return {key: coerce_field(ProbeConfig, key, value, str(path)) for key, value in data.items()}


def probe_config(
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    *,
    questioner: str | None = None,
    answerer: str | None = None,
    verifier: str | None = None,
    images: str | Path | None = None,
    base: str | None = None,
) -> ProbeConfig:
    """The config of a `scotoma probe` command line: the YAML file (if any), then the explicit options,
    then the "key=value" overrides."""
    values = read_yaml(config) if config is not None else {}
    flags = {"questioner": questioner, "answerer": answerer, "verifier": verifier, "base": base}
    flags |= {"images": str(images) if images is not None else None}
    values |= {key: value for key, value in flags.items() if value is not None}
    return ProbeConfig(**{**values, **parse_overrides(overrides)})


def default_out_dir(config: ProbeConfig, root: str | Path = "runs/probe") -> Path:
    """runs/probe/<questioner>--<answerer>--<verifier>, made filename-safe."""

    def slug(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:60] or "x"

    return Path(root) / f"{slug(config.questioner)}--{slug(config.answerer)}--{slug(config.verifier)}"


__all__ = ["METHODS", "ProbeConfig", "default_out_dir", "parse_overrides", "probe_config", "read_yaml"]
