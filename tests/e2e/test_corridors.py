"""A case is opened only towards an agency the trust directory lists on a corridor from
this one; a node whose directory lists no corridor from its agency accepts any."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.http.problems import PROBLEM_JSON
from services.bootstrap import build_node
from services.clock import FixedClock
from services.exchange.directory import Corridor, Directory, save
from services.settings import load
from tests.harness.http_nodes import START, XA, XB, HttpNode, opening

XC, XD = "XC-NRM", "XD-NRM"


def write(directory: Path, *corridors: tuple[str, str]) -> None:
    save(directory, Directory(corridors=[Corridor(referring=r, receiving=c)
                                         for r, c in corridors]))


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "directory.json"
    write(path, (XA, XB), (XA, XC), (XD, XA), (XC, XD))
    return path


@pytest.fixture
def xa(tmp_path: Path, directory: Path) -> Iterator[HttpNode]:
    node = build_node(load(agency=XA, data_dir=tmp_path / "xa", directory=directory),
                      FixedClock(START))
    http = HttpNode(node, TestClient(create_app(node)))
    yield http
    http.client.close()
    node.close()


def cases(xa: HttpNode) -> list[object]:
    return list(xa.node.app.case_ids())


def test_a_case_towards_an_agency_off_the_corridors_is_refused_naming_the_field(
    xa: HttpNode,
) -> None:
    # XD refers to XA and XC refers to XD, but XA has no corridor to XD.
    response = xa.post("/v1/cases", opening(receiving_agency=XD))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == "urn:homeward:problem:invalid"
    assert [e["field"] for e in body["errors"]] == ["receiving_agency"]
    assert XB in body["errors"][0]["message"] and XC in body["errors"][0]["message"]
    assert cases(xa) == [] and xa.get("/v1/cases").json()["total"] == 0


@pytest.mark.parametrize("receiving", [XB, XC])
def test_a_case_towards_an_agency_on_a_listed_corridor_is_opened(xa: HttpNode,
                                                                 receiving: str) -> None:
    response = xa.post("/v1/cases", opening(receiving_agency=receiving))

    assert response.status_code == 201, response.text
    assert xa.state(response.json()["id"])["receiving"] == receiving
    assert len(cases(xa)) == 1


def test_a_corridor_added_to_the_directory_is_open_without_a_restart(
    xa: HttpNode, directory: Path,
) -> None:
    assert xa.post("/v1/cases", opening(receiving_agency=XD)).status_code == 422
    write(directory, (XA, XB), (XA, XC), (XD, XA), (XC, XD), (XA, XD))

    assert xa.post("/v1/cases", opening(receiving_agency=XD)).status_code == 201


def test_without_a_corridor_from_this_agency_any_receiving_agency_is_accepted(
    xa: HttpNode, directory: Path,
) -> None:
    write(directory, (XB, XA), (XC, XD))  # this agency only receives

    response = xa.post("/v1/cases", opening(receiving_agency=XB))

    assert response.status_code == 201, response.text
    assert len(cases(xa)) == 1


def test_a_case_with_ones_own_agency_is_still_the_domains_refusal(xa: HttpNode) -> None:
    response = xa.post("/v1/cases", opening(receiving_agency=XA))

    assert response.status_code == 403, response.text
    assert response.json()["rule"] == "step-owner"
    assert cases(xa) == []
