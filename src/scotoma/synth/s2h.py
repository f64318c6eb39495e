"""Simple-to-Hard preference pairs (paper 003): the config, the level mixture, and the model phase.

Three levels of multi-image skill, each a DPO pair (prompt, chosen, rejected):

- L1, single-image localized: a one-image question moved among N distractor images and asked of
  "Image k"; chosen = the gold answer, rejected = the target model's own wrong answer under the
  distractors (greedy first, then `l1_attempts - 1` sampled answers; no wrong answer, no pair);
- L2, multi-image localized: visual arithmetic over several images (exact by construction) and a
  relation-labelled task from user data (`s2h_relations`), chosen/rejected by flipping the label;
- L3, global search: "Describe the image that contains a blue circle" of a target among N distractors
  that hold no such object; chosen = the target's caption, rejected = the answer to "Describe the
  images." (the captioner model's, or the world's exact caption of every image when no model is given).
  Pairs whose chosen/rejected similarity lies in the top quartile are dropped (`similarity`).

Sampling is two-phase so model calls batch: `draft` builds everything exact for an index (world in
`s2h_world`), `complete` asks the model for the rejected responses of a whole batch at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scotoma.models import Model
from scotoma.synth.records import PreferencePair
from scotoma.synth.similarity import DEFAULT_QUANTILE, Embedder, cosine_similarities
from scotoma.synth.stages import StageTimer, SynthDrop
from scotoma.types import Conversation, GenConfig, check_layout
from scotoma.world.programs.answers import is_correct
from scotoma.world.programs.skills import SKILLS

LEVELS = ("L1", "L2", "L3")
MIXTURES = ("flat", "curriculum")
_GOLDEN = (5**0.5 - 1) / 2


@dataclass(frozen=True)
class S2HConfig:
    """What S2H synthesis draws. Defaults are the paper's (3 distractors and flat mixing were best)."""

    levels: tuple[str, ...] = field(default=LEVELS, metadata={"help": "levels to draw: L1, L2, L3"})
    weights: tuple[float, ...] = field(default=(), metadata={"help": "share per level; empty means equal"})
    mixture: str = field(
        default="flat", metadata={"help": "flat (one shuffled pool) or curriculum (L1, then L2, then L3)"}
    )
    distractors: int = field(default=3, metadata={"help": "distractor images beside the target (L1, L3)"})
    l1_families: tuple[str, ...] = field(
        default=("existence", "counting", "attribute", "spatial", "comparison"),
        metadata={"help": "world question families of L1's single-image questions"},
    )
    l1_attempts: int = field(
        default=4, metadata={"help": "answers asked of the model per L1 question to find a wrong one"}
    )
    l2_images: tuple[int, int] = field(
        default=(2, 4), metadata={"help": "images in an L2 arithmetic question"}
    )
    relations: str | None = field(
        default=None, metadata={"help": "JSONL of relation-labelled images for L2 (see s2h_relations)"}
    )
    similarity_quantile: float | None = field(
        default=DEFAULT_QUANTILE, metadata={"help": "L3 pairs above this quantile of similarity are dropped"}
    )
    skills: tuple[str, ...] = field(default=(), metadata={"help": "keep only pairs needing these skills"})
    layout: str = field(default="labelled", metadata={"help": "prompt layout: labelled or bare"})
    max_new_tokens: int = field(default=64, metadata={"help": "tokens per model answer (L1, L3 rejected)"})

    def __post_init__(self) -> None:
        for name in ("levels", "weights", "l1_families", "skills", "l2_images"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.levels or set(self.levels) - set(LEVELS):
            raise ValueError(f"levels {self.levels} must be some of {LEVELS}")
        if self.weights and (
            len(self.weights) != len(self.levels) or min(self.weights) < 0 or not any(self.weights)
        ):
            raise ValueError(
                f"weights {self.weights} must give one non-negative share per level {self.levels}"
            )
        if self.mixture not in MIXTURES:
            raise ValueError(f"mixture {self.mixture!r} must be one of {MIXTURES}")
        if not 1 <= self.distractors <= 7:
            raise ValueError(f"distractors={self.distractors} must be 1..7 (a sample holds at most 8 images)")
        if self.l1_attempts < 1 or not 2 <= self.l2_images[0] <= self.l2_images[1] <= 8:
            raise ValueError("l1_attempts must be >= 1 and l2_images a range within 2..8")
        if set(self.skills) - set(SKILLS):
            raise ValueError(f"unknown skills {sorted(set(self.skills) - set(SKILLS))}; choose from {SKILLS}")
        check_layout(self.layout)

    def level_of(self, index: int) -> str:
        """The level of sample `index`: equal shares take turns; other shares follow a golden-ratio sequence
        (even over any stretch of indices, and a pure function of the index)."""
        if not self.weights or len(set(self.weights)) == 1:
            return self.levels[index % len(self.levels)]
        u, total = (index * _GOLDEN) % 1.0, sum(self.weights)
        for level, weight in zip(self.levels, self.weights, strict=True):
            u -= weight / total
            if u < 0:
                return level
        return self.levels[-1]


@dataclass
class PairDraft:
    """A pair before its rejected response is known.

    Attributes:
        pair: the pair with everything exact filled in (rejected may be "" until `complete`).
        ask: the conversation whose answer becomes the rejected response (None when it is exact).
        gold: for L1, the answer a rejected response must not mean.
    """

    pair: PreferencePair
    ask: Conversation | None = None
    gold: str | None = None


def _with(pair: PreferencePair, rejected: str, source: str, **meta: Any) -> PreferencePair:
    return dataclasses.replace(
        pair, rejected=rejected.strip(), meta={**pair.meta, "rejected_by": source, **meta}
    )


def complete(
    drafts: Sequence[PairDraft],
    model: Model | None,
    config: S2HConfig,
    timer: StageTimer,
    embed: Embedder | None = None,
    seed: int = 0,
) -> list[PreferencePair | SynthDrop]:
    """Fill in the rejected responses of a batch; a draft that yields no pair comes back as a SynthDrop.

    L1 drafts ask `model` (greedy, then sampled answers for those it got right); L3 drafts with an `ask`
    take the model's caption of all images. L3 similarities are computed when `embed` is given.
    """
    out: list[PreferencePair | SynthDrop] = [d.pair for d in drafts]
    asks = [i for i, d in enumerate(drafts) if d.ask is not None]
    if asks and model is None:
        raise ValueError("these S2H pairs need a model for their rejected answers; pass a model spec")
    greedy = GenConfig(max_new_tokens=config.max_new_tokens)
    with timer.stage("s2h_model") as stats:
        answers = model.generate([drafts[i].ask for i in asks], greedy) if asks else []  # type: ignore[union-attr,misc]
        stats.requests += len(asks)
        right: list[int] = []
        for i, completion in zip(asks, answers, strict=True):
            draft = drafts[i]
            if completion.finish_reason == "error" or not completion.text.strip():
                out[i] = SynthDrop("s2h_model", f"no answer from the model: {completion.error or 'empty'}")
            elif draft.gold is not None and is_correct(completion.text, draft.gold):
                right.append(i)
            else:
                out[i] = _with(draft.pair, completion.text, model.spec)  # type: ignore[union-attr]
        if right and config.l1_attempts > 1:
            sampled = GenConfig(
                max_new_tokens=config.max_new_tokens, temperature=1.0, n=config.l1_attempts - 1, seed=seed
            )
            extra = model.generate([drafts[i].ask for i in right], sampled)  # type: ignore[union-attr,misc]
            stats.requests += len(right) * sampled.n
            for j, i in enumerate(right):
                group = extra[j * sampled.n : (j + 1) * sampled.n]
                wrong = [c.text for c in group if c.text.strip() and not is_correct(c.text, drafts[i].gold)]
                if wrong:
                    out[i] = _with(drafts[i].pair, wrong[0], model.spec, sampled=True)  # type: ignore[union-attr]
        for i in right:
            if out[i] is drafts[i].pair:
                out[i] = SynthDrop("s2h_model", f"the model answered correctly in {config.l1_attempts} tries")
        stats.failures += sum(isinstance(o, SynthDrop) for o in out)
        stats.items += sum(isinstance(o, PreferencePair) for o in out)
    if embed is not None:
        with timer.stage("similarity") as stats:
            l3 = [i for i, o in enumerate(out) if isinstance(o, PreferencePair) and o.level == "L3"]
            pairs = [out[i] for i in l3]
            sims = cosine_similarities(embed, [p.chosen for p in pairs], [p.rejected for p in pairs])  # type: ignore[union-attr]
            for i, sim in zip(l3, sims, strict=True):
                out[i] = dataclasses.replace(out[i], similarity=round(sim, 6))  # type: ignore[arg-type]
            stats.items += len(l3)
    return out
