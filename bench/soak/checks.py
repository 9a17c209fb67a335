"""What the soak checks once the traffic and the faults are over, and the dead letters it
watches meanwhile (the broker keeps them in memory: they are read before each broker kill).

- facts: every fact an agency recorded that its partner must learn is at the partner
  exactly once and answered by a receipt (`delivered_at`), and no message is left
  undelivered on either board;
- dead letters: none of what an agency sent was dead-lettered (only injected records);
- partitions: every node ready without an alert, and every partition of the inboxes and
  of the monitoring topic read to its end by its consumer group;
- monitor: the monitor's cases per status equal each agency's board;
- memory: each node's peak resident memory within the bound.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from uuid import UUID

import httpx
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from bench.soak.malformed import Injected
from bench.soak.traffic import Traffic, Walk
from events.case import Case, CaseEvent
from events.steps import BY_EVENT
from projections.monitor import merge, parse_milestone
from projections.projection import Doc
from services.backends.kafka import Kafka
from services.bootstrap import application
from services.contract.codec import milestone
from services.exchange import deadletters, topics
from services.network.members import Member
from services.readside.monitor import GROUP as MONITOR_GROUP

EXPORTED = {"CaseOpened"} | {event.__name__ for event, step in BY_EVENT.items() if step.shared}
AGENCIES = ("XA-NRM", "XB-NRM")


@dataclass
class DeadLetterWatch:
    """Every dead letter seen on the broker, kept across the broker's restarts."""

    bootstrap: str
    epoch: int = 0  # broker lives seen: offsets start again at each
    seen: dict[tuple[str, int, int], deadletters.DeadLetter] = field(default_factory=dict)

    def collect(self, broker_dies: bool = False) -> None:
        for agency in AGENCIES:
            try:
                found = deadletters.read(Kafka(self.bootstrap).reader(), agency, timeout=5.0)
            except Exception:  # the broker is coming back: read next time
                continue
            for letter in found:
                self.seen[(agency, self.epoch, letter.offset)] = letter
        if broker_dies:
            self.epoch += 1

    def from_agencies(self, injected: Injected) -> list[str]:
        """Dead letters of sealed messages the soak did not inject: an agency sent them."""
        return [f"{agency}: {letter.reason} ({letter.header.get('schema')}, "
                f"message {letter.header.get('message_id')})"
                for (agency, _, _), letter in sorted(self.seen.items())
                if letter.header and letter.header.get("message_id") not in injected.message_ids]


@dataclass
class Verdict:
    failed: dict[str, list[str]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str, problems: list[str]) -> None:
        if problems:
            self.failed[name] = problems
        else:
            self.failed.pop(name, None)

    @property
    def ok(self) -> bool:
        return not self.failed


@cache
def _http() -> httpx.Client:
    """One client for the checks' requests: a new one a request loads the system's
    certificates again, about 30 ms of CPU, for each of hundreds of reads."""
    return httpx.Client()


def timeline(member: Member, headers: Mapping[str, str], case_id: str) -> list[dict[str, Any]]:
    answer = _http().get(f"{member.url}/v1/cases/{case_id}/timeline", headers=headers, timeout=10)
    answer.raise_for_status()
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def facts(traffic: Traffic, verdict: Verdict) -> None:
    """Each direction of each case: the sender's exported events, each at the partner once
    and receipted; the traffic itself done."""
    problems: list[str] = []
    members = {traffic.referring.agency: traffic.referring,
               traffic.receiving.agency: traffic.receiving}
    crossed = 0
    for walk in traffic.walks:
        if walk.done == 0 and not walk.unsure:
            continue
        try:
            lines = {a: timeline(m, traffic.headers[a], walk.case_id) for a, m in members.items()}
        except httpx.HTTPError as error:
            problems.append(f"case {walk.index}: timeline unreadable ({error})")
            continue
        for sender, receiver in (AGENCIES, AGENCIES[::-1]):
            crossed += _direction(walk, sender, lines[sender], lines[receiver], problems)
    for walk in traffic.walks:
        if not walk.finished:
            problems.append(f"case {walk.index}: traffic stopped at step {walk.done} of "
                            f"{walk.steps}")
    problems += traffic.problems
    verdict.figures["facts crossed"] = crossed
    verdict.check("every fact at the partner exactly once, receipted", problems)


def _direction(walk: Walk, sender: str, own: list[dict[str, Any]],
               partner: list[dict[str, Any]], problems: list[str]) -> int:
    """The sender's exported events, in order, against the facts the partner recorded from
    it, in order (the inbox applies them in sequence): the same types, none twice, each
    receipted at the sender."""
    sent = [e for e in own if e["recorded_by"] == sender and e["type"] in EXPORTED]
    got = [e for e in partner if e["recorded_by"] == sender and e["message_id"] is not None]
    ids = Counter(e["message_id"] for e in got)
    twice = [mid for mid, n in ids.items() if n > 1]
    if twice:
        problems.append(f"case {walk.index}: {len(twice)} message(s) from {sender} recorded "
                        "more than once")
    if [e["type"] for e in sent] != [e["type"] for e in got]:
        problems.append(f"case {walk.index}: {sender} recorded "
                        f"{[e['type'] for e in sent]}, the partner holds "
                        f"{[e['type'] for e in got]}")
    for event in sent:
        if event["delivered_at"] is None:
            problems.append(f"case {walk.index}: {sender}'s {event['type']} (seq {event['seq']})"
                            " has no receipt")
    return min(len(sent), len(got))


def boards(traffic: Traffic, monitor: Member, verdict: Verdict) -> None:
    """Nothing undelivered on either board; the monitor's cases per status equal those of
    the milestones the agencies sent (each agency's store replayed through the relay's own
    `milestone`, merged as the monitor merges them)."""
    problems, counts = [], {}
    for member in (traffic.referring, traffic.receiving):
        items: list[dict[str, Any]] = []
        while True:
            page = _http().get(f"{member.url}/v1/cases", headers=traffic.headers[member.agency],
                             params={"limit": 50, "offset": len(items)}, timeout=10).json()
            items += page["items"]
            if page.get("undelivered"):
                problems.append(f"{member.agency}: {page['undelivered']} message(s) undelivered")
            if len(items) >= page["total"] or not page["items"]:
                break
        counts[f"{member.agency}'s board"] = dict(Counter(c["status"] for c in items))
    token = {"Authorization": f"Bearer {monitor.token('monitor')}"}
    view = _http().get(f"{monitor.url}/v1/monitor/corridors", headers=token, timeout=10).json()
    seen = {k: v for c in view for k, v in c["by_status"].items()}
    sent = milestone_statuses((traffic.referring, traffic.receiving),
                              [w.case_id for w in traffic.walks if w.done or w.unsure])
    counts["the monitor"], counts["the agencies' milestones"] = seen, sent
    if seen != sent:
        problems.append(f"the monitor counts {seen}, the agencies' milestones {sent}")
    verdict.figures["cases per status"] = counts
    verdict.check("the monitor's counts equal the agencies' milestones", problems)


def milestone_statuses(agencies: tuple[Member, ...], case_ids: list[str]) -> dict[str, int]:
    """Cases per status as the milestones each agency's relay made of its own events say."""
    docs: dict[str, Doc | None] = {}
    for member in agencies:
        app = application(member.settings())
        try:
            for case_id in case_ids:
                case: Case | None = None
                for event in app.repository.event_store.get(UUID(case_id)):
                    if not isinstance(event, CaseEvent):
                        continue
                    case = event.mutate(case)
                    assert isinstance(case, Case)
                    payload = milestone(case, event)
                    if payload is not None:
                        docs[case_id] = merge(docs.get(case_id), parse_milestone(payload))
        finally:
            app.close()
    return dict(Counter(doc["status"] for doc in docs.values() if doc is not None))


STALL = 45.0  # seconds a partition's group may stand still behind its end


@dataclass
class Stalls:
    """Partitions whose consumer group stood still behind the partition's end for STALL
    seconds, seen while the soak runs (a broker killed later would hide them)."""

    bootstrap: str
    since: dict[tuple[str, int], tuple[int, int, float]] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)

    def look(self, epoch: int) -> None:
        try:
            lags = group_lags(self.bootstrap)
        except Exception:  # the broker is away: next time
            return
        now = time.monotonic()
        for (topic, partition), (position, end) in lags.items():
            key = (topic, partition)
            before = self.since.get(key)
            if position >= end or before is None or before[:2] != (epoch, position):
                self.since[key] = (epoch, position, now)
                continue
            if now - before[2] > STALL:
                self.found.append(f"{topic}[{partition}] stood still at {position} for "
                                  f"{now - before[2]:.0f} s while the soak ran (end {end})")
                self.since[key] = (epoch, position, float("inf"))  # said once


def group_lags(bootstrap: str) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (committed offset, end) for the inboxes' and the monitor's
    groups."""
    groups = {f"homeward-inbox-{a.lower()}": topics.inbox(a) for a in AGENCIES}
    groups[MONITOR_GROUP] = topics.MONITORING
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    reader = KafkaConsumer(bootstrap_servers=bootstrap)
    out = {}
    try:
        for group, topic in groups.items():
            parts = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or []]
            committed = admin.list_group_offsets({group: parts}).get(group, {})
            for tp, end in reader.end_offsets(parts).items():
                at = committed.get(tp)
                out[(topic, tp.partition)] = (at.offset if at is not None and at.offset >= 0
                                              else 0, end)
    finally:
        reader.close()
        admin.close()
    return out


def partitions(bootstrap: str, nodes: Mapping[str, Member], verdict: Verdict) -> None:
    """Every node ready and without an alert; every partition read to its end."""
    problems = []
    for name, member in nodes.items():
        try:
            answer = _http().get(f"{member.url}/readyz", timeout=10)
            body = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            problems.append(f"{name}: /readyz unanswered ({type(error).__name__})")
            continue
        if answer.status_code != 200 or body.get("alerts"):
            problems.append(f"{name}: /readyz {answer.status_code} {body}")
    for (topic, partition), (position, end) in group_lags(bootstrap).items():
        if position < end:
            problems.append(f"{topic}[{partition}]: its group stopped at {position}, the "
                            f"partition ends at {end}")
    verdict.check("no partition stopped", problems)


def memory(peaks: Mapping[str, int], bound_mib: int, verdict: Verdict) -> None:
    verdict.figures["memory peak (MiB)"] = {k: round(v / 1024) for k, v in sorted(peaks.items())}
    problems = [f"{name}: {kib / 1024:.0f} MiB, over {bound_mib} MiB"
                for name, kib in peaks.items() if name != "broker" and kib > bound_mib * 1024]
    verdict.check(f"each node's memory within {bound_mib} MiB", problems)


def diagnosis(nodes: Mapping[str, Member]) -> list[str]:
    """What each node says of itself, for a soak that failed: /readyz and its exchange's
    gauges."""
    lines = []
    for name, member in nodes.items():
        try:
            ready = _http().get(f"{member.url}/readyz", timeout=5).json()
            gauges = [line for line in _http().get(f"{member.url}/metrics", timeout=5).text
                      .splitlines() if line.startswith(("homeward_relay", "homeward_inbox",
                                                        "homeward_undelivered"))]
        except (httpx.HTTPError, ValueError) as error:
            lines.append(f"{name}: unanswered ({type(error).__name__})")
            continue
        lines.append(f"{name}: {ready} {' '.join(gauges)}")
    return lines
