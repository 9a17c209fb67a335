"""What an agency shows its partner of a case's chain, and how the partner asks for it.

The partner's node asks with a token of its own: a JWT (EdDSA) signed with its Ed25519
node key, `kid` its key id, `iss` and `agency` its code, `aud` this agency, at most
`MAX_MINUTES` long. It is verified against the trust directory, so no secret is shared,
and only the case's partner reads it. The answer holds hashes, versions, sequences and
checkpoints: nothing personal, no payload, no type of step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt

from events.case import CaseEvent
from events.steps.erasure import CaseErased
from services.anchors.checkpoint import Checkpoint, KeyOf
from services.contract.codec import is_exported, sent_digests
from services.signing import SigningKey

MAX_MINUTES = 5
PURPOSE = "chain"


class NotPartner(Exception):
    """The token is not a partner agency's, for this node, now."""


def issue(key: SigningKey, audience: str, now: datetime) -> str:
    claims = {"iss": key.agency, "agency": key.agency, "sub": f"node:{key.agency}",
              "aud": audience, "purpose": PURPOSE, "iat": int(now.timestamp()),
              "exp": int((now + timedelta(minutes=MAX_MINUTES)).timestamp())}
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.key_id})


def partner_of(token: str, me: str, key_of: KeyOf) -> str:
    """The agency whose node signed `token` for this node; NotPartner otherwise."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
        agency, kid = str(unverified.get("iss", "")), str(header.get("kid", ""))
        key = key_of(agency, kid)
        if key is None or agency == me:
            raise NotPartner("not signed by a partner agency's listed key")
        claims = jwt.decode(token, key, algorithms=["EdDSA"], audience=me, issuer=agency,
                            options={"require": ["exp", "iat", "aud", "iss"]})
    except jwt.PyJWTError as error:
        raise NotPartner(type(error).__name__) from None
    if claims.get("agency") != agency or claims.get("purpose") != PURPOSE or (
            claims["exp"] - claims["iat"] > MAX_MINUTES * 60):
        raise NotPartner("not a partner's chain token")
    return agency


def chain_view(agency: str, partner: str, events: list[CaseEvent],
               held: list[Checkpoint]) -> dict[str, Any]:
    """This agency's stream of a case as its partner may compare it: the digest and event
    hash of each message sent, the sender_hash of each fact received from the partner, the
    head, and the checkpoints held (this agency's and the partner's)."""
    digests = sent_digests(events)
    exported = [e for e in events if is_exported(e)]
    return {
        "case_id": str(events[0].originator_id),
        "agency": agency,
        "head": {"version": events[-1].originator_version, "hash": events[-1].hash},
        "erased": any(isinstance(e, CaseErased) for e in events),
        "sent": [{"sequence": n, "digest": d, "version": e.originator_version, "hash": e.hash}
                 for n, (e, d) in enumerate(zip(exported, digests, strict=True), start=1)],
        "received": [{"sequence": e.received["sequence"],
                      "sender_hash": e.received["sender_hash"], "version": e.originator_version,
                      "hash": e.hash}
                     for e in events
                     if e.received is not None and e.received["sender"] == partner],
        "checkpoints": [c.document() for c in held if c.agency in (agency, partner)],
    }
