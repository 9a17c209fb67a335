"""Domain events to signed envelopes and back: what crosses the border, and only that.

`to_envelope` is the one place that decides what a partner learns of an event: the
payload holds only what the consent scopes active at that moment allow. `milestone`
is the one place that decides what a monitor learns: no name, no free text, only the
breakdowns statistics are split by (sex, age band, nationality, forms of exploitation),
and nothing at all without consent scope `monitoring`.

The digest a message carries (`integrity.hash`) covers the minimised payload only, chained
to the sender's previous message of the case: a field withheld for lack of consent, or
who recorded the step, cannot be recovered by trying candidates against it. (The event's
own hash, which covers everything, stays in the sender's store.) These messages then
travel sealed (`services.exchange.sealing`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any
from uuid import UUID, uuid5

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.case import Case, CaseEvent
from events.chain import ERASED, GENESIS, digest
from events.profile import breakdown_fields
from events.progress import htcds_status, status
from events.steps import BY_EVENT, CaseOpened
from events.steps.opening import IDENTITY_FIELDS, LOCAL_FIELDS
from events.steps.referral import ReferralSent
from events.values import Received, Scope
from services.contract.registry import (
    ContractError,
    default_registry,
    message_version,
    parse_schema_name,
    schema_name,
    validate_envelope,
)
from services.contract.upcasting import accept
from services.signing import Signer, canonical_json, verify

MILESTONE = "milestone"
MONITOR = "monitor"
# Milestones arrive at the monitor from the step's owner, so these carry the hand-off clock.
EXPECTED_ARRIVAL = ("transport-planned", "departure-confirmed")
INCIDENT = "transit-incident-recorded"
FOLLOW_UP = "follow-up-recorded"


def message_type(event: CaseEvent) -> str:
    """`ReferralSent` -> `referral-sent`, as `Step.message_type` names it."""
    return "".join("-" + c.lower() if c.isupper() else c for c in event.type).lstrip("-")


def is_exported(event: CaseEvent) -> bool:
    """The agency's own events that its partner must learn (not the facts it received)."""
    if event.received is not None:
        return False
    if isinstance(event, CaseOpened):
        return True
    step = BY_EVENT.get(type(event))
    return step is not None and step.crossing(event.data)


def message_id(case_id: UUID, sender: str, version: int) -> UUID:
    """Deterministic, so a message re-sent after a crash keeps its id."""
    return uuid5(case_id, f"{sender}/{version}")


def message_digest(case_id: UUID | str, kind: str, sequence: int, payload: dict[str, Any],
                   prev_hash: str) -> str:
    """What `integrity.hash` is: over what the recipient reads, and nothing else."""
    return digest({"case_id": str(case_id), "message_type": kind, "sequence": sequence,
                   "payload": payload, "prev_hash": prev_hash})


def partner(case: Case, agency: str) -> str:
    return case.state.receiving if agency == case.state.referring else case.state.referring


def shared_payload(case_at_event: Case, event: CaseEvent) -> dict[str, Any]:
    """The event's data minimised by the consent active once it happened."""
    data = copy.deepcopy(event.data)
    if isinstance(event, CaseOpened):
        # Consent always comes after the opening: the opening never carries identity.
        for name in IDENTITY_FIELDS + LOCAL_FIELDS:
            data.pop(name, None)
        return data
    step = BY_EVENT[type(event)]
    if step.for_partner is not None:  # first: it may say what a local-only field held
        data = step.for_partner(data)
    for name in step.local_only:  # a withdrawal's reason, a stay's basis: they never cross
        data.pop(name, None)
    for scope, fields in step.protected.items():
        if not case_at_event.consented(scope):
            for name in fields:
                data.pop(name, None)
    for name in step.withheld(case_at_event, data) if step.withheld is not None else ():
        data.pop(name, None)
    person = case_at_event.state.person
    if isinstance(event, ReferralSent) and person and case_at_event.consented(
        Scope.SHARE_IDENTITY
    ):
        # The referral is where the identity crosses, taken from the case as it stands.
        data["person"] = copy.deepcopy(person)
    # An event sent after its case was erased (the relay was behind) carries nothing erased.
    return {k: v for k, v in data.items()
            if not (v == ERASED and k in (event.commitments or {}))}


def written_version(kind: str, payload: dict[str, Any]) -> int:
    """The newest version of the type that says all the event says: a transport plan that
    names its escort organisation goes as v2, one that does not as v1 (the consumer upcasts).
    Raises the oldest version's ContractError if none fits."""
    registry = default_registry()
    versions = registry.versions(kind)
    for version in reversed(versions[1:]):
        try:
            registry.validate_payload(kind, version, payload)
            return version
        except ContractError:
            continue
    registry.validate_payload(kind, versions[0], payload)
    return versions[0]


def to_envelope(
    case_at_event: Case, event: CaseEvent, sequence: int, sender_key: Signer,
    prev_hash: str = GENESIS, case_ref: UUID | None = None,
    anchor: Callable[[int, str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The signed integration message of one of the agency's own events; `prev_hash` is
    the digest of the sender's previous message of the case. The message id derives from
    the case's pseudonymous reference where given, as it is read in clear on the broker.
    With `anchor`, it carries the sender's signed checkpoint of its stream at the event
    (envelope v3), which `anchor` makes from the message's sequence and digest."""
    if not is_exported(event):
        raise ValueError(f"{event.type} v{event.originator_version} does not leave the agency")
    kind = message_type(event)
    payload = shared_payload(case_at_event, event)
    version = written_version(kind, payload)
    sender, case_id = event.recorded_by, case_at_event.id
    mid = str(message_id(case_ref or case_id, sender, event.originator_version))
    carried = message_digest(case_id, kind, sequence, payload, prev_hash)
    envelope = {
        "message_id": mid,
        "schema": schema_name(kind, version),
        "case_id": str(case_id),
        "sender": sender,
        "recipient": partner(case_at_event, sender),
        "sequence": sequence,
        "occurred_at": event.timestamp.isoformat(),
        "correlation_id": str(case_id),
        "causation_id": mid,
        "payload": payload,
        "integrity": {"prev_hash": prev_hash, "hash": carried},
    }
    if anchor is not None:
        envelope["checkpoint"] = anchor(sequence, carried)
    return sign(envelope, sender_key)


def sent_digests(events: list[CaseEvent]) -> list[str]:
    """The digests the agency's messages of a case carry, from the case's stream: what
    the partner's received facts must hold as `sender_hash`."""
    case: Case | None = None
    out: list[str] = []
    for event in events:
        case = event.mutate(case)
        assert isinstance(case, Case)
        if is_exported(event):
            kind, payload = message_type(event), shared_payload(case, event)
            prev = out[-1] if out else GENESIS
            out.append(message_digest(case.id, kind, len(out) + 1, payload, prev))
    return out


def milestone(case: Case, event: CaseEvent) -> dict[str, Any] | None:
    """The de-identified milestone of an event, or None without consent to monitoring."""
    written = _milestone(case, event)
    return written[0] if written is not None else None


def _milestone(case: Case, event: CaseEvent) -> tuple[dict[str, Any], int] | None:
    """`milestone`, with the version of the schema it was validated against."""
    if not is_exported(event) or not case.consented(Scope.MONITORING):
        return None
    s = case.state
    payload: dict[str, Any] = {
        "corridor": {"referring": s.referring, "receiving": s.receiving},
        "kind": s.kind.value,
        "milestone": message_type(event),
        "status": status(case, event.timestamp).value,
        "htcds_status": htcds_status(case, event.timestamp).value,
        "occurred_at": event.timestamp.isoformat(),
        "minor": s.minor,
    }
    if payload["milestone"] in EXPECTED_ARRIVAL and s.transport is not None:
        payload["due_at"] = s.transport.arrival_at.isoformat()
    if payload["milestone"] == INCIDENT:
        payload["incident"] = event.data["kind"]  # the kind only: never the details
    if s.opened_at is not None:  # the referral stage's start, had consent come later
        payload["opened_at"] = s.opened_at.isoformat()
    if payload["milestone"] == FOLLOW_UP and event.data.get("retrafficking_risk"):
        payload["escalation"] = "retrafficking-risk"
    # For breakdowns of the published statistics only (the monitor keeps them in aggregates).
    payload.update(breakdown_fields(s.person, s.opened_on, s.exploitation_forms))
    return payload, written_version(MILESTONE, payload)  # validated once


def milestone_envelope(
    case: Case, event: CaseEvent, sequence: int, sender_key: Signer, alias: UUID,
    prev_hash: str = GENESIS,
) -> dict[str, Any] | None:
    """The signed milestone of an event under the case's keyed pseudonym `alias`."""
    written = _milestone(case, event)
    if written is None:
        return None
    payload, version = written
    mid = str(message_id(alias, event.recorded_by, event.originator_version))
    envelope = {
        "message_id": mid,
        "schema": schema_name(MILESTONE, version),
        "case_id": str(alias),
        "sender": event.recorded_by,
        "recipient": MONITOR,
        "sequence": sequence,
        "occurred_at": payload["occurred_at"],
        "correlation_id": str(alias),
        "causation_id": mid,
        "payload": payload,
        "integrity": {"prev_hash": prev_hash,
                      "hash": message_digest(alias, MILESTONE, sequence, payload, prev_hash)},
    }
    return sign(envelope, sender_key)


def signed_bytes(envelope: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of the envelope without `integrity.signature`."""
    integrity = {k: v for k, v in envelope["integrity"].items() if k != "signature"}
    return canonical_json({**envelope, "integrity": integrity})


def sign(envelope: dict[str, Any], key: Signer) -> dict[str, Any]:
    unsigned = {**envelope, "integrity": {**envelope["integrity"], "key_id": key.key_id}}
    unsigned["integrity"].pop("signature", None)
    signature = key.sign(signed_bytes(unsigned))
    return {**unsigned, "integrity": {**unsigned["integrity"], "signature": signature}}


def signature_valid(envelope: dict[str, Any], key: Ed25519PublicKey) -> bool:
    return verify(key, envelope["integrity"]["signature"], signed_bytes(envelope))


def encode(envelope: dict[str, Any]) -> bytes:
    return canonical_json(envelope)


# How deep a document may nest (objects and arrays): a message is about six deep; a deeper
# one is refused before it is parsed, as parsing (and everything that walks the document
# after) recurses once per level.
MAX_DEPTH = 32
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TooDeep(ValueError):
    """A document nested deeper than MAX_DEPTH: refused unparsed."""


def depth(value: bytes) -> int:
    """How deep the JSON in `value` nests, counted over its brackets outside strings (no
    parsing, no recursion: it holds for anything, JSON or not)."""
    brackets = _STRING.sub(b"", value).translate(None, _NOT_BRACKETS)
    # A close before its open makes JSON fail where it stands, before anything nests.
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets)), default=0))


def decode(value: bytes | None, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON in a Kafka value: ValueError when it is none, TooDeep (a ValueError) when it
    nests deeper than `max_depth`, checked before it is parsed."""
    if not isinstance(value, bytes | bytearray):
        raise ValueError("no value")
    if value.count(b"[") + value.count(b"{") > max_depth and depth(value) > max_depth:
        raise TooDeep(f"nested deeper than {max_depth}")
    try:
        return json.loads(value.decode("utf-8"))
    except RecursionError:  # not reached within the bound; kept so nothing deep escapes
        raise TooDeep(f"nested deeper than {max_depth}") from None


def from_envelope(env: Any) -> tuple[UUID, str, int, dict[str, Any], Received]:
    """A received envelope, validated and upcast to the latest version of its type.

    Raises ContractError naming each bad field. The signature is checked apart
    (`signature_valid`), against the key the trust directory holds for the sender.
    """
    validate_envelope(env, message_version(env))
    kind, version = parse_schema_name(env["schema"])
    latest, payload = accept(kind, version, env["payload"])
    received = Received(
        sender=env["sender"],
        message_id=env["message_id"],
        sender_hash=env["integrity"]["hash"],
        sequence=env["sequence"],
    )
    return UUID(env["case_id"]), kind, latest, payload, received
