"""Stored topics that say nothing about the person.

A stored event's topic (its class) lies in clear in the store's `topic` column, beside
the encrypted state. For the steps that never leave the referring agency (asylum claims,
legal proceedings: `Step.shared` false), or only with the person's agreement (protection
measures: `Step.crosses`), the class alone would tell a reader of the store that the
person sought protection, is a witness or is protected by an order. Such events are stored under one
neutral topic, `KeptHome`, with their own topic moved into the (encrypted) state; reading
restores the class. Rows stored under the old, telling topics still read as they are.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from events.event import CaseEvent
from events.steps import STEPS

TOPIC = "stored_topic"  # the state attribute that holds a kept-home event's own topic


class KeptHome(CaseEvent):
    """How the store names a step that never leaves the agency: it names none."""


KEPT_HOME: frozenset[type[CaseEvent]] = frozenset(
    step.event for step in STEPS.values() if not step.shared or step.crosses is not None)


class NeutralTopicMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if type(domain_event) not in KEPT_HOME:
            return super().to_stored_event(domain_event)
        state = {**vars(domain_event), TOPIC: get_topic(type(domain_event))}
        neutral: Any = object.__new__(KeptHome)
        object.__setattr__(neutral, "__dict__", state)
        return super().to_stored_event(neutral)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        if not isinstance(event, KeptHome):
            return event
        state = cast(dict[str, Any], vars(event))
        restored: Any = object.__new__(resolve_topic(state.pop(TOPIC)))
        object.__setattr__(restored, "__dict__", state)
        return cast(DomainEventProtocol[UUID], restored)
