"""Seeding the embedded network with demo cases at different stages, over HTTP, as the
two agencies' caseworkers would record them."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.progress import Progress

from events.values import Side
from services.network.demo_cases import Move, repatriation
from services.network.members import Member

# How far each demo case gets: referred, accepted, ready to travel, in transit, home.
STAGES = ["referral", "acceptance", "reception", "departure", "follow-up"]


def seed(xa: Member, xb: Member, count: int, patience: float = 30.0) -> None:
    clients = {
        Side.REFERRING: _client(xa, "caseworker"),
        Side.RECEIVING: _client(xb, "caseworker"),
    }
    today = datetime.now(UTC).date()
    with Progress() as progress:
        task = progress.add_task("seeding demo cases", total=count)
        for i in range(count):
            minor = i % 3 == 0
            story = repatriation(today, minor=minor)
            body = {**story.opening, "id": str(uuid.uuid4())}
            clients[Side.REFERRING].post("/v1/cases", json=body).raise_for_status()
            last = [m.path for m in story.moves].index(STAGES[i % len(STAGES)])
            for move in story.moves[: last + 1]:
                _record(clients[move.side], body["id"], move, patience)
            progress.advance(task)
    for client in clients.values():
        client.close()


def _client(member: Member, role: str) -> httpx.Client:
    return httpx.Client(base_url=member.url, timeout=10,
                        headers={"Authorization": f"Bearer {member.token(role)}"})


def _record(client: httpx.Client, case_id: str, move: Move, patience: float) -> dict[str, Any]:
    """Post a step; while the partner's earlier facts are still on their way, wait for them."""
    deadline = time.monotonic() + patience
    while True:
        response = client.post(f"/v1/cases/{case_id}/{move.path}", json=move.body)
        if response.status_code == 200 or time.monotonic() > deadline:
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result
        if response.status_code not in (404, 409):
            response.raise_for_status()
        time.sleep(0.2)
