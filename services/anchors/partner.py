"""What an agency shows its partner of a case's chain, and how the partner asks for it.

The partner's node asks with a token of its own: a JWT (EdDSA) signed with its Ed25519
node key, `kid` its key id, `iss` and `agency` its code, `aud` this agency, `case` the one
case it reads, `jti` an id used once, at most `MAX_MINUTES` long. It is verified against
the trust directory, so no secret is shared, and only the case's partner reads it:

- the key must be valid, by the directory's `not_before` and `not_after`, both when the
  token was issued (`iat`) and now: a key rotated out or ended after a compromise reads
  nothing more, whatever the token says of its own time;
- a token reads the case it names and no other (`WrongCase`), and once (`SeenTokens`, a
  table of the node's: every replica of the node sees the same ids, so a token taken on
  the way cannot be played again at another replica; an id is forgotten once its token
  has expired, so the table holds at most `MAX_MINUTES` of them).

The answer holds hashes, versions, sequences and checkpoints: nothing personal, no
payload, no type of step.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.case import CaseEvent
from events.steps.erasure import CaseErased
from services.anchors.checkpoint import Checkpoint
from services.contract.codec import is_exported, sent_digests
from services.signing import SigningKey
from services.tables import Tables

MAX_MINUTES = 5
PURPOSE = "chain"
REQUIRED = ["exp", "iat", "aud", "iss", "jti", "case"]
MAX_ID = 200  # the longest `jti` kept


class NotPartner(Exception):
    """The token is not a partner agency's, for this node, now."""


class WrongCase(Exception):
    """A partner's token, but for another case than the one asked for."""


class Keys(Protocol):  # services.exchange.directory.Directory
    def key(self, agency: str, key_id: str, at: datetime | None = None
            ) -> Ed25519PublicKey | None: ...

    def key_status(self, agency: str, key_id: str, at: datetime | None = None) -> str: ...


def issue(key: SigningKey, audience: str, case_id: UUID | str, now: datetime) -> str:
    """A token for `audience`'s node to answer the chain view of one case, once."""
    claims = {"iss": key.agency, "agency": key.agency, "sub": f"node:{key.agency}",
              "aud": audience, "purpose": PURPOSE, "case": str(case_id),
              "jti": uuid.uuid4().hex, "iat": int(now.timestamp()),
              "exp": int((now + timedelta(minutes=MAX_MINUTES)).timestamp())}
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.key_id})


def partner_of(token: str, me: str, case_id: UUID, keys: Keys, seen: SeenTokens,
               now: datetime | None = None) -> str:
    """The agency whose node signed `token` for this node and this case, the first time
    it is shown; NotPartner (or WrongCase) otherwise."""
    now = now or datetime.now(UTC)
    claims = _verified(token, me, keys, now)
    agency = str(claims["iss"])
    if claims.get("case") != str(case_id):
        raise WrongCase("the partner's token is for another case")
    if not seen.first_use(agency, str(claims["jti"]), int(claims["exp"]), now):
        raise NotPartner("the token was used before: a partner token reads once")
    return agency


def _verified(token: str, me: str, keys: Keys, now: datetime) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
        agency, kid = str(unverified.get("iss", "")), str(header.get("kid", ""))
        if agency == me:
            raise NotPartner("not signed by a partner agency's listed key")
        issued = unverified.get("iat")
        if not isinstance(issued, int):
            raise NotPartner("the token says not when it was issued (iat)")
        _valid_key(keys, agency, kid, datetime.fromtimestamp(issued, UTC), now)
        key = keys.key(agency, kid, now)
        if key is None:
            raise NotPartner("not signed by a partner agency's listed key")
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=["EdDSA"], audience=me, issuer=agency,
            options={"require": REQUIRED})
    except jwt.PyJWTError as error:  # its words name a claim, never quote one
        raise NotPartner(str(error) or type(error).__name__) from None
    except (OverflowError, OSError, ValueError):  # an `iat` no clock can read
        raise NotPartner("the token's issue time (iat) is out of range") from None
    if claims.get("agency") != agency or claims.get("purpose") != PURPOSE or (
            claims["exp"] - claims["iat"] > MAX_MINUTES * 60):
        raise NotPartner("not a partner's chain token")
    if not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= MAX_ID:
        raise NotPartner(f"the token's id (jti) must be text of 1 to {MAX_ID} characters")
    return claims


def _valid_key(keys: Keys, agency: str, kid: str, issued: datetime, now: datetime) -> None:
    """Refuses a key the directory does not hold valid both at `issued` and `now`."""
    for label, at in (("when the token was issued", issued), ("now", now)):
        status = keys.key_status(agency, kid, at)
        if status in ("unknown-agency", "unknown-key"):
            raise NotPartner("not signed by a partner agency's listed key")
        if status != "valid":
            raise NotPartner(f"signed with key {kid!r} of {agency}, {status} {label}")


class SeenTokens:
    """The ids of the partner tokens shown here, each until its token expires, in the
    node's own tables (services/tables/__init__.py), so every replica refuses a second use."""

    def __init__(self, db: Tables) -> None:
        self.db, self.t = db, db.table("homeward_partner_tokens")
        db.run(f"CREATE TABLE IF NOT EXISTS {self.t} (agency TEXT NOT NULL, "
               "jti TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (agency, jti))")

    def first_use(self, agency: str, jti: str, expires: int, now: datetime) -> bool:
        """Notes the id; False when it was noted before (and its token has not expired)."""
        self.db.run(f"DELETE FROM {self.t} WHERE expires < ?", (int(now.timestamp()),))
        noted = self.db.run(f"INSERT INTO {self.t} (agency, jti, expires) VALUES (?, ?, ?) "
                            "ON CONFLICT DO NOTHING", (agency, jti, expires))
        return bool(noted.rowcount == 1)

    def count(self) -> int:
        return int(self.db.run(f"SELECT COUNT(*) FROM {self.t}").rows[0][0])


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
