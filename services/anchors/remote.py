"""Reading the partner's chain view of a case from its node, over HTTPS, with a partner
token signed by this node's key (services/anchors/partner.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from services.anchors.partner import issue
from services.signing import SigningKey

CHAIN_PATH = "/v1/partner/chain"


class PartnerUnreachable(Exception):
    """The partner's node did not answer with its chain view (the reason names no data)."""


def fetch_chain(base_url: str, case_id: UUID, key: SigningKey, partner: str, now: datetime,
                timeout: float = 10.0) -> dict[str, Any] | None:
    """The partner's view of the case, or None when it holds no stream of it (404)."""
    token = issue(key, partner, now)
    try:
        response = httpx.get(base_url.rstrip("/") + CHAIN_PATH, params={"case": str(case_id)},
                             headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    except httpx.HTTPError as error:
        raise PartnerUnreachable(f"{partner} at {base_url}: {type(error).__name__}") from None
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise PartnerUnreachable(f"{partner} at {base_url} answered {response.status_code}")
    view: dict[str, Any] = response.json()
    return view
