"""Sets of boxes with structure across images, and the record of that structure.

Three structures, each returned as a `SceneSample` (the scene plus what was done to build it, as data):

- **sequence**: box i + 1 is box i after one edit, `SequenceStep("moved" | "added" | "removed", obj)`;
  objects are told apart by (shape, color, size), which no two objects of a box share, and an object
  that left never comes back, so "what moved between Image 2 and Image 3" has one answer;
- **near duplicates**: every image is a copy of one base box, or the base box with one attribute of one
  object changed (`AttributeChange`, which says the attribute);
- **shared**: some objects recur in several boxes (`SharedObject` lists where); no other object of the
  set has a shared object's (shape, color, size), so "which images hold the black circle" is exact.

Box indices in the records are 0-based positions in `scene.boxes` (Image k is `boxes[k - 1]`).
Structured sets use scatter boxes only.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any, Literal

from scotoma.world.sampling.generate import SceneSampler, is_clear
from scotoma.world.sampling.specs import ObjectSpec, SamplingError
from scotoma.world.scenes.scene import COLORS, SHAPES, SIZES, Box, Scene, SceneError, WorldObject

Structure = Literal["independent", "sequence", "near_duplicates", "shared"]
MAX_BOXES = 8
_ALTERNATIVES = {"shape": SHAPES, "color": COLORS, "size": SIZES}


def check_k(k: int) -> None:
    """Raise SceneError unless a set of k boxes is allowed (1..8)."""
    if not 1 <= k <= MAX_BOXES:
        raise SceneError(f"a set holds 1 to {MAX_BOXES} boxes, not {k}")


@dataclass(frozen=True)
class SequenceStep:
    """One edit of a sequence: turns box i into box i + 1 (steps[i]).

    Attributes:
        kind: "moved", "added" or "removed".
        obj: the object after the edit (moved, added) or the one taken away (removed).
        before: for "moved", the object where it was.
    """

    kind: Literal["moved", "added", "removed"]
    obj: WorldObject
    before: WorldObject | None = None


@dataclass(frozen=True)
class AttributeChange:
    """Image `box` is the base box with one object's `attribute` ("shape", "color" or "size") changed."""

    box: int
    attribute: str
    before: WorldObject
    after: WorldObject


@dataclass(frozen=True)
class SharedObject:
    """One object that recurs: (box index, the object as placed there) for every box holding it."""

    instances: tuple[tuple[int, WorldObject], ...]

    @property
    def boxes(self) -> tuple[int, ...]:
        return tuple(i for i, _ in self.instances)

    @property
    def identity(self) -> tuple[str, str, int]:
        obj = self.instances[0][1]
        return (obj.shape, obj.color, obj.size)


@dataclass(frozen=True)
class SceneSample:
    """A generated set: the scene and the structure it was built with.

    Attributes:
        scene: the boxes, one image each.
        structure: "independent", "sequence", "near_duplicates" or "shared".
        steps: sequence edits; steps[i] turns box i into box i + 1.
        changes: near-duplicate edits, one per changed image.
        base: near duplicates: the box every image copies or edits.
        shared: recurring objects.
    """

    scene: Scene
    structure: Structure
    steps: tuple[SequenceStep, ...] = ()
    changes: tuple[AttributeChange, ...] = ()
    base: Box | None = None
    shared: tuple[SharedObject, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: NLVR-style structured representation plus the structure records."""

        def obj(o: WorldObject | None) -> dict[str, Any] | None:
            return None if o is None else dataclasses.asdict(o)

        return {
            "scene": self.scene.to_nlvr(),
            "structure": self.structure,
            "steps": [{"kind": s.kind, "obj": obj(s.obj), "before": obj(s.before)} for s in self.steps],
            "changes": [
                {"box": c.box, "attribute": c.attribute, "before": obj(c.before), "after": obj(c.after)}
                for c in self.changes
            ],
            "base": None if self.base is None else self.base.to_nlvr(),
            "shared": [[[i, obj(o)] for i, o in s.instances] for s in self.shared],
        }


def _identity(obj: WorldObject) -> tuple[str, str, int]:
    return (obj.shape, obj.color, obj.size)


def _unique(sampler: SceneSampler) -> SceneSampler:
    """The same sampler with unique identities per box, which sets need to tell objects apart."""
    if sampler.config.unique_identities:
        return sampler
    return SceneSampler(dataclasses.replace(sampler.config, unique_identities=True))


def _fails(what: str, sampler: SceneSampler) -> SamplingError:
    return SamplingError(f"could not build {what} in {sampler.config.max_tries} tries; loosen n_objects")


def sample_sequence(
    sampler: SceneSampler,
    rng: random.Random,
    k: int,
    kinds: tuple[str, ...] = ("moved", "added", "removed"),
    min_move: int = 10,
) -> SceneSample:
    """K boxes, each the previous one after one edit drawn from `kinds`.

    Args:
        sampler: draws the first box and new objects (its n_objects bounds every box).
        rng: the random source.
        k: number of boxes.
        kinds: edits to draw from: "moved", "added", "removed".
        min_move: a moved object shifts by at least this many px along x or y, so the move shows.
    """
    check_k(k)
    if not kinds or set(kinds) - {"moved", "added", "removed"}:
        raise SceneError(f"kinds={kinds} must be a non-empty subset of ('moved', 'added', 'removed')")
    sampler = _unique(sampler)
    low, high = sampler.config.n_objects
    for _ in range(sampler.config.max_tries):
        boxes = [sampler.box(rng, kind="scatter")]
        seen = {_identity(o) for o in boxes[0].objects}
        steps: list[SequenceStep] = []
        while len(boxes) < k:
            objects = list(boxes[-1].objects)
            step = None
            for kind in rng.sample(kinds, len(kinds)):
                if kind == "removed" and len(objects) > max(low, 1):
                    gone = objects.pop(rng.randrange(len(objects)))
                    step = SequenceStep("removed", gone)
                elif kind == "added" and len(objects) < high:
                    banned = [ObjectSpec(*ident) for ident in seen]
                    new = sampler.place(rng, objects, exclude=banned)
                    step = SequenceStep("added", new) if new else None
                elif kind == "moved":
                    i = rng.randrange(len(objects))
                    old, others = objects[i], objects[:i] + objects[i + 1 :]
                    spec = ObjectSpec(old.shape, old.color, old.size)
                    for _ in range(5):  # place() already retries; a few draws find a long enough move
                        new = sampler.place(rng, list(others), spec)
                        if new and max(abs(new.x - old.x), abs(new.y - old.y)) >= min_move:
                            objects[i] = new
                            step = SequenceStep("moved", new, old)
                            break
                if step is not None:
                    break
            if step is None:
                break
            seen.add(_identity(step.obj))
            steps.append(step)
            boxes.append(Box(tuple(objects)))
        if len(boxes) == k:
            return SceneSample(Scene(tuple(boxes)), "sequence", steps=tuple(steps))
    raise _fails(f"a sequence of {k} boxes with edits {kinds}", sampler)


def _edit(
    sampler: SceneSampler, rng: random.Random, base: Box, attribute: str
) -> tuple[Box, AttributeChange] | None:
    """Base with one object's attribute changed, still valid; None when the draw did not fit."""
    i = rng.randrange(len(base.objects))
    old, others = base.objects[i], base.objects[:i] + base.objects[i + 1 :]
    value = rng.choice([v for v in _ALTERNATIVES[attribute] if v != getattr(old, attribute)])
    candidates = [dataclasses.replace(old, **{attribute: value})]
    if attribute == "size":  # keep the top-left corner, the centre or the floor, whichever fits
        grow = int(value) - old.size
        anchors = [(old.x, old.y), (old.x - grow // 2, old.y - grow // 2), (old.x, old.y - grow)]
        candidates = [dataclasses.replace(candidates[0], x=x, y=y) for x, y in anchors]
    gap, taken = sampler.config.min_gap, {_identity(o) for o in others}
    for new in candidates:
        if new.inside_box() and is_clear(new.x, new.y, new.size, others, gap) and _identity(new) not in taken:
            objects = list(base.objects)
            objects[i] = new
            return Box(tuple(objects)), AttributeChange(0, attribute, old, new)
    return None


def sample_near_duplicates(
    sampler: SceneSampler,
    rng: random.Random,
    k: int,
    n_changed: int | None = None,
    attributes: tuple[str, ...] = ("shape", "color", "size"),
) -> SceneSample:
    """K images of one base box: `n_changed` of them (default k - 1) change one attribute of one object.

    Changed images differ from each other too; the unchanged ones are exact copies of the base box.
    """
    check_k(k)
    n_changed = k - 1 if n_changed is None else n_changed
    if not 0 <= n_changed <= k:
        raise SceneError(f"n_changed={n_changed} must lie in 0..{k}")
    unknown = set(attributes) - set(_ALTERNATIVES)
    if unknown or not attributes:
        raise SceneError(f"attributes {sorted(unknown) or '()'} are not among {tuple(_ALTERNATIVES)}")
    sampler = _unique(sampler)
    for _ in range(sampler.config.max_tries):
        base = sampler.box(rng, kind="scatter")
        boxes, changes = [base] * k, []
        for index in sorted(rng.sample(range(k), n_changed)):
            for _ in range(sampler.config.max_tries):
                edited = _edit(sampler, rng, base, rng.choice(attributes))
                if edited and edited[0] not in boxes:
                    boxes[index] = edited[0]
                    changes.append(dataclasses.replace(edited[1], box=index))
                    break
        if len(changes) == n_changed:
            return SceneSample(Scene(tuple(boxes)), "near_duplicates", changes=tuple(changes), base=base)
    raise _fails(f"{k} near duplicates with {n_changed} changed", sampler)


def sample_shared(
    sampler: SceneSampler,
    rng: random.Random,
    k: int,
    n_shared: int = 1,
    min_boxes: int = 2,
    max_boxes: int | None = None,
    same_position: bool = True,
) -> SceneSample:
    """K boxes where `n_shared` objects each recur in `min_boxes`..`max_boxes` (default k) boxes.

    Args:
        same_position: a shared object sits at the same place in every box that holds it; else each box
            places it anew.
    """
    check_k(k)
    max_boxes = k if max_boxes is None else max_boxes
    if not 1 <= min_boxes <= max_boxes <= k:
        raise SceneError(f"need 1 <= min_boxes ({min_boxes}) <= max_boxes ({max_boxes}) <= k ({k})")
    sampler = _unique(sampler)
    for _ in range(sampler.config.max_tries):
        protos: list[WorldObject] = []
        while len(protos) < n_shared and sampler.place(rng, protos):
            pass
        if len(protos) < n_shared:
            continue
        homes = [set(rng.sample(range(k), rng.randint(min_boxes, max_boxes))) for _ in protos]
        boxes = [
            _shared_box(
                sampler, rng, [p for p, h in zip(protos, homes, strict=True) if b in h], same_position, protos
            )
            for b in range(k)
        ]
        done = [box for box in boxes if box is not None]
        if len(done) == k:
            shared = tuple(
                SharedObject(
                    tuple(
                        (b, o)
                        for b, box in enumerate(done)
                        for o in box.objects
                        if _identity(o) == _identity(p)
                    )
                )
                for p in protos
            )
            return SceneSample(Scene(tuple(done)), "shared", shared=shared)
    raise _fails(f"{k} boxes sharing {n_shared} objects", sampler)


def _shared_box(
    sampler: SceneSampler,
    rng: random.Random,
    here: list[WorldObject],
    same_position: bool,
    protos: list[WorldObject],
) -> Box | None:
    """One box holding the shared objects `here`, filled up with objects unlike any shared object."""
    placed = list(here) if same_position else []
    if not same_position:
        for proto in here:
            if sampler.place(rng, placed, ObjectSpec(*_identity(proto))) is None:
                return None
    banned = [ObjectSpec(*_identity(p)) for p in protos]
    low, high = sampler.config.n_objects
    for _ in range(max(rng.randint(low, high) - len(placed), 0 if placed else 1)):
        if sampler.place(rng, placed, exclude=banned) is None:
            return None
    rng.shuffle(placed)
    return Box(tuple(placed))
