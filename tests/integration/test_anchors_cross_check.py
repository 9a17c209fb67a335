"""The cross-check: two real nodes exchanging over the broker, the partner's node served
over HTTP; `GET /v1/audit/cross-check` and `homeward audit verify --partner URL` compare
each received fact and each checkpoint either side holds, and name the first divergence
planted on one side. The partner's route answers only the partner's node."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.anchors.partner import issue
from services.api.app import create_app
from services.cli import main
from services.exchange.directory import load as load_directory
from services.exchange.directory import publish, save
from services.signing import SigningKey
from tests.harness import tamper
from tests.harness.exchange_nodes import agency_code
from tests.harness.http_nodes import Pair, pair_on_each_backend
from tests.harness.served import serving
from tests.harness.support import free_port
from tests.integration.test_anchors import acknowledged


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path, kafka_bootstrap: str
           ) -> Iterator[tuple[Pair, str]]:
    """XA and XB over the broker; XB's API on a real port, listed in the directory."""
    p = pair_on_each_backend(request, tmp_path, kafka_bootstrap)
    with serving(create_app(p.xb.node)) as url:
        directory = tmp_path / "directory.json"
        save(directory, load_directory(directory).with_url(p.xb.agency, url))
        yield p, url
    p.close()


def cross_check(p: Pair, case_id: Any) -> dict[str, Any]:
    response = p.xa.get("/v1/audit/cross-check", "auditor", case=str(case_id))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_agreeing_nodes_show_no_divergence(served: tuple[Pair, str]) -> None:
    p, _ = served
    case_id = acknowledged(p)
    found = cross_check(p, case_id)
    assert found == {"case_id": str(case_id), "partner": p.xb.agency, "ok": True,
                     "first": None, "divergences": []}


def test_a_fact_rewritten_at_the_partner_is_named_as_the_first_divergence(
        served: tuple[Pair, str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    p, url = served
    case_id = acknowledged(p)
    # At XB, its acknowledgement (its version 4, its message 1 to XA) is rewritten and
    # every later hash recomputed: XB's own chain still verifies.
    tamper.rewrite(p.xb.node.app, case_id, 4, lambda data: {
        **data, "contact": {**data["contact"], "email": "someone.else@xb.example"}})
    found = cross_check(p, case_id)
    assert not found["ok"]
    assert found["first"]["agency"] == p.xb.agency
    assert (found["first"]["kind"], found["first"]["where"]) == ("message", "message 1")
    kinds = [(d["agency"], d["kind"], d["where"]) for d in found["divergences"]]
    assert (p.xb.agency, "rewritten", "version 4") in kinds
    # XA's own store is untouched, and says so.
    assert p.xa.get("/v1/audit/verify", "auditor").json()["ok"]
    # The command line names the same first divergence.
    settings = p.xa.node.settings
    monkeypatch.setenv("HOMEWARD_AGENCY", settings.agency)
    monkeypatch.setenv("HOMEWARD_DATA_DIR", str(settings.home))
    monkeypatch.setenv("HOMEWARD_DIRECTORY", str(settings.directory))
    if settings.database_url:
        monkeypatch.setenv("HOMEWARD_DATABASE_URL", settings.database_url)
    assert main(["audit", "verify", str(case_id), "--partner", url]) == 1
    out = capsys.readouterr().out
    assert (f"case {case_id}: first divergence with {p.xb.agency}: {p.xb.agency}, "
            "message 1: message:") in out


def test_a_received_fact_rewritten_at_the_partner_is_named_by_its_receipt(
        served: tuple[Pair, str]) -> None:
    p, _ = served
    case_id = acknowledged(p)
    # At XB, the fact of XA's consent (XB's version 2) is rewritten and every later hash
    # recomputed; its digest from XA is kept, so only the checkpoint XB's receipt carried
    # to XA shows it.
    tamper.rewrite(p.xb.node.app, case_id, 2,
                   lambda data: {**data, "interpreter": not data["interpreter"]})
    found = cross_check(p, case_id)
    assert (found["first"]["agency"], found["first"]["kind"], found["first"]["where"]) == (
        p.xb.agency, "rewritten", "version 2")


def test_a_case_deleted_at_the_partner_is_named(served: tuple[Pair, str]) -> None:
    p, _ = served
    case_id = acknowledged(p)
    tamper.delete_case(p.xb.node.app, case_id)
    found = cross_check(p, case_id)
    assert found["first"] == {"agency": p.xb.agency, "kind": "missing-case",
                              "where": "version 4",
                              "detail": f"{p.xb.agency} holds no stream of the case, though "
                                        "it signed it up to version 4"}


def test_the_partner_route_answers_the_partner_node_only(served: tuple[Pair, str]) -> None:
    p, _ = served
    case_id = acknowledged(p)
    client, path = p.xb.client, f"/v1/partner/chain?case={case_id}"

    def partner(case: Any = case_id, key: Any = p.xa.node.signing,
                audience: str = p.xb.agency) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue(key, audience, case, datetime.now(UTC))}"}

    answer = client.get(path, headers=partner())
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert set(view) == {"case_id", "agency", "head", "erased", "sent", "received",
                         "checkpoints"}
    assert "Okafor" not in answer.text and "Amina" not in answer.text
    # XB's own caseworker, a token for another node, nothing: 401.
    own = client.get(path, headers=p.xb.headers("auditor"))
    other = client.get(path, headers=partner(audience=p.xa.agency))
    assert [own.status_code, other.status_code, client.get(path).status_code] == [401] * 3
    # A node the directory lists but on no corridor with XB: 403.
    stranger = SigningKey.generate(agency_code("XC"))
    publish(p.xb.node.settings.directory, stranger)  # type: ignore[arg-type]
    assert client.get(path, headers=partner(key=stranger)).status_code == 403
    # A case it does not hold, or a bad id: 404, 422.
    none = "00000000-0000-4000-8000-000000000000"
    missing = client.get(f"/v1/partner/chain?case={none}", headers=partner(case=none))
    bad = client.get("/v1/partner/chain?case=nope", headers=partner())
    assert (missing.status_code, bad.status_code) == (404, 422)


def test_the_cross_check_is_for_auditors(served: tuple[Pair, str]) -> None:
    p, _ = served
    case_id = acknowledged(p)
    refused = p.xa.get("/v1/audit/cross-check", "caseworker", case=str(case_id))
    assert refused.status_code == 403
    assert p.xa.get("/v1/audit/cross-check", "auditor", case="x").status_code == 422


def test_the_embedded_network_lists_where_each_agency_answers(tmp_path: Path) -> None:
    from services.network.members import members, trust

    directory = load_directory(trust(tmp_path, members(tmp_path, 8001)))
    assert (directory.url("XA-NRM"), directory.url("XB-NRM")) == (
        "http://127.0.0.1:8001", "http://127.0.0.1:8002")
    # Published again (a key rotated), the address stays.
    assert load_directory(trust(tmp_path, members(tmp_path, 8001))).url("XA-NRM")


def test_a_partner_node_that_does_not_answer_is_a_502(served: tuple[Pair, str]) -> None:
    p, _ = served
    case_id = acknowledged(p)
    directory = p.xa.node.settings.directory
    assert directory is not None
    gone = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    save(directory, load_directory(directory).with_url(p.xb.agency, gone))
    refused = p.xa.get("/v1/audit/cross-check", "auditor", case=str(case_id))
    assert refused.status_code == 502
    assert refused.json()["type"] == "urn:homeward:problem:partner-unreachable"
