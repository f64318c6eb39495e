"""`LoopConfig`: every knob of `scotoma loop` (find, fix, verify), with a help string each.

Seeds are kept apart on purpose: the built-in models were trained on world streams of seed 0 and
evaluated on seed 0 + 1,000,003 (`scotoma.world_models.evaluation`); the loop's held-out measurement uses
`eval_seed`, its probe `probe_seed` and its training data `data_seed`, so no measured item is a
training item.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from scotoma.engines import EngineConfig
from scotoma.overrides import override_values
from scotoma.slices import SLICE_PREFIXES, is_slice_predicate
from scotoma.world.programs.skills import SKILLS


@dataclass
class LoopConfig:
    """What one closed loop does. Defaults: the CPU world run (built-in models, oracle verifier)."""

    answerer: str = field(default="builtin:answerer", metadata={"help": "The target VLM to fix."})
    questioner: str = field(
        default="builtin:questioner", metadata={"help": "Questioner of the probe that finds the failures."}
    )
    base: str | None = field(
        default=None,
        metadata={
            "help": "The model the target was fine-tuned from: the probe counts only the failures it "
            "answers right (differential testing, ProbeConfig.base), so the loop targets what the "
            "fine-tune broke; none = every failure."
        },
    )
    probe_samples: int = field(default=96, metadata={"help": "World image sets the probe asks about."})
    probe_generations: int = field(default=4, metadata={"help": "Questioner outputs per image set."})
    worst_skills: int = field(default=3, metadata={"help": "How many of the worst skills to target."})
    targets: list[str] = field(
        default_factory=list,
        metadata={
            "help": "What to target instead of what the probe picks: world skill names or failure-slice "
            "predicates (scotoma.slices), e.g. counting, color:yellow, image:last, objects>=4."
        },
    )
    choose: str = field(
        default="skills",
        metadata={
            "help": "Without targets, what the probe picks: its worst skills ('skills') or its top failure "
            "slices ('slices': colours, shapes, image positions, object counts, skills, families)."
        },
    )
    min_skill_questions: int = field(
        default=20, metadata={"help": "A skill is ranked only with more valid probe questions than this."}
    )
    # 200 per family: a 2-point loss (the verdict's bound) is then 4 items, not 2
    eval_items: int = field(
        default=2200, metadata={"help": "Held-out world bench items (every family, 1-4 images)."}
    )
    nlvr_limit: int | None = field(default=None, metadata={"help": "NLVR1 dev statements; none = all 989."})
    chains: int = field(default=300, metadata={"help": "Focus-chain samples synthesized for the skills."})
    pairs: int = field(default=300, metadata={"help": "S2H preference pairs synthesized for the skills."})
    targeted_questions: int = field(
        default=1200,
        metadata={"help": "Exact world questions that need the targeted skills, as direct-answer SFT rows."},
    )
    primitive_questions: int = field(
        default=0,
        metadata={
            "help": "Simple questions (one-object families) on the primitive skills the targets are built "
            "from (world.skills.PREREQUISITES: counting for arithmetic), S2H's simple-to-hard."
        },
    )
    replay_questions: int = field(
        default=1200,
        metadata={"help": "World questions of every family mixed in so the other skills are kept."},
    )
    replay_labels: str = field(
        default="truth",
        metadata={
            "help": "Which replay questions: 'truth', any world question with its true answer; 'own', only "
            "those the target already answers right (rehearsal: what it gets right is kept as it is, and "
            "the targets' rows alone teach what it gets wrong)."
        },
    )
    questions_per_row: int = field(
        default=1,
        metadata={
            "help": "World questions per SFT row (targeted and replay): above 1, a conversation of that many "
            "questions about the same images, every answer trained (the SFT's loss_on=assistant)."
        },
    )
    sft_recipe: str = field(default="world_tiny/sft.yaml", metadata={"help": "SFT recipe (LoRA)."})
    sft_overrides: list[str] = field(default_factory=list, metadata={"help": "key=value recipe overrides."})
    dpo: bool = field(default=True, metadata={"help": "Align on the S2H pairs with DPO after SFT."})
    dpo_recipe: str = field(default="world_tiny/dpo.yaml", metadata={"help": "DPO recipe (LoRA)."})
    dpo_overrides: list[str] = field(default_factory=list, metadata={"help": "key=value recipe overrides."})
    eval_seed: int = field(default=2_000_003, metadata={"help": "Seed of the held-out world bench."})
    probe_seed: int = field(default=3_000_017, metadata={"help": "Seed of the probe's world images."})
    data_seed: int = field(default=4_000_037, metadata={"help": "Seed of the synthesized training data."})
    batch_size: int = field(
        default=64,
        metadata={
            "help": "Prompts per request to the model in its bench and synth steps (their batch_size; an "
            "hf: model splits a request into its own hf:PATH?batch_size=N)."
        },
    )
    engine: str = field(
        default="local",
        metadata={
            "help": "Where the model calls of its bench, synth and probe steps run: local, ray or "
            "ray:OPTIONS (scotoma.engines); training stays in this process. Not part of the run's identity."
        },
    )

    def __post_init__(self) -> None:
        EngineConfig.parse(self.engine)  # a bad engine string fails here, before any work
        if self.worst_skills < 1:
            raise ValueError("worst_skills must be at least 1")
        for name in ("probe_samples", "eval_items", "probe_generations", "batch_size", "questions_per_row"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        unknown = sorted(t for t in self.targets if t not in SKILLS and not is_slice_predicate(t))
        if unknown:
            raise ValueError(
                f"unknown target skills {unknown}; world skills: {', '.join(SKILLS)}; or slice predicates "
                f"{', '.join(p + '...' for p in SLICE_PREFIXES)}"
            )
        if self.replay_labels not in ("truth", "own"):
            raise ValueError(f"replay_labels={self.replay_labels!r}: use truth or own")
        if self.replay_labels == "own" and self.questions_per_row > 1:
            raise ValueError("replay_labels=own checks one answer per row; set questions_per_row=1")
        if self.base is not None and self.base == self.answerer:
            raise ValueError(
                f"base={self.base} is the answerer itself; give the model it was fine-tuned from"
            )
        if self.choose not in ("skills", "slices"):
            raise ValueError(f"choose={self.choose!r}: use skills or slices")
        for name in ("chains", "pairs", "targeted_questions", "primitive_questions", "replay_questions"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    def with_overrides(self, overrides: list[str]) -> LoopConfig:
        """A copy with "key=value" overrides applied (values coerced to the field types)."""
        return dataclasses.replace(self, **override_values(LoopConfig, overrides))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """What the loop's run directory is opened with: every field but `engine` (where the model calls
        ran does not change what the steps write, so a loop resumes on another engine); `base` only
        when set."""
        identity = {k: v for k, v in self.to_dict().items() if k != "engine"}
        if self.base is None:  # loops run before the field existed resume
            del identity["base"]
        return identity


__all__ = ["LoopConfig"]
