"""Random question programs: every family, nested up to a depth limit, for tests, synthesis and probing.

`random_program(rng, n_images)` draws a program that names only images 1..n_images; it may still be
invalid on a given scene (no such referent, two of them), which `random_valid_program` filters with
the oracle.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from scotoma.world.programs.nodes import (
    CHANGES,
    COUNT_OPS,
    EDGES,
    PAIR_RELATIONS,
    RELATIONS,
    SIZE_NAMES,
    Compare,
    Count,
    CountCompare,
    Difference,
    Exists,
    Filter,
    FirstAppearance,
    ImagesContaining,
    Quantified,
    QueryAttribute,
    Relate,
    Relation,
    SizeCompare,
    Statement,
    Sum,
    Towers,
    WhatChanged,
    WhichImage,
    depth,
)
from scotoma.world.programs.referents import scene_appearing, scene_referent, scene_referent_pair
from scotoma.world.programs.skills import FAMILIES
from scotoma.world.scenes.scene import COLORS, SHAPES, Scene

# Levels a family's frame takes above its object descriptions: a statement is Statement > Quantified >
# CountCompare > Filter, so 3.
_FRAME = {"existence": 1, "counting": 1, "attribute": 1, "comparison": 2, "spatial": 1, "localized": 1}
_FRAME |= {"cross_image": 2, "global_search": 2, "arithmetic": 1, "sequence": 1, "statement": 3}
_MIN_IMAGES = {"cross_image": 2, "arithmetic": 2, "sequence": 2}


def min_images(family: str) -> int:
    """The fewest images a family's questions need: two for cross_image, arithmetic and sequence."""
    return _MIN_IMAGES.get(family, 1)


def min_depth(family: str) -> int:
    """The least `max_depth` under which `random_program` can draw the family (a statement needs 4)."""
    return _FRAME[family] + 1


@dataclass(frozen=True)
class SamplingConfig:
    """How random programs look.

    Attributes:
        max_depth: deepest nesting (`programs.depth`); "Does Image 1 have more yellow squares above a
            black circle than Image 2?" is depth 4.
        relation_prob: chance that an object description relates to another object.
        edge_prob: chance that it says which edge the object touches.
        size_prob: chance that it names a size.
        tower_prob: chance that it is the top or base block of a tower, or that a count is of towers.
        max_count: largest n in "exactly / at least / at most n".
        closest_prob: chance that a scene referent is named by its nearest neighbour ("the circle closest
            to the black square").
    """

    max_depth: int = 5
    relation_prob: float = 0.3
    edge_prob: float = 0.2
    size_prob: float = 0.2
    tower_prob: float = 0.1
    max_count: int = 4
    closest_prob: float = 0.1


class _Sampler:
    def __init__(
        self, rng: random.Random, n_images: int, config: SamplingConfig, scene: Scene | None
    ) -> None:
        self.rng, self.n, self.cfg, self.scene = rng, n_images, config, scene

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def image(self) -> int:
        return self.rng.randint(1, self.n)

    def two_images(self) -> tuple[int, int]:
        a, b = self.rng.sample(range(1, self.n + 1), 2)
        return a, b

    def filter(
        self, budget: int, definite: bool = False, plain: bool = False, free: str | None = None
    ) -> Filter:
        """A random Filter of depth <= budget; `free` names an attribute left unset (the one asked)."""
        r, cfg = self.rng, self.cfg
        tower = r.choice(("top", "base")) if not plain and self.chance(cfg.tower_prob) else None
        # A definite description ("the ...") must match one object, so it names more attributes.
        shape = (
            "square"
            if tower
            else (r.choice(SHAPES) if free != "shape" and self.chance(0.7 + 0.25 * definite) else None)
        )
        color = (
            r.choice(COLORS) if free != "color" and self.chance(0.9 if plain or definite else 0.6) else None
        )
        size = (
            r.choice(SIZE_NAMES) if free != "size" and self.chance(cfg.size_prob + 0.3 * definite) else None
        )
        edge = r.choice(EDGES) if not plain and self.chance(cfg.edge_prob) else None
        relation = None
        if not plain and budget >= 2 and self.chance(cfg.relation_prob):
            kinds = RELATIONS if definite else PAIR_RELATIONS
            relation = Relation(r.choice(kinds), self.filter(budget - 1))
        return Filter(shape, color, size, edge, tower, relation)

    def referent(self, budget: int, image: int | None, free: str | None = None) -> Filter:
        """A definite description; with a scene, one that picks out exactly one object there."""
        closest = self.cfg.closest_prob if budget >= 2 else 0.0  # the relation takes one level of depth
        found = scene_referent(self.scene, image, self.rng, free, closest) if self.scene else None
        return found or self.filter(budget, definite=True, free=free)

    def referent_pair(self, budget: int, image: int | None) -> tuple[Filter, Filter]:
        """Two definite descriptions; with a scene, of two objects that share a box."""
        found = scene_referent_pair(self.scene, image, self.rng) if self.scene else None
        return found or (self.filter(budget, True), self.filter(budget, True))

    def appearing(self) -> Filter:
        """What a first-appearance question asks about: color and shape, and size when needed."""
        return scene_appearing(self.scene, self.rng) if self.scene else self.filter(1, plain=True)

    def object_set(self, budget: int) -> Filter | Towers:
        if not self.chance(self.cfg.tower_prob):
            return self.filter(budget)
        r = self.rng
        height = r.randint(1, 4) if self.chance(0.6) else None
        op = r.choice(COUNT_OPS) if height else "exactly"
        top, base, color = (r.choice(COLORS) if self.chance(0.3) else None for _ in range(3))
        return Towers(height, op, top, base, color)

    def n_of(self, low: int = 1) -> int:
        return self.rng.randint(low, self.cfg.max_count)

    def condition(self, budget: int) -> Exists | CountCompare | Compare:
        kind = self.rng.choice(("exists", "count", "compare"))
        if kind == "exists":
            return Exists(self.object_set(budget))
        if kind == "count":
            return CountCompare(self.object_set(budget), self.rng.choice(COUNT_OPS), self.n_of())
        op = self.rng.choice(("more", "fewer", "same"))
        return Compare(Count(self.filter(budget - 1)), op, Count(self.filter(budget - 1)))

    def family(self, name: str, budget: int) -> Any:
        draw = getattr(self, f"_{name}", None)
        if draw is None:
            raise ValueError(f"unknown family {name!r}; one of {sorted(FAMILIES)}")
        return draw(budget)

    def _existence(self, budget: int, image: int | None = None) -> Exists:
        return Exists(self.object_set(budget), image)

    def _counting(self, budget: int, image: int | None = None) -> Count | CountCompare:
        if self.chance(0.5):
            return Count(self.object_set(budget), image)
        return CountCompare(self.object_set(budget), self.rng.choice(COUNT_OPS), self.n_of(), image)

    def _attribute(self, budget: int, image: int | None = None) -> QueryAttribute:
        attribute = self.rng.choice(("color", "shape", "size"))
        return QueryAttribute(attribute, self.referent(budget, image, free=attribute), image)

    def _spatial(self, budget: int, image: int | None = None) -> Relate:
        subject, target = self.referent_pair(budget, image)
        return Relate(subject, self.rng.choice(PAIR_RELATIONS), target, image)

    def _localized(self, budget: int) -> Any:
        kind = self.rng.choice((self._existence, self._counting, self._attribute, self._spatial))
        return kind(budget, self.image())

    def _comparison(self, budget: int, cross: bool = False, sizes: bool = True) -> Compare | SizeCompare:
        if cross:
            a, b = self.two_images()
        else:
            a = b = self.image() if self.chance(0.5) else None
        if not sizes or self.chance(0.75):
            left = self.filter(budget)
            right = left if cross and self.chance(0.6) else self.filter(budget)
            return Compare(Count(left, a), self.rng.choice(("more", "fewer", "same")), Count(right, b))
        op = self.rng.choice(("larger", "smaller", "same"))
        return SizeCompare(self.referent(budget + 1, a), op, self.referent(budget + 1, b), a, b)

    def _cross_image(self, budget: int) -> Compare | SizeCompare:
        return self._comparison(budget, cross=True)

    def _global_search(self, budget: int) -> WhichImage | ImagesContaining | Quantified:
        cond = self.condition(budget)
        kind = self.rng.choice((WhichImage, ImagesContaining, self.quantified))
        return kind(cond)

    def _arithmetic(self, budget: int) -> Sum | Difference:
        if self.chance(0.5):
            count = self.rng.randint(2, min(3, self.n))
            return Sum(self.object_set(budget), tuple(sorted(self.rng.sample(range(1, self.n + 1), count))))
        return Difference(self.object_set(budget), *self.two_images())

    def _sequence(self, budget: int) -> WhatChanged | FirstAppearance:
        r = self.rng
        if self.chance(0.6):
            a = r.randint(1, self.n - 1)
            b = a + 1 if self.chance(0.7) else r.randint(a + 1, self.n)
            return WhatChanged(r.choice(CHANGES), a, b)
        return FirstAppearance(self.appearing())

    def _statement(self, budget: int) -> Statement:
        """Mostly NLVR-style claims about all boxes; some name an image or compare two."""
        r = self.rng
        kind = r.choice(("exists", "qty", "compare", "quantified"))
        image = self.image() if self.chance(0.2) else None
        if kind == "exists":
            return Statement(Exists(self.object_set(budget + 1), image))
        if kind == "qty":
            return Statement(
                CountCompare(self.object_set(budget + 1), r.choice(COUNT_OPS), self.n_of(), image)
            )
        if kind == "compare":
            cross = self.n >= 2 and self.chance(0.3)
            return Statement(self._comparison(budget, cross=cross, sizes=False))
        return Statement(self.quantified(self.condition(budget)))

    def quantified(self, cond: Exists | CountCompare | Compare) -> Quantified:
        q = self.rng.choice(("each", "some", "none", "exactly", "at_least", "at_most"))
        return Quantified(q, cond, self.rng.randint(0, self.n) if q in COUNT_OPS else None)


def random_program(
    rng: random.Random,
    n_images: int,
    families: tuple[str, ...] | list[str] | None = None,
    max_depth: int | None = None,
    config: SamplingConfig | None = None,
    scene: Scene | None = None,
) -> Any:
    """A random top-level program naming only images 1..n_images.

    Args:
        rng: the source of randomness (same seed, same program).
        n_images: images in the sample; families that need two images are skipped when it is 1.
        families: families to draw from (uniformly), default all of `skills.FAMILIES`.
        max_depth: deepest nesting; overrides `config.max_depth`.
        config: attribute and relation rates.
        scene: when given, definite descriptions ("the blue circle") are drawn from its objects so that
            they pick out exactly one; other parts stay random.

    Raises:
        ValueError: no requested family fits n_images and max_depth.
    """
    cfg = config or SamplingConfig()
    limit = max_depth if max_depth is not None else cfg.max_depth
    names = list(families or FAMILIES)
    unknown = sorted(set(names) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown families {unknown}; choose from {sorted(FAMILIES)}")
    fits = [f for f in names if n_images >= _MIN_IMAGES.get(f, 1) and limit - _FRAME[f] >= 1]
    if not fits:
        raise ValueError(f"no family of {names} fits {n_images} image(s) and max_depth={limit}")
    sampler = _Sampler(rng, n_images, cfg, scene)
    name = rng.choice(fits)
    budget = limit - _FRAME[name]
    for _ in range(100):
        program = sampler.family(name, budget)
        if depth(program) <= limit:
            return program
    raise RuntimeError(f"could not draw a {name} program within depth {limit}")


def random_valid_program(
    rng: random.Random,
    scene: Scene,
    families: tuple[str, ...] | list[str] | None = None,
    max_depth: int | None = None,
    config: SamplingConfig | None = None,
    tries: int = 200,
) -> Any:
    """A random program that the oracle judges valid on `scene`: every referent exists and is unique.

    Raises:
        RuntimeError: none found in `tries` draws (say, a sequence family on a scene that is no sequence).
    """
    from scotoma.world.programs.oracle import (
        judge,  # the oracle imports the parser, which the sampler does not need
    )

    for _ in range(tries):
        program = random_program(rng, len(scene.boxes), families, max_depth, config, scene)
        if judge(program, scene).valid:
            return program
    raise RuntimeError(f"no valid {families or 'any-family'} program in {tries} draws on this scene")
