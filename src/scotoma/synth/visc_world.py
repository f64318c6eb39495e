"""Focus-centric data synthesis, exact: stages 1-3 of paper 001 (section 3.2) read off scene graphs.

1. feature extraction, `profile_box`: each box's objects, their kinds and counts, its towers;
2. pair connection, `connect`: object-oriented when two boxes hold objects of one kind (colour and
   shape); event-oriented when one box follows the other in a sequence (one edit apart) or both are
   near duplicates of one base box;
3. relevance annotation, `annotate`: temporal (consecutive images of a sequence: what changed),
   spatial (an identical object at the same place in both, or one that moved), semantic (shared kinds).

Stage 4 (question generation along a chain) is in `visc_compose`; `WorldChainSynth` runs all four.
Because every stage reads the scene graph, the edges are true and every answer comes from the oracle.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from scotoma.synth.records import Connection, ImageProfile, Relevance
from scotoma.world.sampling.generate_sets import SceneSample
from scotoma.world.scenes.captions import caption_box, object_phrase
from scotoma.world.scenes.scene import Box, WorldObject
from scotoma.world.scenes.spatial import towers

_STEP_VERB = {"moved": "moved", "added": "appeared", "removed": "disappeared"}


def kind_of(obj: WorldObject) -> str:
    """ "blue circle": the colour and shape, how objects are matched across images."""
    return f"{obj.color} {obj.shape}"


def _where(obj: WorldObject) -> str:
    x, y = obj.center
    column = "left" if x < 34 else "right" if x > 66 else "middle"
    row = "top" if y < 34 else "bottom" if y > 66 else "middle"
    return "the center" if row == column == "middle" else f"the {row} {column}".replace(" middle", "")


def profile_box(box: Box, image: int) -> ImageProfile:
    """Stage 1: the profile of one box (the paper's overall view, objects and interactions).

    Args:
        box: the box.
        image: its 1-based number in the sample.
    """
    kinds = Counter(kind_of(o) for o in box.objects)
    stacks = [t for t in towers(box) if len(t) > 1]
    overview = f"Overall view: a box holding {len(box.objects)} object{'s' * (len(box.objects) != 1)}."
    objects = f"Objects: {caption_box(box)}."
    where = "Positions: " + " ; ".join(f"{kind_of(o)} at {_where(o)}" for o in box.objects) + "."
    interactions = (
        f"Interactions: {len(stacks)} tower{'s' * (len(stacks) != 1)} of stacked squares."
        if stacks
        else "Interactions: no object rests on another."
    )
    return ImageProfile(
        image, " ".join((overview, objects, where, interactions)), dict(sorted(kinds.items()))
    )


def _event_pairs(sample: SceneSample) -> dict[tuple[int, int], str]:
    """1-based pairs joined by an event, with a phrase for it: sequence steps and near-duplicate edits."""
    events: dict[tuple[int, int], str] = {}
    for i, step in enumerate(sample.steps, start=1):
        events[(i, i + 1)] = f"the {step.obj.color} {step.obj.shape} {_STEP_VERB[step.kind]}"
    if sample.structure == "near_duplicates":
        changed = {c.box + 1: c for c in sample.changes}
        for a, b in combinations(range(1, len(sample.scene.boxes) + 1), 2):
            edits = [changed[k] for k in (a, b) if k in changed]
            what = " and ".join(
                f"the {c.before.color} {c.before.shape} changed its {c.attribute}" for c in edits
            )
            events[(a, b)] = what or "the same box"
    return events


def connect(profiles: list[ImageProfile], sample: SceneSample) -> list[Connection]:
    """Stage 2: the connected pairs, object-oriented (shared kinds) and event-oriented (one edit apart)."""
    events = _event_pairs(sample)
    connections = []
    for a, b in combinations(profiles, 2):
        shared = tuple(sorted(set(a.kinds) & set(b.kinds)))
        pair = (a.image, b.image)
        basis = tuple(name for name, holds in (("object", shared), ("event", pair in events)) if holds)
        if basis:
            connections.append(Connection(pair, basis, shared))
    return connections


def _same_place(box_a: Box, box_b: Box) -> list[WorldObject]:
    return sorted(set(box_a.objects) & set(box_b.objects))


def _moved(box_a: Box, box_b: Box) -> list[tuple[WorldObject, WorldObject]]:
    """Objects of the same kind and size that stand elsewhere (matched only when unique in both boxes)."""

    def unique(box: Box) -> dict[tuple[str, str, int], WorldObject]:
        counts = Counter((o.shape, o.color, o.size) for o in box.objects)
        return {(o.shape, o.color, o.size): o for o in box.objects if counts[(o.shape, o.color, o.size)] == 1}

    in_a, in_b = unique(box_a), unique(box_b)
    return [(in_a[k], in_b[k]) for k in sorted(set(in_a) & set(in_b)) if in_a[k] != in_b[k]]


def annotate(connection: Connection, sample: SceneSample, profiles: list[ImageProfile]) -> Relevance:
    """Stage 3: what relates a connected pair: temporal, spatial and semantic, as many as hold."""
    a, b = connection.pair
    box_a, box_b = sample.scene.boxes[a - 1], sample.scene.boxes[b - 1]
    relations: dict[str, str] = {}
    if sample.structure == "sequence" and b == a + 1:
        relations["temporal"] = f"Image {b} follows Image {a}: {_event_pairs(sample)[(a, b)]}"
    kept = _same_place(box_a, box_b)
    moved = _moved(box_a, box_b)
    spatial = [f"the {object_phrase(o)} is at the same place in both" for o in kept[:3]]
    spatial += [f"the {kind_of(x)} moved from {_where(x)} to {_where(y)}" for x, y in moved[:2]]
    if spatial:
        relations["spatial"] = "; ".join(spatial)
    if connection.shared:
        counts = {p.image: p.kinds for p in profiles}
        relations["semantic"] = "both show " + ", ".join(
            f"{kind}s ({counts[a][kind]} and {counts[b][kind]})" for kind in connection.shared
        )
    return Relevance(connection.pair, relations)


def run_stages(
    sample: SceneSample,
) -> tuple[list[ImageProfile], list[Connection], dict[tuple[int, int], Relevance]]:
    """Stages 1-3 on one scene: profiles, connections, and the relevance of each connected pair."""
    profiles = [profile_box(box, k) for k, box in enumerate(sample.scene.boxes, start=1)]
    connections = connect(profiles, sample)
    relevance = {c.pair: annotate(c, sample, profiles) for c in connections}
    return profiles, connections, relevance
