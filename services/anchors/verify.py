"""A case's stream checked against the checkpoints held of it: the node's own (signed as
it sent each message) and its partner's (received with their messages).

Besides the hash chain itself (events/audit.py), this names what a chain that verifies on
its own cannot show: events cut off its end (`truncated`), an event rewritten with every
later hash recomputed (`rewritten`), a case gone from the store (`deleted`), a received
fact its sender never signed for (`forged-fact`), and a checkpoint that does not verify
(`checkpoint`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from events.audit import Link, verify_chain
from services.anchors.checkpoint import Checkpoint, KeyOf


@dataclass(frozen=True)
class Fault:
    case_id: UUID
    version: int  # the event it is about (for a deleted case, the last version signed)
    type: str  # that event's type, or "" when the event is not in the stream
    kind: str  # chain, truncated, rewritten, deleted, forged-fact, checkpoint
    reason: str

    def __str__(self) -> str:
        where = f"event {self.version} ({self.type})" if self.type else f"version {self.version}"
        # A break of the chain itself reads as it always has.
        return f"{where}: {self.reason}" if self.kind == "chain" else \
            f"{where}: {self.kind}: {self.reason}"


def verify_case(case_id: UUID, events: Sequence[Link], held: Sequence[Checkpoint],
                agency: str, key_of: KeyOf) -> list[Fault]:
    """Every fault of one case's stream (possibly gone: no events) against what is held."""
    faults = [Fault(case_id, b.version, b.type, "chain", b.reason) for b in verify_chain(events)]
    valid = []
    for checkpoint in held:
        if checkpoint.valid(key_of):
            valid.append(checkpoint)
        else:
            faults.append(Fault(case_id, checkpoint.version, "", "checkpoint",
                                f"the checkpoint {checkpoint.agency} holds signed at version "
                                f"{checkpoint.version} does not verify against its key"))
    own = [c for c in valid if c.agency == agency]
    faults += _against_own(case_id, events, own, agency)
    if events:
        faults += _received(case_id, events,
                            [c for c in valid if c.agency != agency and not c.receipt])
    return faults


def _against_own(case_id: UUID, events: Sequence[Link], own: list[Checkpoint],
                 agency: str) -> list[Fault]:
    if not own:
        return []
    last = max(own, key=lambda c: c.version)
    if not events:
        return [Fault(case_id, last.version, "", "deleted",
                      f"the case is not in the store, but {agency} signed its stream of it "
                      f"up to version {last.version} at {last.at}")]
    faults = []
    for checkpoint in sorted(own, key=lambda c: c.version):
        if checkpoint.version > len(events):
            faults.append(Fault(case_id, checkpoint.version, "", "truncated",
                                f"the stream ends at version {len(events)}, but {agency} "
                                f"signed version {checkpoint.version} at {checkpoint.at}"))
            break
        event = events[checkpoint.version - 1]
        if event.hash != checkpoint.hash:
            faults.append(Fault(case_id, event.originator_version, event.type, "rewritten",
                                f"its hash is not the one {agency} signed at {checkpoint.at}: "
                                "this event or one before it was rewritten"))
            break  # every later checkpoint differs too: the first divergence is the one
    return faults


def _received(case_id: UUID, events: Sequence[Link], partners: list[Checkpoint]
              ) -> list[Fault]:
    """Each received fact against the checkpoint its sender signed for its message."""
    signed = {(c.agency, c.message.sequence): c for c in partners if c.message is not None}
    # From the first message a sender anchored, every later one of its must be signed for.
    since: dict[str, int] = {}
    for sender, sequence in signed:
        since[sender] = min(sequence, since.get(sender, sequence))
    faults, seen = [], set()
    for event in events:
        if event.received is None:
            continue
        sender, n = event.received["sender"], event.received["sequence"]
        seen.add((sender, n))
        checkpoint = signed.get((sender, n))
        if checkpoint is None and n > since.get(sender, n):
            faults.append(Fault(case_id, event.originator_version, event.type, "forged-fact",
                                f"{sender} signed no checkpoint for its message {n}"))
        elif checkpoint is not None and checkpoint.message is not None and (
                checkpoint.message.hash != event.received["sender_hash"]):
            faults.append(Fault(case_id, event.originator_version, event.type, "forged-fact",
                                f"its sender_hash is not the digest {sender} signed for its "
                                f"message {n}"))
    for (sender, sequence), checkpoint in sorted(signed.items()):
        if (sender, sequence) not in seen:
            faults.append(Fault(case_id, checkpoint.version, "", "truncated",
                                f"{sender}'s message {sequence}, signed at {checkpoint.at}, "
                                "was recorded here and is no longer in the stream"))
    return faults
