"""The messages the agency's own events make, before any of them leaves: what the relay
sends (services/exchange/relay.py), made here without a broker or a store.

Each case is followed as far as it was read (`CaseMessages`): the case itself, and the two
chains of messages made from it, one to the partner and one to the monitor (`Chain`). A
message's sequence is its 1-based position in its chain and it carries the digest of the
one before, so the same event makes the same message however often it is made again. A
case reaches the partner only once it is referred: until then its messages wait, and the
referral is preceded by all of them (the opening, consent, ...). Every message to the
partner carries the node's signed checkpoint of its stream of the case at the event it
carries (services/anchors/checkpoint.py); milestones go to the monitor under the case's
monitoring pseudonym, only with the person's consent to monitoring.

An event that cannot become a message (its payload no longer fits the contract, say) is
`Unencodable`, and so is every later exported event of its case, since the partner could
not apply them without it. A partner the trust directory lists no sealing key for yet
raises `NoSealingKey` instead: nothing is lost, the case is made again once it is listed.

The cases followed are kept, the most recently used last, up to `cache_size`; a case not
kept, or out of step with the event met, is read again from its stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from events.case import Case, CaseEvent
from events.chain import GENESIS
from services.anchors import checkpoint
from services.anchors.checkpoint import CarryingMessage
from services.contract.codec import MONITOR, encode, is_exported, milestone_envelope, to_envelope
from services.exchange import topics
from services.exchange.pseudonyms import NoSealingKey, Pseudonyms
from services.signing import SigningKey
from services.tables.deliveries import Sent

# A case's events in order, up to a version (None: all of them).
Stream = Callable[[UUID, int | None], Iterable[object]]


@dataclass(frozen=True)
class Outgoing:
    """A signed message (`envelope`, v1) and where it goes; it is sealed as it is sent."""

    topic: str
    case_ref: str  # the pseudonymous reference: the Kafka key and the sealed header's
    envelope: dict[str, Any]
    case_id: UUID | None = None
    version: int = 0  # of the sender's own event

    @property
    def to_partner(self) -> bool:
        return self.envelope["recipient"] != MONITOR

    @property
    def sent(self) -> Sent:
        assert self.case_id is not None
        return Sent(self.envelope["message_id"], self.case_id, self.version,
                    self.envelope["recipient"])

    @property
    def key(self) -> bytes:
        return self.case_ref.encode()

    @property
    def headers(self) -> list[tuple[str, bytes]]:
        e = self.envelope
        return topics.headers(e["schema"], e["message_id"], e["sender"])


@dataclass
class Chain:
    """Messages made one after another: how many so far, and the digest of the last, which
    the next one carries (GENESIS before the first)."""

    length: int = 0
    last_digest: str = GENESIS

    def add(self, envelope: dict[str, Any]) -> None:
        self.length += 1
        self.last_digest = envelope["integrity"]["hash"]


@dataclass
class CaseMessages:
    """One case as far as its messages are made: the case at `version`, its chains to the
    partner and to the monitor, and the messages to the partner that wait for its referral."""

    case: Case | None = None
    version: int = 0
    to_partner: Chain = field(default_factory=Chain)
    to_monitor: Chain = field(default_factory=Chain)
    waiting: list[Outgoing] = field(default_factory=list)
    poisoned: bool = False  # one of its events could not be made: the rest wait with it


class Unencodable(Exception):
    """An event that cannot become a message; the reason names no field value."""


class Messages:
    """What the agency's own events make to send, case by case, signed with `key`."""

    def __init__(self, key: SigningKey, pseudonyms: Pseudonyms, stream: Stream,
                 cache_size: int = 10_000) -> None:
        self.key, self.pseudonyms, self.stream = key, pseudonyms, stream
        self.cache_size = cache_size
        self._cases: dict[UUID, CaseMessages] = {}

    def after(self, event: CaseEvent) -> list[Outgoing]:
        """What may leave now because of `event`, met after its case's earlier events.
        Raises `Unencodable` (the event is poison, or its case is) or `NoSealingKey`."""
        return self._advance(self._before(event), event)

    def of_case(self, case_id: UUID) -> list[Outgoing]:
        """Every message to the partner the case's stream makes now, in order, up to an
        event that cannot become one."""
        made, out = CaseMessages(), []
        for event in self.stream(case_id, None):
            if isinstance(event, CaseEvent):
                try:
                    out += self._advance(made, event)
                except Unencodable:
                    break  # dead-lettered when first met: the rest waits with it
        return [m for m in out if m.to_partner]

    def forget(self) -> None:
        """Forgets the cases followed, which ran ahead of what was sent: each is read again
        from its stream when next met."""
        self._cases.clear()

    def _before(self, event: CaseEvent) -> CaseMessages:
        case_id, version = event.originator_id, event.originator_version
        made = self._cases.pop(case_id, None)
        if made is None or made.version != version - 1:
            made = CaseMessages()  # not kept (or out of step): read the case from its stream
            for earlier in self.stream(case_id, version - 1):
                if isinstance(earlier, CaseEvent):
                    # Dead-lettered when it was met; the case is marked poisoned.
                    with contextlib.suppress(Unencodable):
                        self._advance(made, earlier)
        self._cases[case_id] = made  # most recently used last
        if len(self._cases) > self.cache_size:
            self._cases.pop(next(iter(self._cases)))
        return made

    def _advance(self, made: CaseMessages, event: CaseEvent) -> list[Outgoing]:
        """The case after `event`, and what may leave now because of it."""
        made.case = event.mutate(made.case)
        made.version = event.originator_version
        case = made.case
        assert isinstance(case, Case)
        if not is_exported(event):
            return []
        if made.poisoned:
            raise Unencodable("an earlier event of its case could not be sent")
        s = case.state
        # Outside the poison check: a partner without a sealing key yet is retried, in order.
        alias = self.pseudonyms.monitoring(s.referring, s.receiving, case.id)
        ref = self.pseudonyms.case_ref(s.referring, s.receiving, case.id)
        try:
            monitored = milestone_envelope(case, event, made.to_monitor.length + 1, self.key,
                                           alias, made.to_monitor.last_digest)
            envelope = to_envelope(case, event, made.to_partner.length + 1, self.key,
                                   made.to_partner.last_digest, ref, self._anchor(case, event))
            encode(envelope)
        except NoSealingKey:
            raise
        except Exception as error:  # a contract or encoding failure of this event alone
            made.poisoned = True
            raise Unencodable(f"{type(error).__name__} while encoding") from None
        out: list[Outgoing] = []
        if monitored is not None:
            made.to_monitor.add(monitored)
            out.append(Outgoing(topics.MONITORING, str(alias), monitored, case.id,
                                event.originator_version))
        made.to_partner.add(envelope)
        message = Outgoing(topics.inbox(envelope["recipient"]), str(ref), envelope, case.id,
                           event.originator_version)
        if case.state.referred_at is None:
            made.waiting.append(message)  # the partner learns of the case with its referral
            return out
        out += [*made.waiting, message]
        made.waiting = []
        return out

    def _anchor(self, case: Case, event: CaseEvent) -> Callable[[int, str], dict[str, Any]]:
        """The checkpoint of the node's stream at `event`, for the message that carries it."""
        def anchor(sequence: int, digest: str) -> dict[str, Any]:
            return checkpoint.sign(self.key, self.key.agency, case.id, event.originator_version,
                                   event.hash, event.timestamp, CarryingMessage(sequence, digest)
                                   ).document()
        return anchor
