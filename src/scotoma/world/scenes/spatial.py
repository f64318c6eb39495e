"""Geometry the oracle decides with: relations inside a box, edges, towers, and changes across a sequence.

Definitions (pixels, y grows downwards; see `scene.WorldObject`):

- A is *above* B when A's bounding box ends at or before B's begins (`A.bottom <= B.y`); *below*,
  *left of* (`A.right <= B.x`) and *right of* likewise. Strict separation keeps the truth visible.
- A is *on* B when A rests on B: `B.y - STACK_GAP <= A.bottom <= B.y` and their columns overlap.
- An object touches an edge when its bounding box reaches it; it is in a *corner* when it touches a
  vertical and a horizontal edge; *none* means it touches no edge.
- A *tower* is a stack of squares of one size and x, its base touching the bottom edge, each block
  resting on the one below (as NLVR1's tower images are drawn: x=40, size 20, one pixel apart).
- *Closest* compares distances between centers; a tie leaves the referent undetermined.
- A *sequence* is a sample of two or more images where objects can be matched across images by
  (shape, color, size): no box holds two objects alike, and consecutive images differ by at most
  `SEQUENCE_MAX_CHANGES` moved, appeared or disappeared objects.
"""

from __future__ import annotations

from scotoma.world.scenes.scene import BOX_SIZE, SIZE_WORDS, Box, Scene, WorldObject

STACK_GAP = 3
SEQUENCE_MAX_CHANGES = 2

Identity = tuple[str, str, int]


def above(a: WorldObject, b: WorldObject) -> bool:
    return a.y + a.size <= b.y


def below(a: WorldObject, b: WorldObject) -> bool:
    return b.y + b.size <= a.y


def left_of(a: WorldObject, b: WorldObject) -> bool:
    return a.x + a.size <= b.x


def right_of(a: WorldObject, b: WorldObject) -> bool:
    return b.x + b.size <= a.x


def on(a: WorldObject, b: WorldObject) -> bool:
    bottom = a.y + a.size
    return b.y - STACK_GAP <= bottom <= b.y and a.x < b.x + b.size and b.x < a.x + a.size


RELATION_TESTS = {"above": above, "below": below, "left_of": left_of, "right_of": right_of, "on": on}


def touches_edge(obj: WorldObject, edge: str) -> bool:
    """Edge is one of programs.EDGES: any, top, bottom, left, right, corner, none."""
    top, left = obj.y <= 0, obj.x <= 0
    bottom, right = obj.y + obj.size >= BOX_SIZE, obj.x + obj.size >= BOX_SIZE
    if edge == "any":
        return top or bottom or left or right
    if edge == "none":
        return not (top or bottom or left or right)
    if edge == "corner":
        return (top or bottom) and (left or right)
    return {"top": top, "bottom": bottom, "left": left, "right": right}[edge]


def squared_distance(a: WorldObject, b: WorldObject) -> int:
    """Squared distance between centers, doubled coordinates so it stays an exact integer."""
    dx = (2 * a.x + a.size) - (2 * b.x + b.size)
    dy = (2 * a.y + a.size) - (2 * b.y + b.size)
    return dx * dx + dy * dy


def towers(box: Box) -> list[list[WorldObject]]:
    """The box's towers, each a list of blocks from base to top."""
    squares = [o for o in box.objects if o.shape == "square"]
    found = []
    for base in squares:
        if base.y + base.size < BOX_SIZE:
            continue
        stack = [base]
        while True:
            below_block = stack[-1]
            nxt = [
                o
                for o in squares
                if o.x == below_block.x
                and o.size == below_block.size
                and on(o, below_block)
                and o not in stack
            ]
            if not nxt:
                break
            stack.append(nxt[0])
        found.append(stack)
    return found


def identity(obj: WorldObject) -> Identity:
    return (obj.shape, obj.color, obj.size)


def box_changes(before: Box, after: Box) -> tuple[list[Identity], list[Identity], list[Identity]]:
    """(moved, appeared, disappeared) identities from `before` to `after`, matched by identity."""
    pos_before = {identity(o): (o.x, o.y) for o in before.objects}
    pos_after = {identity(o): (o.x, o.y) for o in after.objects}
    moved = [k for k, p in pos_after.items() if k in pos_before and pos_before[k] != p]
    appeared = [k for k in pos_after if k not in pos_before]
    disappeared = [k for k in pos_before if k not in pos_after]
    return moved, appeared, disappeared


def sequence_problem(scene: Scene) -> str | None:
    """None when the scene is a sequence; otherwise why it is not (a sentence for a verdict)."""
    if len(scene.boxes) < 2:
        return "a sequence needs at least two images"
    for k, box in enumerate(scene.boxes, 1):
        if len({identity(o) for o in box.objects}) != len(box.objects):
            return f"Image {k} holds two identical objects, so objects cannot be matched across images"
    for k in range(1, len(scene.boxes)):
        moved, appeared, gone = box_changes(scene.boxes[k - 1], scene.boxes[k])
        if len(moved) + len(appeared) + len(gone) > SEQUENCE_MAX_CHANGES:
            return f"Image {k} and Image {k + 1} differ in more than {SEQUENCE_MAX_CHANGES} objects"
    return None


def change_phrase(ident: Identity, context: list[WorldObject]) -> str:
    """The canonical answer naming an object: "the black square", with the size word
    ("the large black square") only when another object in `context` has the same color and shape."""
    shape, color, size = ident
    clash = any(o.shape == shape and o.color == color and o.size != size for o in context)
    return f"the {SIZE_WORDS[size]} {color} {shape}" if clash else f"the {color} {shape}"
