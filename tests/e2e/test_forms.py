"""What the case page and the opening form stand on: every step body's JSON Schema (the
one the API validates with), the steps open to the caller, and the page's language."""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from services.network.demo_cases import repatriation
from tests.harness.http_nodes import START, XB, Pair, open_case, opening, play, token

CASE_PAGE_READS = {"/v1/cases/{id}", "/v1/cases/{id}/timeline", "/v1/cases/{id}/steps",
                   "/v1/steps", "/v1/audit/verify", "/v1/cases/{id}/notes",
                   "/v1/cases/{id}/documents"}
# What the case page posts besides steps: taking the case, asking a supervisor.
CASE_PAGE_WRITES = {"/v1/cases/{id}/assignment", "/v1/cases/{id}/approval-requests"}


def valid(body: Any, schema: dict[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(body)


def test_each_form_schema_refuses_exactly_what_the_api_refuses(nodes: Pair) -> None:
    case_id = open_case(nodes)
    forms = nodes.xa.get("/v1/steps").json()
    assert valid(opening(), forms["opening"])
    assert not valid({**opening(), "surprise": 1}, forms["opening"])
    for body in ({}, {"surprise": 1}):
        answer = nodes.xa.post("/v1/cases", body)
        assert (answer.status_code == 422) == (not valid(body, forms["opening"]))
    assert len(forms["steps"]) == 50  # every step with a route (the case records return-hold)
    for form in forms["steps"]:
        for body in ({}, {"surprise": 1}):
            role = "supervisor" if form["supervisor_only"] else "caseworker"
            answer = nodes.xa.step(case_id, form["path"], body, role)
            assert (answer.status_code == 422) == (not valid(body, form["body"])), \
                (form["path"], body, answer.text)
            assert answer.status_code != 200 or form["path"] in {"referral", "consent-withdrawal"}


def test_each_agency_is_offered_only_its_own_steps_and_supervisors_theirs(nodes: Pair) -> None:
    case_id = open_case(nodes)
    play(nodes, case_id, repatriation(START.date()).moves[:2])  # consent, referral
    mine = nodes.xa.get(f"/v1/cases/{case_id}/steps").json()
    assert mine["version"] == nodes.xa.state(case_id)["version"]
    assert "consent" in mine["steps"] and "transport" in mine["steps"]
    assert not {"acknowledgement", "acceptance", "arrival", "reopening"} & set(mine["steps"])
    assert "risk-to-life-override" not in mine["steps"]
    supervisor = nodes.xa.get(f"/v1/cases/{case_id}/steps", role="supervisor").json()
    assert set(supervisor["steps"]) - set(mine["steps"]) == {"risk-to-life-override", "erasure"}
    assert nodes.xa.get(f"/v1/cases/{case_id}/steps", role="auditor").json()["steps"] == []
    partner = nodes.xb.get(f"/v1/cases/{case_id}/steps").json()["steps"]
    assert {"acknowledgement", "acceptance", "decline"} <= set(partner)
    assert "consent" not in partner and "referral" not in partner
    assert nodes.xa.client.get(f"/v1/cases/{case_id}/steps").status_code == 401
    # A token for another agency is not issued for this node: refused before any route.
    stranger = nodes.xa.client.get(f"/v1/cases/{case_id}/steps", headers={
        "Authorization": f"Bearer {token(nodes.xa.node, agency=XB)}"})
    assert stranger.status_code == 401


def test_every_offered_step_is_one_the_api_records(nodes: Pair) -> None:
    """Offered and recorded agree: each step the page offers reaches the rules (no 403 for
    the owner, no 404), and a step it does not offer is the partner's."""
    case_id = open_case(nodes)
    offered = set(nodes.xa.get(f"/v1/cases/{case_id}/steps").json()["steps"])
    for form in nodes.xa.get("/v1/steps").json()["steps"]:
        answer = nodes.xa.step(case_id, form["path"], {}, "caseworker")
        if form["path"] in offered:
            assert answer.status_code != 404 and answer.json().get("rule") != "step-owner"
        elif not form["supervisor_only"] and form["path"] != "reopening":
            assert answer.status_code in (403, 422), form["path"]


def test_the_case_page_reads_only_routes_that_exist_and_need_a_token(nodes: Pair) -> None:
    case_id = open_case(nodes)
    page = nodes.xa.client.get(f"/ui/cases/{case_id}").text
    script = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)[0]
    assert set(re.findall(r'"(/v1/[^"?]*)"', script)) == CASE_PAGE_READS | CASE_PAGE_WRITES
    assert case_id not in page
    for path in CASE_PAGE_WRITES:  # they exist, and need a token
        assert nodes.xa.client.post(path.replace("{id}", case_id), json={}).status_code == 401
    for path in CASE_PAGE_READS - {"/v1/audit/verify"}:
        url = path.replace("{id}", case_id)
        assert nodes.xa.client.get(url).status_code == 401
        assert nodes.xa.get(url).status_code == 200
    assert nodes.xa.get("/v1/audit/verify", role="auditor").json()["ok"] is True
    assert "If-Match" in script and "X-Purpose" in script and "Idempotency-Key" in script


def test_a_bad_case_id_in_the_page_address_is_a_clear_4xx(nodes: Pair) -> None:
    answer = nodes.xa.client.get("/ui/cases/not-a-case")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


def test_the_page_speaks_the_language_asked_for_and_remembers_it(nodes: Pair) -> None:
    client = nodes.xa.client
    arabic = client.get("/ui/cases/new?lang=ar")
    assert '<html lang="ar" dir="rtl">' in arabic.text
    assert "فتح حالة" in arabic.text and arabic.headers["content-language"] == "ar"
    cookie = arabic.headers["set-cookie"]
    assert "homeward-lang=ar" in cookie and "HttpOnly" in cookie and "Path=/ui" in cookie
    assert '<html lang="ar" dir="rtl">' in client.get("/ui/board").text  # remembered
    client.cookies.clear()
    french = client.get("/ui/board", headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"})
    assert '<html lang="fr" dir="ltr">' in french.text and "Tableau de suivi" in french.text
    assert "set-cookie" not in french.headers  # only an explicit choice is remembered
    assert '<html lang="en" dir="ltr">' in client.get("/ui/board?lang=xx").text
    strings = client.get("/ui/i18n/es.json")
    assert strings.status_code == 200 and strings.json()["step.consent"] == "Consentimiento"
    assert client.get("/ui/i18n/xx.json").status_code == 404
