"""Definite descriptions drawn from a scene: "the blue circle" that picks out exactly one object.

The sampler uses these so that attribute, spatial and size questions are grounded and objective on
the scene they are asked about; synthesis can use `describe_uniquely` to name an object it chose.
"""

from __future__ import annotations

import random
from itertools import combinations

from scotoma.world.programs.nodes import Filter, Relation
from scotoma.world.scenes.scene import SIZE_WORDS, Scene, WorldObject
from scotoma.world.scenes.spatial import squared_distance, touches_edge


def fits(f: Filter, obj: WorldObject) -> bool:
    """Whether an object has the filter's shape, color, size and edge (its relation is not read)."""
    return (
        (f.shape is None or obj.shape == f.shape)
        and (f.color is None or obj.color == f.color)
        and (f.size is None or SIZE_WORDS[obj.size] == f.size)
        and (f.edge is None or touches_edge(obj, f.edge))
    )


def describe_uniquely(
    obj: WorldObject, pool: list[WorldObject], rng: random.Random, free: str | None = None
) -> Filter | None:
    """A shortest description of `obj` by shape, color, size and edge that no other object of `pool`
    fits (random among equally short ones, with a shape word when one works, as people say "the blue
    circle"); None when no such description exists. `free` names an attribute not to use."""
    values = {"shape": obj.shape, "color": obj.color, "size": SIZE_WORDS[obj.size]}
    values["edge"] = "any" if touches_edge(obj, "any") else "none"
    names = [n for n in values if n != free]
    candidates: list[tuple[str, ...]] = []
    for size in range(1, len(names) + 1):
        combos = list(combinations(names, size))
        rng.shuffle(combos)
        candidates += combos
    candidates.sort(key=lambda c: "shape" not in c)
    # One bit per attribute, set where a pool object shares obj's value: a description fits an object
    # exactly when the object's mask covers the description's bits (the same test as `fits`, done once).
    bit = {n: 1 << i for i, n in enumerate(names)}
    masks = [
        (bit.get("shape", 0) if o.shape == obj.shape else 0)
        | (bit.get("color", 0) if o.color == obj.color else 0)
        | (bit.get("size", 0) if o.size == obj.size else 0)
        | (bit.get("edge", 0) if touches_edge(o, "any") == (values["edge"] == "any") else 0)
        for o in pool
    ]
    for combo in candidates:
        want = sum(bit[n] for n in combo)
        if sum((m & want) == want for m in masks) == 1:
            return Filter(**{n: values[n] for n in combo})
    return None


def objects_in(scene: Scene, image: int | None) -> list[WorldObject]:
    """The objects of Image `image`, or of every image when it is None."""
    boxes = [scene.boxes[image - 1]] if image is not None else scene.boxes
    return [o for box in boxes for o in box.objects]


def closest_referent(
    scene: Scene, image: int | None, rng: random.Random, free: str | None = None
) -> tuple[Filter, WorldObject] | None:
    """ "The circle closest to the large black square": an object named by its nearest neighbour.

    The anchor is described uniquely in scope; the named object is the anchor's nearest neighbour among
    the box's objects of its shape (its colour when the shape is asked), with no tie. None when the
    drawn box offers no such pair; else the description and the object it names.
    """
    boxes = [b for k, b in enumerate(scene.boxes, 1) if image in (None, k) and len(b.objects) >= 3]
    if not boxes:
        return None
    box = rng.choice(boxes)
    anchor = rng.choice(box.objects)
    described = describe_uniquely(anchor, objects_in(scene, image), rng)
    if described is None:
        return None
    attribute = "color" if free == "shape" else "shape"
    nearest = min((o for o in box.objects if o is not anchor), key=lambda o: squared_distance(o, anchor))
    rivals = [
        o for o in box.objects if o is not anchor and getattr(o, attribute) == getattr(nearest, attribute)
    ]
    distances = sorted(squared_distance(o, anchor) for o in rivals)
    if len(distances) > 1 and distances[0] == distances[1]:
        return None
    named = Filter(**{attribute: getattr(nearest, attribute)}, relation=Relation("closest_to", described))
    return named, nearest


def scene_referent(
    scene: Scene, image: int | None, rng: random.Random, free: str | None = None, closest_prob: float = 0.0
) -> Filter | None:
    """A description of a random object that no other object in scope fits; None if none has one.

    With probability `closest_prob` the object is named by its nearest neighbour instead
    (`closest_referent`), so questions exercise the "closest" relation too.
    """
    if closest_prob and rng.random() < closest_prob:
        found = closest_referent(scene, image, rng, free)
        if found is not None:
            return found[0]
    pool = objects_in(scene, image)
    for obj in rng.sample(pool, len(pool)):
        found = describe_uniquely(obj, pool, rng, free)
        if found is not None:
            return found
    return None


def scene_referent_pair(scene: Scene, image: int | None, rng: random.Random) -> tuple[Filter, Filter] | None:
    """Unique descriptions of two objects that share a box (for spatial questions); None if not found."""
    pool = objects_in(scene, image)
    boxes = [b for k, b in enumerate(scene.boxes, 1) if len(b.objects) >= 2 and image in (None, k)]
    for _ in range(20 if boxes else 0):
        a, b = rng.sample(rng.choice(boxes).objects, 2)
        fa, fb = describe_uniquely(a, pool, rng), describe_uniquely(b, pool, rng)
        if fa is not None and fb is not None:
            return fa, fb
    return None


def scene_appearing(scene: Scene, rng: random.Random) -> Filter:
    """An object of the scene by color and shape, with its size when another size shares both."""
    pool = objects_in(scene, None)
    obj = rng.choice(pool)
    f = Filter(obj.shape, obj.color)
    if any(fits(f, o) and o.size != obj.size for o in pool):
        f = Filter(obj.shape, obj.color, SIZE_WORDS[obj.size])
    return f
