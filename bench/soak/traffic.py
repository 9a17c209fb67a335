"""Two-way traffic on the soak's cases, over HTTP as caseworkers would: the referring
agency opens each case and records its steps, the receiving agency records its own as soon
as the facts it answers have reached it, each case as far as a stage of the repatriation
(the stages of the demo seeding, in turn).

A request whose outcome is unknown (the node was killed or paused mid-way, or answered
5xx) is settled from the case's timeline before anything is sent again: the agency's own
events are counted, so a step is never recorded twice by the driver itself. A step refused
for now (its partner's fact has not arrived: 404, 409, 422) is tried again a little later.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from events.values import Side
from services.network.demo_cases import Move, repatriation
from services.network.members import Member
from services.network.seed import STAGES

NOT_YET = {404, 409, 422}
TIMEOUT = 10.0  # seconds a request may take; a paused node answers none


@dataclass
class Walk:
    """One case: its steps in order and how far it got."""

    index: int
    opening: dict[str, Any]
    moves: list[Move]
    case_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    done: int = 0  # steps recorded; the opening is step 0
    own: Counter[str] = field(default_factory=Counter)  # own events recorded, per agency
    unsure: bool = False  # the last request's outcome is unknown
    due: float = 0.0  # not tried again before (monotonic)
    blocked_since: float | None = None

    @property
    def steps(self) -> int:
        return len(self.moves) + 1

    @property
    def finished(self) -> bool:
        return self.done >= self.steps


@dataclass
class Traffic:
    """The walks of `cases` cases between the referring and the receiving agency."""

    referring: Member
    receiving: Member
    cases: int
    window: float  # seconds the traffic is spread over
    stages: int = len(STAGES)  # the cases go, in turn, as far as each of the first `stages`
    walks: list[Walk] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)  # answers and errors by kind
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        today = datetime.now(UTC).date()
        for i in range(self.cases):
            story = repatriation(today, minor=i % 3 == 0, receiving=self.receiving.agency)
            last = [m.path for m in story.moves].index(STAGES[i % self.stages])
            self.walks.append(Walk(i, story.opening, story.moves[: last + 1]))
        self.headers = {m.agency: {"Authorization": f"Bearer {m.token('caseworker')}"}
                        for m in (self.referring, self.receiving)}

    @property
    def total(self) -> int:
        return sum(w.steps for w in self.walks)

    @property
    def recorded(self) -> int:
        return sum(w.done for w in self.walks)

    @property
    def finished(self) -> bool:
        return all(w.finished for w in self.walks)

    def owner(self, walk: Walk) -> Member:
        if walk.done == 0 or walk.moves[walk.done - 1].side is Side.REFERRING:
            return self.referring
        return self.receiving

    def run(self, stop: threading.Event) -> list[threading.Thread]:
        """One worker per agency, each walking the cases whose next step is its own."""
        threads = [threading.Thread(target=self._work, args=(m, stop), daemon=True,
                                    name=f"traffic-{m.agency}")
                   for m in (self.referring, self.receiving)]
        for thread in threads:
            thread.start()
        return threads

    def _work(self, member: Member, stop: threading.Event) -> None:
        mine = sum(1 for w in self.walks for i in range(w.steps) if self._side(w, i) == member)
        interval, began, did = self.window / max(mine, 1), time.monotonic(), 0
        with httpx.Client(base_url=member.url, headers=self.headers[member.agency],
                          timeout=TIMEOUT) as client:
            while not stop.is_set() and not self.finished:
                now = time.monotonic()
                walk = next((w for w in self.walks if not w.finished and w.due <= now
                             and self.owner(w) == member), None)
                if walk is None:
                    stop.wait(0.2)
                    continue
                if self._step(client, member, walk):
                    did += 1
                    stop.wait(max(0.0, began + did * interval - time.monotonic()))

    def _side(self, walk: Walk, i: int) -> Member:
        if i == 0 or walk.moves[i - 1].side is Side.REFERRING:
            return self.referring
        return self.receiving

    def _step(self, client: httpx.Client, member: Member, walk: Walk) -> bool:
        """One try at the walk's next step; True once it is recorded."""
        if walk.unsure:
            settled = self._settle(client, member, walk)
            if settled is None:
                return False
            walk.unsure = False
            if settled:
                return self._advanced(member, walk)
        if walk.done == 0:
            path, body = "/v1/cases", {**walk.opening, "id": walk.case_id}
        else:
            move = walk.moves[walk.done - 1]
            path, body = f"/v1/cases/{walk.case_id}/{move.path}", move.body
        try:
            answer = client.post(path, json=body)
        except httpx.ConnectError:
            return self._later(walk, "refused", 1.0)
        except httpx.HTTPError as error:  # sent, perhaps recorded: settled before a resend
            walk.unsure = True
            return self._later(walk, type(error).__name__, 1.0)
        self.statuses[str(answer.status_code)] += 1
        if answer.is_success:
            return self._advanced(member, walk)
        if answer.status_code >= 500:
            walk.unsure = True
            return self._later(walk, str(answer.status_code), 1.0)
        if answer.status_code in NOT_YET:
            return self._later(walk, str(answer.status_code), 0.5)
        self.problems.append(f"case {walk.index} step {walk.done} ({path}): "
                             f"{answer.status_code} {answer.text[:300]}")
        walk.done = walk.steps  # a refusal that will not pass: this walk ends here
        return False

    def _settle(self, client: httpx.Client, member: Member, walk: Walk) -> bool | None:
        """Whether the unsure step was recorded, from the agency's own events; None while
        the node does not answer."""
        try:
            answer = client.get(f"/v1/cases/{walk.case_id}/timeline")
        except httpx.HTTPError:
            self._later(walk, "unreachable", 1.0)
            return None
        if answer.status_code == 404 and walk.done == 0:
            return False
        if not answer.is_success:
            self._later(walk, str(answer.status_code), 1.0)
            return None
        own = sum(1 for e in answer.json()["events"] if e["recorded_by"] == member.agency)
        if own > walk.own[member.agency] + 1:
            self.problems.append(f"case {walk.index}: {own} own events at {member.agency}, "
                                 f"{walk.own[member.agency]} recorded by the traffic")
        return own > walk.own[member.agency]

    def _advanced(self, member: Member, walk: Walk) -> bool:
        walk.own[member.agency] += 1
        walk.done += 1
        walk.due, walk.blocked_since = 0.0, None
        return True

    def _later(self, walk: Walk, why: str, wait: float) -> bool:
        self.statuses[why] += 1 if not why.isdigit() else 0
        now = time.monotonic()
        walk.due = now + wait
        walk.blocked_since = walk.blocked_since or now
        return False

    def stuck(self, longer_than: float) -> list[Walk]:
        """Walks not finished whose next step has been refused or unanswered that long."""
        now = time.monotonic()
        return [w for w in self.walks if not w.finished and w.blocked_since is not None
                and now - w.blocked_since > longer_than]
