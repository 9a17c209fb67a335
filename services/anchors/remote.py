"""Reading the partner's chain view of a case from its node, over HTTPS (plain http only
on this machine's loopback), with a partner token signed by this node's key for that case
(services/anchors/partner.py). The answer is read up to `MAX_VIEW_BYTES` and no further,
within the timeout as a whole, and checked against the shape of a chain view before
anything compares it: a partner's node is trusted for its signatures, not for its bytes."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.anchors.partner import issue
from services.settings import in_the_clear
from services.signing import SigningKey

CHAIN_PATH = "/v1/partner/chain"
Hash = Field(pattern=r"^[0-9a-f]{64}$")
Count = Field(ge=1, le=2**31 - 1)
# A view is ~300 bytes a message and ~500 a checkpoint: thousands of messages fit.
MAX_VIEW_BYTES = 8 * 1024 * 1024

class PartnerUnreachable(Exception):
    """The partner's node did not answer with its chain view (the reason names no data)."""

class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

class _Head(_Strict):
    version: int = Count
    hash: str = Hash

class _Sent(_Strict):
    sequence: int = Count
    digest: str = Hash
    version: int = Count
    hash: str = Hash

class _Received(_Strict):
    sequence: int = Count
    sender_hash: str = Hash
    version: int = Count
    hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

class _Carried(_Strict):
    sequence: int = Count
    hash: str = Hash

class _Checkpoint(_Strict):
    case_id: str = Field(max_length=64)
    agency: str = Field(max_length=64)
    version: int = Count
    hash: str = Hash
    at: str = Field(max_length=64)
    key_id: str = Field(max_length=200)
    signature: str = Field(max_length=200)
    message: _Carried | None = None

class _View(_Strict):
    case_id: str = Field(max_length=64)
    agency: str = Field(max_length=64)
    head: _Head
    erased: bool
    sent: list[_Sent]
    received: list[_Received]
    checkpoints: list[_Checkpoint]

def fetch_chain(base_url: str, case_id: UUID, key: SigningKey, partner: str, now: datetime,
                timeout: float = 10.0, limit: int = MAX_VIEW_BYTES) -> dict[str, Any] | None:
    """The partner's view of the case, or None when it holds no stream of it (404)."""
    where = f"{partner} at {base_url}"
    if in_the_clear(base_url):
        raise PartnerUnreachable(f"{where}: not asked in the clear (https, or http on "
                                 "loopback only)")
    token, deadline = issue(key, partner, case_id, now), time.monotonic() + timeout
    try:
        with httpx.stream("GET", base_url.rstrip("/") + CHAIN_PATH,
                          params={"case": str(case_id)}, timeout=timeout,
                          headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise PartnerUnreachable(f"{where} answered {response.status_code}")
            body = _bounded(response, where, limit, deadline)
    except httpx.HTTPError as error:
        raise PartnerUnreachable(f"{where}: {type(error).__name__}") from None
    return checked(body, partner, str(case_id))

def _bounded(response: httpx.Response, where: str, limit: int, deadline: float) -> bytes:
    """The body, read as it comes, refused once past `limit` bytes or `deadline`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PartnerUnreachable(f"{where} answered more than {limit} bytes")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise PartnerUnreachable(f"{where} answered more than {limit} bytes")
        if time.monotonic() > deadline:
            raise PartnerUnreachable(f"{where} took longer than the timeout to answer")
    return bytes(body)

def checked(body: bytes, partner: str, case_id: str) -> dict[str, Any]:
    """The answer as a chain view of this case by this partner, or PartnerUnreachable."""
    try:
        view = _View.model_validate_json(body)
    except ValidationError:
        raise PartnerUnreachable(f"{partner} answered something that is not a chain view"
                                 ) from None
    if (view.agency, view.case_id) != (partner, case_id):
        raise PartnerUnreachable(f"{partner} answered with another agency's or case's chain")
    dumped: dict[str, Any] = view.model_dump(exclude_none=True)
    return dumped
