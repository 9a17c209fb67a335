"""GET /v1/monitor/statistics/htcds: the export's columns are the HTCDS fields and value
names docs/contract.md cites (or the columns it names as not HTCDS), CSV by default and
JSON on asking, the suppression rule in the header rows, the case statuses mapped as the
milestones' `htcds_status` say (itself tested on real cases here), every count below 11
suppressed and every count shown the true one."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_monitor_app
from services.api.identity.auth import issue
from services.bootstrap import build_monitor, jwt_secret
from services.clock import FixedClock
from services.contract.codec import milestone
from services.settings import load
from tests.harness.builders import XA, XB
from tests.harness.given import C, R, given, upto, when

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, tzinfo=UTC)
NOT_HTCDS = {"period", "cases", "AgeBand"}
# (status, htcds status, how many cases) on XA-NRM -> XB-NRM; 4 more on XC-NRM -> XB-NRM.
PLAN = [("arrived", "Active", 14), ("follow_up", "FollowUp", 12), ("closed", "Closed", 11),
        ("closed", "ClosedReferred", 3)]


def cited_fields() -> dict[str, list[str] | None]:
    """The HTCDS table of docs/contract.md: field -> its value names (None: free values)."""
    text = (ROOT / "docs/contract.md").read_text()
    table = text.split("### Statistics in the HTCDS shape", 1)[1].split("\n\n")[2]
    out: dict[str, list[str] | None] = {}
    for line in table.splitlines()[2:]:
        field, values = (cell.strip() for cell in line.strip("|").split("|")[:2])
        names = re.findall(r"`([^`]+)`", values)
        out[field.strip("`")] = names or None
    return out


def test_the_docs_cite_the_standard_s_fields() -> None:
    fields = cited_fields()
    assert fields["cas_Status"] == ["Active", "FollowUp", "Closed", "ClosedReferred"]
    assert {"prs_Gender", "prs_Citizenship", "vic_TypeOfExploitation", "hte_Country",
            "cas_ReferringOrganisation", "cas_ReferredOrganisation"} <= set(fields)


def test_the_milestone_carries_the_htcds_status_of_the_case() -> None:
    def last_status(story: Any, agency: str) -> str:
        case = story.stream(agency)
        found = milestone(case, case.pending_events[-1])
        assert found is not None
        return str(found["htcds_status"])

    accepted = given(upto("acceptance"))
    assert last_status(accepted, XB) == "Active"
    followed = given(upto("follow-up"))
    assert last_status(followed, XB) == "FollowUp"
    when(followed, C("closure"))
    assert last_status(followed, XB) == "Closed"
    transferred = given([*upto("acceptance"), R("closure", reason="transferred")])
    assert last_status(transferred, XA) == "ClosedReferred"


def cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    n = 0
    for corridor, plan in ((("XA-NRM", "XB-NRM"), PLAN), (("XC-NRM", "XB-NRM"),
                                                          [("arrived", "Active", 4)])):
        for status, htcds, count in plan:
            for _ in range(count):
                n += 1
                at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=n)
                out.append((str(uuid5(NAMESPACE_URL, f"htcds-{n}")), {
                    "corridor": {"referring": corridor[0], "receiving": corridor[1]},
                    "kind": "repatriation", "milestone": "case-closed" if status == "closed"
                    else "arrival-confirmed", "status": status, "htcds_status": htcds,
                    "occurred_at": at.isoformat(), "minor": False,
                    "sex": "female" if n % 3 else "male", "age_band": "25-34",
                    "citizenship": "XB", "forms": ["labour"]}))
    return out


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = Path(tmp_path_factory.mktemp("htcds"))
    node = build_monitor(load(agency="monitor", data_dir=tmp / "monitor"), FixedClock(NOW))
    node.view.record(cases())
    token = issue(jwt_secret(node.settings), "m-1", "monitor", ["monitor"], datetime.now(UTC))
    with TestClient(create_monitor_app(node)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c
    node.close()


def test_the_csv_names_htcds_fields_states_its_rule_and_suppresses(client: TestClient) -> None:
    answer = client.get("/v1/monitor/statistics/htcds", params={"from": "2026-02",
                                                                "to": "2026-04"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.splitlines()
    assert lines[0].startswith("# ") and "HTCDS 2.0" in lines[0]
    assert lines[1].startswith("# Suppression (k = 11): every count from 1 to 10")
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[2:]))))
    fields = cited_fields()
    for column in rows[0]:
        field, _, value = column.partition(":")
        if field in NOT_HTCDS:
            continue
        assert field in fields, column
        if value and fields[field] is not None:
            assert value in [*fields[field], "Unknown"], column
        if field == "prs_Citizenship":
            assert re.fullmatch(r"[A-Z]{2}|Unknown", value), column
    # February had no case; March and April the same 44 on XA-NRM -> XB-NRM, 4 on XC-NRM.
    assert [(r["period"], r["cas_ReferringOrganisation"]) for r in rows] == [
        ("2026-03", "XA-NRM"), ("2026-04", "XA-NRM"), ("2026-03", "XC-NRM"),
        ("2026-04", "XC-NRM")]
    march = rows[0]
    assert march["cases"] == "40" and march["hte_Country"] == "XA"
    # ClosedReferred (3) is below k, and alone: the next smallest (Closed, 11) goes too,
    # or it would be the cases less the others.
    assert (march["cas_Status:Active"], march["cas_Status:FollowUp"],
            march["cas_Status:Closed"], march["cas_Status:ClosedReferred"]) == (
        "14", "12", "", "")
    assert (march["prs_Gender:Feminine"], march["vic_TypeOfExploitation:ForcedLabour"],
            march["prs_Citizenship:XB"], march["AgeBand:25-34"]) == ("27", "40", "40", "40")
    for row in rows:
        for column, value in row.items():
            if value.isdigit() and column not in ("period",):
                assert int(value) == 0 or int(value) >= 11, (column, value)
    assert rows[2]["cases"] == "" and rows[2]["cas_Status:Active"] == ""

    as_json = client.get("/v1/monitor/statistics/htcds", params={"from": "2026-02",
                                                                 "to": "2026-04"},
                         headers={"Accept": "application/json"})
    assert as_json.headers["content-type"].startswith("application/json")
    body = as_json.json()
    assert body["k"] == 11 and "suppressed" in body["suppression"]
    assert body["columns"] == list(rows[0])
    assert [{c: "" if r[c] is None else str(r[c]) for c in body["columns"]}
            for r in body["rows"]] == rows
    same = client.get("/v1/monitor/statistics/htcds", params={"from": "2026-02",
                                                              "to": "2026-04"},
                      headers={"Accept": "text/csv"})
    assert same.text == answer.text


@pytest.mark.parametrize("params", [{"from": "2026-13"}, {"from": "2026-05", "to": "2026-01"}])
def test_bad_months_are_refused(client: TestClient, params: dict[str, str]) -> None:
    assert client.get("/v1/monitor/statistics/htcds", params=params).status_code == 422
    assert client.get("/v1/monitor/statistics/htcds",
                      headers={"Authorization": ""}).status_code == 401
