"""Admission: whether a message from a partner becomes a fact in this agency's stream.

Parsed, its sealed envelope validated and its signature checked against the trust
directory, opened with this agency's sealing key, the message inside validated against its
schemas (and upcast) and signed by the same sender, its sender checked to be this case's
partner on a known corridor; the
domain then checks the step's owner and records the fact with its message id, in one
save, so a message recorded before changes nothing. Each refusal names its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from events.case import Case
from events.rules import RuleViolation
from events.values import Received
from services.anchors.checkpoint import CarryingMessage, Checkpoint
from services.anchors.checkpoint import sign as sign_checkpoint
from services.anchors.store import Anchors
from services.application import CaseNotFound, Homeward, UnknownStep, VersionMismatch
from services.contract import ContractError, validate_envelope
from services.contract.codec import (
    MAX_DEPTH,
    TooDeep,
    decode,
    from_envelope,
    signature_valid,
)
from services.exchange.directory import Directory
from services.exchange.records import MAX_CIPHERTEXT, MAX_RECORD_BYTES
from services.exchange.sealing import SealError, is_sealed, open_sealed
from services.exchange.sealing_keys import Unsealing
from services.signing import Signer

RETRIES = 3  # a local user may save the same case at the same moment
CACHED_CORRIDORS = 10_000


# Refusals that may pass: the message is tried again, with backoff, and kept (never
# committed past) within the inbox's bound. A concurrent local change to the case; a
# message signed with a key the trust directory lists from a later time (its owner started
# signing with it early), the signature checked with that key. A key the directory does
# not list for its agency at all is refused for good: anyone can name one.
TRANSIENT = frozenset({"conflict", "not-yet-valid"})


class Rejected(Exception):
    """Why a message is not applied; `reason` is the dead-letter header. `fact`: the
    message as a fact, when it got that far (a case not known yet waits for its opening).
    `sender`: who signed it, once the signature is checked."""

    def __init__(self, code: str, detail: str = "", fact: Fact | None = None,
                 sender: str | None = None) -> None:
        # A detail may quote the record (a schema error names its keys): what cannot be
        # written as UTF-8, a lone surrogate say, is escaped, so no log or header fails on it.
        detail = detail.encode("utf-8", "backslashreplace").decode("utf-8")
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.reason, self.fact = code, str(self), fact
        self.sender = sender if sender is not None or fact is None else fact.received.sender

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT


@dataclass(frozen=True)
class Fact:
    """A verified message, ready to be recorded."""

    case_id: UUID
    message_type: str
    payload: dict[str, Any]
    received: Received
    checkpoint: Checkpoint | None = None  # the sender's, verified: kept before the fact


@dataclass(frozen=True)
class Signed:
    """A message valid by its schemas (upcast) and signed with its sender's listed key."""

    envelope: dict[str, Any]
    case_id: UUID
    kind: str
    payload: dict[str, Any]
    received: Received


def sealed_envelope(value: bytes | None) -> dict[str, Any]:
    """The sealed envelope a record's value holds, parsed within its bounds (size, then
    depth before parsing); Rejected (empty, too-large, too-deep, not-json, not-sealed) if
    it holds none. Nothing any value holds raises anything else."""
    if value is None or len(value) == 0:
        raise Rejected("empty", "the record has no value")
    if len(value) > MAX_RECORD_BYTES:
        raise Rejected("too-large", f"the record is more than {MAX_RECORD_BYTES} bytes")
    try:
        outer = decode(value)
    except TooDeep:
        raise Rejected("too-deep", f"the JSON nests deeper than {MAX_DEPTH}") from None
    except (ValueError, UnicodeDecodeError, TypeError):
        raise Rejected("not-json", "the value is not UTF-8 JSON") from None
    if not is_sealed(outer):
        raise Rejected("not-sealed", "only sealed envelopes (homeward.envelope.v2) are read")
    return outer


def authentic(value: bytes | None, directory: Directory, key: Unsealing) -> Signed:
    """Parsed within its bounds, its sealed envelope valid and signed with the key the
    trust directory lists for its sender, opened with `key`, and the message inside valid
    and signed by the same sender; Rejected (empty, too-large, too-deep, not-json,
    not-sealed, schema, unknown-sender, unknown-key, not-yet-valid, expired-key,
    bad-signature, sealed-to-another, unsealable, header-mismatch) if not. The inbox and the
    monitor both trust a message only through this."""
    return opened(sealed_envelope(value), directory, key)


def opened(outer: dict[str, Any], directory: Directory, key: Unsealing) -> Signed:
    """`authentic` of a value `sealed_envelope` read already."""
    sealed = outer.get("sealed")
    ciphertext = sealed.get("ciphertext") if isinstance(sealed, dict) else None
    if isinstance(ciphertext, str) and len(ciphertext) > MAX_CIPHERTEXT:
        raise Rejected("too-large", f"sealed.ciphertext is {len(ciphertext)} characters, "
                       f"more than {MAX_CIPHERTEXT}")
    try:
        validate_envelope(outer, 2)
    except ContractError as error:
        raise Rejected("schema", str(error)[:1000]) from None
    _check_signature(outer, directory)
    try:
        envelope = open_sealed(outer, key)
    except SealError as error:
        raise Rejected(error.code, error.detail) from None
    try:
        case_id, kind, _, payload, received = from_envelope(envelope)
    except ContractError as error:
        raise Rejected("schema", str(error)[:1000]) from None
    _check_signature(envelope, directory)
    return Signed(envelope, case_id, kind, payload, received)


def _check_signature(envelope: dict[str, Any], directory: Directory) -> None:
    sender, key_id = envelope["sender"], envelope["integrity"]["key_id"]
    status = directory.key_status(sender, key_id)
    if status == "unknown-agency":
        raise Rejected("unknown-sender", f"{sender} is not in the trust directory")
    if status == "unknown-key":
        raise Rejected("unknown-key", f"the trust directory lists no key {key_id} of {sender}")
    if status == "not-yet-valid":
        # Listed from a later time: only its holder may make the message wait for it.
        listed = directory.key(sender, key_id)
        if listed is None or not signature_valid(envelope, listed):
            raise Rejected("bad-signature", f"message {envelope['message_id']} from {sender}")
        raise Rejected("not-yet-valid", f"{sender}'s key {key_id} is not valid yet",
                       sender=sender)
    if status == "expired":
        raise Rejected("expired-key", f"{sender}'s key {key_id} is no longer valid")
    key = directory.key(sender, key_id, datetime.now(UTC))
    if key is None:
        raise Rejected("unknown-sender",
                       f"{sender} with key {key_id} is not in the trust directory")
    if not signature_valid(envelope, key):
        raise Rejected("bad-signature", f"message {envelope['message_id']} from {sender}")


class Admission:
    def __init__(self, app: Homeward, key: Unsealing, directory: Callable[[], Directory],
                 anchors: Anchors | None = None, signer: Signer | None = None) -> None:
        self.app, self.key, self.agency, self.directory = app, key, key.owner, directory
        self.anchors, self.signer = anchors, signer  # the node's key signs its checkpoints
        self._corridors: dict[UUID, tuple[str, str]] = {}

    def verify(self, value: bytes) -> Fact:
        """The message as a fact this agency may record, or Rejected saying why not."""
        return self.verify_envelope(sealed_envelope(value))

    def verify_envelope(self, outer: dict[str, Any]) -> Fact:
        """`verify` of a value `sealed_envelope` read already."""
        signed = opened(outer, self.directory(), self.key)
        recipient = signed.envelope["recipient"]
        if recipient != self.agency:
            raise Rejected("wrong-recipient", f"addressed to {recipient}")
        try:
            self._check_corridor(signed.case_id, signed.kind, signed.payload,
                                 signed.received.sender)
        except Rejected as rejected:  # a case not known yet: the inbox may hold the message
            rejected.fact = Fact(signed.case_id, signed.kind, signed.payload, signed.received)
            raise
        return Fact(signed.case_id, signed.kind, signed.payload, signed.received,
                    self._checkpoint(signed))

    def _checkpoint(self, signed: Signed) -> Checkpoint | None:
        """The sender's checkpoint, if the message carries one: it must be the sender's, of
        this case and this message, and verify against the directory on its own."""
        document = signed.envelope.get("checkpoint")
        if document is None:
            return None
        checkpoint, r = Checkpoint.of(document), signed.received
        if (checkpoint.agency, checkpoint.case_id) != (r.sender, str(signed.case_id)) or (
                checkpoint.message != CarryingMessage(r.sequence, r.sender_hash)):
            raise Rejected("bad-checkpoint", f"message {r.message_id}: the checkpoint is not "
                           "the sender's of this case and message")
        if not checkpoint.valid(self.directory().key):
            raise Rejected("bad-checkpoint", f"message {r.message_id}: the checkpoint's "
                           "signature does not verify")
        return checkpoint

    def _check_corridor(self, case_id: UUID, kind: str, payload: dict[str, Any], sender: str
                        ) -> None:
        if kind == "case-opened":
            referring, receiving = payload["referring_agency"], payload["receiving_agency"]
        else:
            referring, receiving = self.corridor_of(case_id)
        if {sender, self.agency} != {referring, receiving}:
            raise Rejected("not-a-partner", f"{sender} is not this agency's partner on the case")
        if self.directory().corridor(referring, receiving) is None:
            raise Rejected("no-corridor", f"no corridor {referring} -> {receiving}")

    def corridor_of(self, case_id: UUID) -> tuple[str, str]:
        # A case's corridor never changes, so it is read from the store once.
        corridor = self._corridors.get(case_id)
        if corridor is None:
            try:
                state = self.app.case(case_id).state
            except CaseNotFound:
                raise Rejected("case-not-found", "the case is unknown here") from None
            corridor = self._corridors[case_id] = (state.referring, state.receiving)
            if len(self._corridors) > CACHED_CORRIDORS:
                self._corridors.pop(next(iter(self._corridors)))
        return corridor

    def apply(self, fact: Fact) -> Case:
        """Records the fact and returns the case after it; Rejected if it was recorded
        before or a rule refuses it."""
        for attempt in range(RETRIES):
            try:
                case = self.app.receive(fact.case_id, fact.message_type, fact.payload,
                                        fact.received)
                break
            except VersionMismatch:
                if attempt == RETRIES - 1:
                    raise Rejected("conflict", "the case kept changing; not recorded") from None
            except CaseNotFound:
                raise Rejected("case-not-found", "the case is unknown here") from None
            except UnknownStep as error:
                raise Rejected("unknown-step", str(error)) from None
            except RuleViolation as error:
                raise Rejected(error.code, error.detail) from None
        if self.anchors is not None:
            # Once the fact is recorded (a crash before this: the message is read again and
            # is a duplicate, kept then); never for a fact the domain refused. With it, this
            # node's own checkpoint of its stream at the fact, so a fact rewritten here later
            # no longer matches what this node signed as it recorded it.
            kept = [fact.checkpoint] if fact.checkpoint is not None else []
            if case is not None and self.signer is not None:
                kept.append(sign_checkpoint(self.signer, self.agency, case.id, case.version,
                                            case.last_hash, case.last_at or self.app.clock.now()))
            self.anchors.keep_all(kept)
        if case is None:
            r = fact.received
            raise Rejected("duplicate", f"message {r.message_id} (sequence {r.sequence} "
                           f"from {r.sender}) was already recorded")
        return case
