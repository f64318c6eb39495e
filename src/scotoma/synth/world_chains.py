"""`WorldChainSynth`: focus-centric chain samples from the shapes world, all four stages exact.

    >>> synth = WorldChainSynth(WorldChainConfig(), seed=0)
    >>> sample = synth.sample(0)           # the same ChainSample for the same (seed, config, index)
    >>> print(sample.chain.render())

Sample `index` draws from `random.Random(f"{seed}:visc:{index}")` only, so any index can be drawn alone.
Composite kinds take turns (`composites[index % n]`); each draws a scene of the structure it needs
(shared objects or independent boxes for sums and differences, a sequence for the temporal ones), runs
stages 1-3 (`visc_world`) and stage 4 (`visc_compose`), and redraws the scene when no valid chain comes
out. The scene, profiles, edges and relations travel in `meta`, so every chain can be re-checked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import pairwise

from scotoma.judge.chain_inference import chain_instruction
from scotoma.synth.records import ChainSample
from scotoma.synth.stages import StageTimer, SynthDrop
from scotoma.synth.visc_compose import COMPOSITE_SKILLS, COMPOSITES, PLANNERS, SEQUENCE_COMPOSITES, realize
from scotoma.synth.visc_world import annotate, connect, profile_box
from scotoma.types import check_layout
from scotoma.world.programs.nodes import to_dict
from scotoma.world.programs.skills import SKILLS
from scotoma.world.sampling.generate import SceneSampler
from scotoma.world.sampling.generate_sets import SceneSample
from scotoma.world.sampling.questions import render_images
from scotoma.world.sampling.specs import SamplingError, SceneConfig


@dataclass(frozen=True)
class WorldChainConfig:
    """What the world chain synthesizer draws. Help strings are the CLI's."""

    images_per_sample: tuple[int, int] = field(
        default=(3, 5), metadata={"help": "images per sample, an inclusive range within 3..8"}
    )
    max_chain_images: int = field(default=4, metadata={"help": "most images one chain visits (K cap)"})
    composites: tuple[str, ...] = field(
        default=COMPOSITES,
        metadata={"help": "composite questions to draw, in turn: " + ", ".join(COMPOSITES)},
    )
    skills: tuple[str, ...] = field(
        default=(), metadata={"help": "keep only chains that need at least one of these skills"}
    )
    objects_per_box: tuple[int, int] = field(
        default=(2, 8), metadata={"help": "objects per box, within 1..8"}
    )
    shared_prob: float = field(
        default=0.5,
        metadata={"help": "chance that a sum or difference is asked of a set with shared objects"},
    )
    max_tries: int = field(default=30, metadata={"help": "scenes drawn per sample before it is dropped"})
    layout: str = field(default="labelled", metadata={"help": "prompt layout: labelled or bare"})
    instruction: bool = field(
        default=True,
        metadata={"help": "append the chain-style instruction (prompts/chain_v1.txt) to questions"},
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "composites", tuple(self.composites))
        set_(self, "skills", tuple(self.skills))
        set_(self, "images_per_sample", tuple(self.images_per_sample))
        set_(self, "objects_per_box", tuple(self.objects_per_box))
        low, high = self.images_per_sample
        if not 3 <= low <= high <= 8:
            raise ValueError(f"images_per_sample={self.images_per_sample} must satisfy 3 <= low <= high <= 8")
        if self.max_chain_images < 3:
            raise ValueError("max_chain_images must be at least 3: a chain of two images is one question")
        unknown = set(self.composites) - set(COMPOSITES)
        if unknown or not self.composites:
            raise ValueError(f"unknown composites {sorted(unknown) or '(none)'}; choose from {COMPOSITES}")
        if set(self.skills) - set(SKILLS):
            raise ValueError(f"unknown skills {sorted(set(self.skills) - set(SKILLS))}; choose from {SKILLS}")
        check_layout(self.layout)


class WorldChainSynth:
    """Draws exact chain samples; `timer` holds the time and counts of each stage."""

    def __init__(self, config: WorldChainConfig | None = None, seed: int = 0) -> None:
        self.config = config = config or WorldChainConfig()
        self.seed = seed
        wanted = set(config.skills)
        self.composites = tuple(
            c for c in config.composites if not wanted or wanted & set(COMPOSITE_SKILLS[c])
        )
        if not self.composites:
            offered = {c: COMPOSITE_SKILLS[c] for c in config.composites}
            raise ValueError(f"no composite needs any of the skills {config.skills}; they offer {offered}")
        low, high = config.objects_per_box
        self.scenes = SceneSampler(SceneConfig(n_objects=(low, high), tower_prob=0.1 if low <= 4 else 0.0))
        self.instruction = chain_instruction() if config.instruction else ""
        self.timer = StageTimer()

    def key(self, index: int) -> str:
        return f"visc-{self.seed}-{index}"

    def _scene(self, rng: random.Random, kind: str, k: int) -> SceneSample:
        if kind in SEQUENCE_COMPOSITES:
            return self.scenes.sequence(rng, k)
        if rng.random() < self.config.shared_prob:
            return self.scenes.shared(rng, k, n_shared=1, min_boxes=3)
        return self.scenes.boxes(rng, k)

    def sample(self, index: int) -> ChainSample:
        """Sample `index`.

        Raises:
            SynthDrop: no valid chain (with the skills asked for) in `max_tries` scenes.
        """
        rng = random.Random(f"{self.seed}:visc:{index}")
        kind = self.composites[index % len(self.composites)]
        low, high = self.config.images_per_sample
        last = SynthDrop("question", f"no {kind} chain came out")
        for _ in range(self.config.max_tries):
            try:
                scene = self._scene(rng, kind, rng.randint(low, high))
            except SamplingError:
                continue
            with self.timer.stage("extract") as stats:
                profiles = [profile_box(box, k) for k, box in enumerate(scene.scene.boxes, start=1)]
                stats.items += len(profiles)
            with self.timer.stage("connect") as stats:
                connections = connect(profiles, scene)
                stats.items += len(connections)
            with self.timer.stage("annotate") as stats:
                relevance = {c.pair: annotate(c, scene, profiles) for c in connections}
                stats.items += len(relevance)
            with self.timer.stage("question") as stats:
                plan = PLANNERS[kind](rng, scene, profiles, connections, self.config.max_chain_images)
                try:
                    done = realize(plan, scene, rng) if plan is not None else None
                except SynthDrop as drop:
                    stats.failures += 1
                    last, done = drop, None
                if done is None or (self.config.skills and not set(self.config.skills) & set(done.skills)):
                    continue
                stats.items += 1
            edges = [(min(a, b), max(a, b)) for a, b in pairwise(plan.path)]
            meta = {
                "composite": kind,
                "program": to_dict(plan.composite),
                "structure": scene.structure,
                "path": list(plan.path),
                "scene": scene.scene.to_nlvr(),
                "profiles": [p.to_dict() for p in profiles],
                "connections": [c.to_dict() for c in connections],
                "relevance": [relevance[e].to_dict() for e in edges],
            }
            prompt = f"{done.question}\n{self.instruction}" if self.instruction else done.question
            return ChainSample(
                self.key(index),
                render_images(scene.scene),
                prompt,
                done.question,
                done.answer,
                done.chain,
                "world",
                done.skills,
                meta,
            )
        raise SynthDrop(last.stage, f"{last.reason} (after {self.config.max_tries} scenes)")
