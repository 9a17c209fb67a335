"""What a read model is: a named fold of the case events into JSON documents by key.

A projection says which document an event touches (`key`) and what that document
becomes (`apply`; None removes it). It does no I/O: a runner in `services` reads the
notification log, loads the documents, and writes them back together with the
projection's position in one transaction.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from events.case import CaseEvent

Doc = dict[str, Any]


class Projection(Protocol):
    name: str

    def key(self, event: CaseEvent) -> str | None:
        """The document this event changes, or None when it changes none."""

    def apply(self, doc: Doc | None, event: CaseEvent) -> Doc | None:
        """The document after the event (None: there is no document)."""


class Indexed(Projection, Protocol):
    """A projection whose documents a read store also indexes, to find a page of them."""

    def index(self, doc: Doc) -> Any:
        """The document's indexed columns (a dataclass of `services.readside.store.INDEXED`)."""


def case_key(event: object) -> str | None:
    """Case read models have one document per case."""
    return _text(event.originator_id.int) if isinstance(event, CaseEvent) else None


@lru_cache(maxsize=4096)
def _text(number: int) -> str:
    # A case's id as text, written once for its run of events (`UUID.__str__` formats
    # it anew, in Python, at each of them; the cache is keyed by the number, hashed in C).
    return str(UUID(int=number))


def own_side(opening: CaseEvent) -> str:
    """This node's side of the case: it opened the case, or learnt of it by message."""
    return "referring" if opening.received is None else "receiving"
