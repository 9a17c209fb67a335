"""What a step is: its path, its event, who owns it, its body, its guard."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from events.event import CaseEvent
from events.values import Actor, Scope, Side


class Body(BaseModel):
    """A step's request body: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Owner(StrEnum):
    REFERRING = "referring"
    RECEIVING = "receiving"
    EITHER = "either"  # each side records its own (risk assessments)
    PHASE = "phase"  # whoever holds the current phase (closure, reopening)


class Phased(Protocol):
    """What a step asks of a case (events.case.Case, which imports this module)."""

    def phase_owner(self) -> Side: ...


# A step's guard: (the case, the validated body, the actor, when); raises to refuse.
Guard = Callable[[Any, Any, Actor, datetime], None]


@dataclass(frozen=True)
class Step:
    path: str
    event: type[CaseEvent]
    owner: Owner
    body: type[Body]
    guard: Guard | None = None
    repatriation_only: bool = False
    supervisor_only: bool = False
    shared: bool = True  # the partner must learn it
    # Fields that cross only under a consent scope, and fields that never cross (free text
    # written for this agency alone). Every free-text field is one or the other.
    protected: Mapping[Scope, tuple[str, ...]] = field(default_factory=dict)
    local_only: tuple[str, ...] = ()
    reopens: bool = False
    halted_on_hold: bool = False
    sided: bool = False  # the event records which side recorded it

    def owner_side(self, case: Phased, recorder: Side) -> Side:
        if self.owner is Owner.EITHER:
            return recorder
        if self.owner is Owner.PHASE:
            return case.phase_owner()
        return Side(self.owner.value)

    @property
    def message_type(self) -> str:
        name = self.event.__name__
        return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
