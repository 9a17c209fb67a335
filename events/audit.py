"""Verifying a stream's hash chain: each event's hash matches its content, and
each event points at its predecessor's hash."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from events.chain import GENESIS, commitment, digest


class Link(Protocol):
    """What the chain check reads of an event: a `CaseEvent`, or the audit's own reading of
    a stored row (services/anchors/links.py), which builds no event object."""

    @property
    def originator_version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def received(self) -> Mapping[str, Any] | None: ...
    @property
    def commitments(self) -> Mapping[str, str] | None: ...
    @property
    def salts(self) -> Mapping[str, str] | None: ...

    def content(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Break:
    version: int
    type: str
    reason: str

    def __str__(self) -> str:
        return f"event {self.version} ({self.type}): {self.reason}"


def verify_chain(events: Iterable[Link]) -> list[Break]:
    breaks, previous = [], GENESIS
    for event in events:
        if event.prev_hash != previous:
            breaks.append(Break(event.originator_version, event.type,
                                "prev_hash does not match the previous event's hash"))
        if digest(event.content()) != event.hash:
            breaks.append(Break(event.originator_version, event.type,
                                "hash does not match the event's content"))
        for name in mismatched_personal_fields(event):
            breaks.append(Break(event.originator_version, event.type,
                                f"hash does not match the event's content ({name} is not "
                                "the value its commitment covers)"))
        previous = event.hash
    return breaks


def mismatched_personal_fields(event: Link) -> list[str]:
    """Personal fields still readable (not erased) whose value is not the one committed."""
    if event.commitments is None or event.salts is None:
        return []
    return [name for name, salt in event.salts.items()
            if commitment(salt, event.data.get(name)) != event.commitments.get(name)]
