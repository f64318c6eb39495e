"""`scotoma:NAME`: an exact target with a planted blind spot (`scotoma.world.scenes.scotomas`).

It answers every world question as the oracle does on T(scene), the scene as the scotoma lets it be seen,
so the items it fails on are known exactly. It answers only about shapes-world images rendered or loaded
in this process (their boxes are looked up by content hash, `scotoma.world.scenes.image_boxes`); any other
image is refused with a message saying so. It is a `ScriptedModel` whose responder is the oracle on T(scene),
so it batches, stops and counts like the other scripted backends.
"""

from __future__ import annotations

from scotoma.models.scripted import ScriptedModel
from scotoma.types import Conversation
from scotoma.world.programs.parse import ParseError, parse
from scotoma.world.scenes.image_boxes import box_of
from scotoma.world.scenes.scene import Scene
from scotoma.world.scenes.scotomas import Scotoma, get_scotoma, seen_answer


def _question(conversation: Conversation) -> str | None:
    """The world question in the last turn: its first line that parses (prompt templates may add an
    instruction line after it), or None when none does."""
    for line in conversation.messages[-1].text.splitlines():
        try:
            parse(line.strip())
        except ParseError:
            continue
        return line.strip()
    return None


def scotoma_responder(scotoma: Scotoma):
    """The answer function of a target with `scotoma`: what the oracle says on T(scene)."""

    def respond(conversation: Conversation) -> str:
        question = _question(conversation)
        if question is None:  # not a world question: the verifier rules it invalid whatever we say
            return "no"
        scene = Scene(tuple(box_of(image) for image in conversation.images))
        return seen_answer(scotoma, question, scene)

    return respond


def scotoma_model(name: str, spec: str, max_images: int | None = None) -> ScriptedModel:
    """The backend of `scotoma:NAME`; ValueError naming the known scotomas for an unknown name."""
    return ScriptedModel(scotoma_responder(get_scotoma(name)), spec=spec, max_images=max_images)


__all__ = ["scotoma_model", "scotoma_responder"]
