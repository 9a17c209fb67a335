"""The partner's chain route takes a token only as its partner's node signed it: with a key
the trust directory holds valid when the token was issued and now, for the case asked
about, once. Two real nodes exchange over the broker; XB's API answers on a real port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest

from services.anchors.partner import MAX_MINUTES, SeenTokens, issue
from services.api.app import create_app
from services.backends.postgres import PostgresBackend
from services.exchange.directory import load as load_directory
from services.exchange.directory import save
from services.signing import SigningKey
from tests.harness.http_nodes import Pair, pair_on_each_backend
from tests.harness.served import serving
from tests.integration.test_anchors import acknowledged


@pytest.fixture(params=["sqlite", "postgres"])
def shared(request: pytest.FixtureRequest, tmp_path: Path, kafka_bootstrap: str
           ) -> Iterator[tuple[Pair, str, UUID]]:
    """XA and XB over the broker, a case acknowledged, XB's API on a real port."""
    p = pair_on_each_backend(request, tmp_path, kafka_bootstrap)
    case_id = acknowledged(p)
    with serving(create_app(p.xb.node)) as url:
        yield p, url, case_id
    p.close()


def read(url: str, case_id: UUID, token: str) -> httpx.Response:
    return httpx.get(f"{url}/v1/partner/chain", params={"case": str(case_id)},
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)


def rotated(p: Pair, old_until: datetime, since: datetime | None = None) -> SigningKey:
    """XA's key rotated in the directory: the old one valid until `old_until`; the new one
    (returned) from `since`."""
    path = p.xb.node.settings.directory
    assert path is not None
    new = SigningKey(p.xa.agency, SigningKey.generate(p.xa.agency).private)
    save(path, load_directory(path).with_rotated_key(new, old_until=old_until, since=since))
    return new


def test_a_token_reads_its_case_once(shared: tuple[Pair, str, UUID]) -> None:
    p, url, case_id = shared
    token = issue(p.xa.node.signing, p.xb.agency, case_id, datetime.now(UTC))  # type: ignore[arg-type]
    assert read(url, case_id, token).status_code == 200
    again = read(url, case_id, token)
    assert again.status_code == 401, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert "used before" in again.json()["detail"]
    # A new token of the same node reads again.
    fresh = issue(p.xa.node.signing, p.xb.agency, case_id, datetime.now(UTC))  # type: ignore[arg-type]
    assert read(url, case_id, fresh).status_code == 200


def test_a_token_for_another_case_reads_nothing(shared: tuple[Pair, str, UUID]) -> None:
    p, url, case_id = shared
    elsewhere = issue(p.xa.node.signing, p.xb.agency, uuid4(), datetime.now(UTC))  # type: ignore[arg-type]
    refused = read(url, case_id, elsewhere)
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"] == "the partner's token is for another case"
    assert "head" not in refused.text


def test_a_token_signed_with_a_key_rotated_out_is_refused(
        shared: tuple[Pair, str, UUID]) -> None:
    p, url, case_id = shared
    old, now = p.xa.node.signing, datetime.now(UTC)
    assert old is not None
    # The old key ended a minute ago (say, after a compromise): a token it signs now, or
    # one dated back to when it was still valid, reads nothing.
    new = rotated(p, old_until=now - timedelta(minutes=1))
    for issued in (now, now - timedelta(minutes=2)):
        refused = read(url, case_id, issue(old, p.xb.agency, case_id, issued))
        assert refused.status_code == 401, refused.text
        assert f"signed with key '{old.key_id}' of {p.xa.agency}, expired" in \
            refused.json()["detail"]
    # The new key reads.
    assert read(url, case_id, issue(new, p.xb.agency, case_id, now)).status_code == 200


def test_a_token_signed_with_a_key_not_yet_valid_is_refused(
        shared: tuple[Pair, str, UUID]) -> None:
    p, url, case_id = shared
    now = datetime.now(UTC)
    new = rotated(p, old_until=now + timedelta(days=1), since=now + timedelta(hours=1))
    refused = read(url, case_id, issue(new, p.xb.agency, case_id, now))
    assert refused.status_code == 401, refused.text
    assert f"signed with key '{new.key_id}' of {p.xa.agency}, not-yet-valid when the " \
           "token was issued" in refused.json()["detail"]


def test_a_token_without_an_id_or_a_case_is_refused(shared: tuple[Pair, str, UUID]) -> None:
    import jwt

    p, url, case_id = shared
    key, now = p.xa.node.signing, datetime.now(UTC)
    assert key is not None
    full = {"iss": key.agency, "agency": key.agency, "aud": p.xb.agency, "purpose": "chain",
            "case": str(case_id), "jti": uuid4().hex, "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=MAX_MINUTES)).timestamp())}
    for missing in ("jti", "case"):
        claims = {k: v for k, v in full.items() if k != missing}
        token = jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.key_id})
        refused = read(url, case_id, token)
        assert refused.status_code == 401, refused.text
        assert f'"{missing}"' in refused.json()["detail"]


def test_a_directory_listing_a_partner_in_the_clear_is_a_503_naming_it(
        shared: tuple[Pair, str, UUID]) -> None:
    p, url, case_id = shared
    path = p.xb.node.settings.directory
    assert path is not None
    document = json.loads(path.read_text())
    document["agencies"][p.xa.agency]["url"] = "http://xa.example"
    path.write_text(json.dumps(document))
    token = issue(p.xa.node.signing, p.xb.agency, case_id, datetime.now(UTC))  # type: ignore[arg-type]
    refused = read(url, case_id, token)
    assert refused.status_code == 503, refused.text
    assert f"agencies.{p.xa.agency}.url: Value error, url must be https://" in \
        refused.json()["detail"]
    # So is XA's cross-check, which reads the same directory.
    unread = p.xa.get("/v1/audit/cross-check", "auditor", case=str(case_id))
    assert unread.status_code == 503, unread.text
    assert unread.json()["type"] == "urn:homeward:problem:directory-unreadable"


def test_every_replica_refuses_a_token_seen_at_another(postgres_url: str, pg_schema: str
                                                       ) -> None:
    """Replicas of a node share its PostgreSQL tables: an id noted by one is refused by the
    other, until its token has expired, when it is forgotten."""
    url = f"{postgres_url}?schema={pg_schema}"
    one, two = SeenTokens(PostgresBackend.of_url(url).tables()), SeenTokens(PostgresBackend.of_url(url).tables())
    now = datetime.now(UTC)
    expires = int((now + timedelta(minutes=MAX_MINUTES)).timestamp())
    assert one.first_use("XA-NRM", "id-1", expires, now)
    assert not two.first_use("XA-NRM", "id-1", expires, now)
    assert two.first_use("XC-NRM", "id-1", expires, now)  # an id is its issuer's
    later = now + timedelta(minutes=MAX_MINUTES, seconds=1)
    assert one.first_use("XA-NRM", "id-2", expires + 600, later)
    assert two.count() == 1  # the expired ids are gone
    one.db.close()
    two.db.close()
