"""Value objects and the domain's vocabulary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

AGENCY_CODE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{2,10}$")


class Kind(StrEnum):
    REPATRIATION = "repatriation"
    REFERRAL = "referral"


class Side(StrEnum):
    REFERRING = "referring"
    RECEIVING = "receiving"


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    MONITOR = "monitor"
    AUDITOR = "auditor"


class Scope(StrEnum):
    REFER = "refer"
    SHARE_IDENTITY = "share_identity"
    SHARE_HEALTH = "share_health"
    RETURN = "return"
    MONITORING = "monitoring"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Status(StrEnum):
    OPENED = "opened"
    REFERRED = "referred"
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"
    PREPARING = "preparing"
    READY = "ready"
    SCHEDULED = "scheduled"
    IN_TRANSIT = "in_transit"
    ARRIVED = "arrived"
    REINTEGRATING = "reintegrating"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    DECLINED = "declined"
    ON_HOLD = "on_hold"


class ClosureReason(StrEnum):
    COMPLETED = "completed"
    DECLINED = "declined"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    LOST_CONTACT = "lost_contact"
    STAYED_IN_DESTINATION = "stayed_in_destination"
    TRANSFERRED = "transferred"
    DECEASED = "deceased"
    PROTECTION_GRANTED = "protection_granted"  # never crosses the border as such
    OTHER = "other"


def valid_agency(code: str) -> bool:
    return bool(AGENCY_CODE.match(code))


@dataclass(frozen=True)
class Actor:
    """Who records a step: a user (`sub`) of an agency, with roles."""

    agency: str
    sub: str
    roles: frozenset[Role] = frozenset({Role.CASEWORKER})
    # The supervisor who approved this step at the actor's request (four eyes): the step
    # is the actor's, with that supervisor's authority.
    approved_by: str | None = None

    @property
    def is_supervisor(self) -> bool:
        """A supervisor's authority: the actor's own, or that of the one who approved."""
        return Role.SUPERVISOR in self.roles or self.approved_by is not None


@dataclass(frozen=True)
class Received:
    """Where a received fact came from: the partner's message and its hash."""

    sender: str
    message_id: str
    sender_hash: str
    sequence: int

    def as_dict(self) -> dict[str, object]:
        return {
            "sender": self.sender,
            "message_id": self.message_id,
            "sender_hash": self.sender_hash,
            "sequence": self.sequence,
        }
