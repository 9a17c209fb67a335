"""Case notes: what a caseworker of either agency writes down for the agency's own team
(an interview, a call, an observation).

A note is the agency's alone and personal: its text is sealed under the case's own key,
so the case's erasure takes it too, and it never crosses the border (not shared, and its
text local-only). A note may follow a closure, never an erasure.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from events.case import CaseEvent
from events.step import Body, Owner, Step

NOTE_CHARACTERS = 4000


class Note(Body):
    text: str = Field(min_length=1, max_length=NOTE_CHARACTERS,
                      description="what the agency's team should know; never leaves the agency")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("a note says something: not only spaces")
        return text


class NoteAdded(CaseEvent):
    """Changes nothing the case's rules read: a note is for people."""


STEPS = [
    Step("notes", NoteAdded, Owner.EITHER, Note, shared=False, local_only=("text",),
         after_closure=True),
]
