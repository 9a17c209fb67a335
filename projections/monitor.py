"""The monitor's corridor view, built only from de-identified milestones.

A milestone says, for a pseudonymous case: the corridor, the kind, which step was
reached, the status after it, when, and (for transport) when arrival is expected.
The document per case keeps only checked values of those fields, never the message
as received, so free text or a name slipped into a message cannot be stored or
served. Merging is idempotent and order-tolerant: a redelivered message changes
nothing, and the latest milestone sets the status.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from events.case import utc
from events.deadlines import FOLLOW_UP, MONTH, Deadlines
from events.profile import AGE_BANDS, FORMS, SEXES
from events.steps import BY_MESSAGE_TYPE
from events.steps.transit import IncidentKind
from events.values import AGENCY_CODE, Kind, Status
from projections.board import DeadlinesFor, default_deadlines
from projections.projection import Doc

K_ANONYMITY = 11  # the smallest cell statistics that leave the system may show
# What statistics may be split by; kept per case only to be counted, never served per case.
BREAKDOWNS = ("sex", "age_band", "citizenship", "forms")
MILESTONES = frozenset(BY_MESSAGE_TYPE) | {"case-opened"}
TRANSPORT = ("transport-planned", "departure-confirmed")  # their due_at: the expected arrival
FIELDS = {"corridor", "kind", "milestone", "status", "occurred_at", "due_at", "minor",
          "incident", "escalation", "htcds_status", "opened_at", *BREAKDOWNS}
INCIDENTS = frozenset(get_args(IncidentKind))
# (stage, from milestone, to any of these milestones)
STAGES = (
    ("referral", "case-opened", ("referral-sent",)),
    ("acknowledgement", "referral-sent", ("referral-acknowledged",)),
    ("decision", "referral-sent", ("referral-accepted", "referral-declined")),
    ("preparation", "referral-accepted", ("departure-confirmed",)),
    ("transit", "departure-confirmed", ("arrival-confirmed",)),
    ("reintegration planning", "arrival-confirmed", ("reintegration-plan-agreed",)),
)
DAY = 86400.0
PROTECTION = "protection-incident-recorded"
# Milestones whose latest time is kept too: each answers an escalation reported before it.
ANSWERS = ("arrival-confirmed", "transport-cancelled", "risk-assessed")
ESCALATIONS = ("retrafficking-risk",)
HTCDS_STATUSES = ("Active", "FollowUp", "Closed", "ClosedReferred")


class NotAMilestone(ValueError):
    """The message does not hold a well-formed milestone; nothing of it is kept."""


@dataclass(frozen=True)
class Milestone:
    referring: str
    receiving: str
    kind: str
    milestone: str
    status: str
    occurred_at: str
    due_at: str | None
    minor: bool
    incident: str | None = None  # the kind of an incident in transit, nothing more
    escalation: str | None = None  # retrafficking-risk, raised by a follow-up
    htcds_status: str | None = None  # Active, FollowUp, Closed, ClosedReferred
    opened_at: str | None = None  # when the case was opened
    profile: tuple[tuple[str, Any], ...] = ()  # the breakdown fields it carried


def parse_milestone(payload: Mapping[str, Any]) -> Milestone:
    extra = set(payload) - FIELDS
    if extra:
        # Counted, not named: a field's name could itself carry personal data.
        raise NotAMilestone(f"{len(extra)} unexpected field(s)")
    try:
        corridor = payload["corridor"]
        referring, receiving = corridor["referring"], corridor["receiving"]
        if set(corridor) != {"referring", "receiving"}:
            raise NotAMilestone("the corridor has other fields than referring and receiving")
        if not all(isinstance(a, str) and AGENCY_CODE.match(a) for a in (referring, receiving)):
            raise NotAMilestone("the corridor does not name two agency codes")
        if payload["milestone"] not in MILESTONES:
            raise NotAMilestone("unknown milestone")
        if not isinstance(payload["minor"], bool):
            raise NotAMilestone("minor is not a boolean")
        due, incident = payload.get("due_at"), payload.get("incident")
        if incident is not None and incident not in INCIDENTS:
            raise NotAMilestone("unknown incident kind")
        return Milestone(
            referring=referring, receiving=receiving, kind=Kind(payload["kind"]).value,
            milestone=payload["milestone"], status=Status(payload["status"]).value,
            occurred_at=_instant(payload["occurred_at"]),
            due_at=_instant(due) if due is not None else None, minor=payload["minor"],
            incident=incident, escalation=_escalation(payload.get("escalation")),
            htcds_status=_htcds(payload.get("htcds_status")),
            opened_at=_instant(payload["opened_at"]) if "opened_at" in payload else None,
            profile=_profile(payload),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, NotAMilestone):
            raise
        raise NotAMilestone(f"malformed milestone: {type(error).__name__}") from None


def _htcds(value: Any) -> str | None:
    if value is not None and value not in HTCDS_STATUSES:
        raise NotAMilestone("unknown HTCDS status")
    return value if isinstance(value, str) else None


def _escalation(value: Any) -> str | None:
    if value is not None and value not in ESCALATIONS:
        raise NotAMilestone("unknown escalation")
    return value if isinstance(value, str) else None


def _profile(payload: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    known = {"sex": SEXES, "age_band": tuple(b for b, _ in AGE_BANDS)}
    out: list[tuple[str, Any]] = []
    for name, allowed in known.items():
        if name in payload:
            if payload[name] not in allowed:
                raise NotAMilestone(f"unknown {name}")
            out.append((name, payload[name]))
    if "citizenship" in payload:
        if not (isinstance(payload["citizenship"], str) and len(payload["citizenship"]) == 2
                and payload["citizenship"].isascii() and payload["citizenship"].isupper()):
            raise NotAMilestone("citizenship is not a country code")
        out.append(("citizenship", payload["citizenship"]))
    if "forms" in payload:
        forms = payload["forms"]
        if not isinstance(forms, list) or not set(forms) <= set(FORMS):
            raise NotAMilestone("unknown form of exploitation")
        out.append(("forms", sorted(set(forms), key=FORMS.index)))
    return tuple(out)


def _rank(status: str) -> int:
    return list(Status).index(Status(status))


def _instant(value: Any) -> str:
    if not isinstance(value, str):
        raise NotAMilestone("a time is not a string")
    return utc(datetime.fromisoformat(value)).isoformat()


class OtherCorridor(NotAMilestone):
    """A milestone naming another corridor than its case's document: whoever knows a
    pseudonym of one corridor must not move that case from another corridor."""


def merge(doc: Doc | None, m: Milestone) -> Doc:
    """The case's document after one more milestone (the same one again changes nothing).
    A milestone for another corridor than the document's is OtherCorridor."""
    corridor = {"referring": m.referring, "receiving": m.receiving}
    if doc is not None and doc["corridor"] != corridor:
        raise OtherCorridor("the milestone's corridor is not its case's")
    doc = doc or {"corridor": {"referring": m.referring, "receiving": m.receiving},
                  "kind": m.kind, "minor": m.minor, "status": m.status,
                  "status_at": m.occurred_at, "reached": {}, "follow_ups": [],
                  "transport": None}
    doc = {**doc, "reached": dict(doc["reached"])}
    first = doc["reached"].get(m.milestone)
    if first is None or m.occurred_at < first:
        doc["reached"][m.milestone] = m.occurred_at
    opened = doc["reached"].get("case-opened")
    if m.opened_at is not None and (opened is None or m.opened_at < opened):
        doc["reached"]["case-opened"] = m.opened_at  # opened before consent to monitoring
    # Ties (one instant, two milestones) go to the later status, so redelivery is harmless.
    if (m.occurred_at, _rank(m.status)) >= (doc["status_at"], _rank(doc["status"])):
        doc["status"], doc["status_at"] = m.status, m.occurred_at
    # Every status with its time, for the monitor's charts over time (a set: redelivery-safe).
    doc["statuses"] = sorted({*map(tuple, statuses(doc)), (m.occurred_at, m.status)},
                             key=lambda p: (p[0], _rank(p[1])))
    if m.milestone == "follow-up-recorded":
        doc["follow_ups"] = sorted({*doc["follow_ups"], m.occurred_at})
    if (event := alert_of(m)) is not None:  # a set of [time, event, kind]: redelivery-safe
        doc["escalations"] = sorted({*map(tuple, doc.get("escalations", [])),
                                     (m.occurred_at, *event)})
    if m.milestone in ANSWERS:
        latest = dict(doc.get("latest", {}))
        latest[m.milestone] = max(latest.get(m.milestone, m.occurred_at), m.occurred_at)
        doc["latest"] = latest
    if m.htcds_status is not None:  # every one with its time, as the statuses
        doc["htcds"] = sorted({*map(tuple, doc.get("htcds", [])), (m.occurred_at, m.htcds_status)})
    if m.profile:  # the latest known of each, for aggregates only
        doc["profile"] = {**doc.get("profile", {}), **dict(m.profile)}
    if m.milestone in (*TRANSPORT, "transport-cancelled"):
        known = doc["transport"]
        if known is None or m.occurred_at >= known["at"]:
            due = None if m.milestone == "transport-cancelled" else (
                m.due_at or (known["due_at"] if known else None))
            doc["transport"] = {"at": m.occurred_at, "due_at": due}
    return doc


def alert_of(m: Milestone) -> tuple[str, str] | None:
    """(event, kind) of a milestone that raises an escalation to push to subscribers."""
    if m.milestone == "transit-incident-recorded" and m.incident is not None:
        return "transit-incident", m.incident
    if m.milestone == PROTECTION:
        return "protection-escalation", ""  # its kind is not sent
    if m.escalation == "retrafficking-risk":
        return "retrafficking-risk", ""
    return None


def statuses(doc: Doc) -> list[tuple[str, str]]:
    """(time, status) pairs in order; a document from before they were kept has its last."""
    return [tuple(p) for p in doc.get("statuses") or [(doc["status_at"], doc["status"])]]


@dataclass(frozen=True)
class MonitorClock:
    name: str
    due_at: datetime
    met: bool


def clocks(doc: Doc, d: Deadlines) -> list[MonitorClock]:
    """The clocks of `events.deadlines`, as far as milestones show them; all owed by
    the receiving agency."""
    at = {k: datetime.fromisoformat(v) for k, v in doc["reached"].items()}
    out: list[MonitorClock] = []
    if "referral-sent" in at:
        sent = at["referral-sent"]
        out.append(MonitorClock("acknowledge referral", sent + d.acknowledge,
                                "referral-acknowledged" in at))
        out.append(MonitorClock("accept or decline", sent + d.decide,
                                "referral-accepted" in at or "referral-declined" in at))
    if "identity-verification-requested" in at:
        out.append(MonitorClock("verify identity",
                                at["identity-verification-requested"] + d.verify_identity,
                                "identity-verified" in at))
    transport = doc["transport"]
    if "departure-confirmed" in at and transport and transport["due_at"]:
        out.append(MonitorClock("confirm arrival",
                                datetime.fromisoformat(transport["due_at"]) + d.confirm_arrival,
                                "arrival-confirmed" in at))
    if "arrival-confirmed" in at:
        arrived = at["arrival-confirmed"]
        out.append(MonitorClock("reintegration plan", arrived + d.reintegration_plan,
                                "reintegration-plan-agreed" in at))
        for n, month in enumerate(d.follow_up_months, start=1):
            out.append(MonitorClock(FOLLOW_UP.format(month=month), arrived + month * MONTH,
                                    len(doc["follow_ups"]) >= n))
    if doc["status"] == Status.CLOSED.value:
        return [c for c in out if c.met]
    return out


def stage_days(doc: Doc) -> dict[str, float]:
    at = {k: datetime.fromisoformat(v) for k, v in doc["reached"].items()}
    out = {}
    for stage, start, ends in STAGES:
        done = [at[e] for e in ends if e in at]
        if start in at and done:
            out[stage] = (min(done) - at[start]).total_seconds() / DAY
    return out


def corridors_view(
    docs: Mapping[str, Doc], now: datetime, deadlines_for: DeadlinesFor = default_deadlines,
    k: int | None = None,
) -> list[dict[str, Any]]:
    """Per corridor: cases per status, median days per stage, overdue clocks.

    With `k` (statistics that leave the system) every count below k is suppressed, and
    overdue clocks are counted per clock instead of listed per pseudonymous case.
    """
    by_corridor: dict[tuple[str, str], list[tuple[str, Doc]]] = {}
    for case, doc in sorted(docs.items()):
        c = doc["corridor"]
        by_corridor.setdefault((c["referring"], c["receiving"]), []).append((case, doc))
    return [_corridor(key, cases, now, deadlines_for(*key), k)
            for key, cases in sorted(by_corridor.items())]


def _corridor(
    key: tuple[str, str], cases: list[tuple[str, Doc]], now: datetime, d: Deadlines,
    k: int | None,
) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    durations: dict[str, list[float]] = {stage: [] for stage, _, _ in STAGES}
    late: list[dict[str, Any]] = []
    for case, doc in cases:
        statuses[doc["status"]] = statuses.get(doc["status"], 0) + 1
        for stage, days in stage_days(doc).items():
            durations[stage].append(days)
        late.extend({"case": case, "clock": c.name, "owed_by": key[1],
                     "due_at": c.due_at.isoformat(),
                     "hours_overdue": round((now - c.due_at).total_seconds() / 3600, 2)}
                    for c in clocks(doc, d) if not c.met and now > c.due_at)
    stages = {s: {"cases": len(v), "median_days": round(statistics.median(v), 2) if v else None}
              for s, v in durations.items()}
    view: dict[str, Any] = {"corridor": {"referring": key[0], "receiving": key[1]},
                            "cases": len(cases), "by_status": statuses, "stages": stages,
                            "overdue": late}
    return view if k is None else suppressed(view, k)


def suppressed(view: dict[str, Any], k: int) -> dict[str, Any]:
    """The view as statistics: no count below k, and no per-case rows at all."""
    per_clock: dict[str, int] = {}
    for row in view["overdue"]:
        per_clock[row["clock"]] = per_clock.get(row["clock"], 0) + 1

    def small(n: int | None) -> bool:
        return n is not None and 0 < n < k

    stages = {s: v if not small(v["cases"]) else {"cases": None, "median_days": None}
              for s, v in view["stages"].items()}
    return {**view, "cases": None if small(view["cases"]) else view["cases"],
            "by_status": suppress_cells(view["by_status"], k), "stages": stages,
            "overdue": suppress_cells(per_clock, k, partition=False), "k": k}


def suppress_cells(counts: Mapping[str, int], k: int, partition: bool = True,
                   ) -> dict[str, int | None]:
    """Cells below k become None. When the cells split a published total, and only one
    would go, the next smallest goes too, so the total cannot give it away."""
    out: dict[str, int | None] = {c: (None if 0 < n < k else n) for c, n in counts.items()}
    hidden = [c for c, v in out.items() if v is None]
    if partition and len(hidden) == 1:
        rest = sorted((n, c) for c, n in counts.items() if out[c] is not None and n > 0)
        if rest:
            out[rest[0][1]] = None
    return out
