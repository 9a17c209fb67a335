"""The README's walk through one case works as written: its curl commands, sent as
curl sends them (`-d` means a form content type), reach real routes with valid bodies."""

from __future__ import annotations

import re
from pathlib import Path

from tests.harness.http_nodes import XA, XB, Pair

README = Path(__file__).parents[2] / "README.md"
# `curl -s -H "$XA" [-H 'Name: value'] localhost:PORT/PATH -d '{...}'`, over several lines.
CURL = re.compile(
    r"curl -s -H \"\$(?P<who>X[AB])\"(?P<extra>(?: -H '[^']+')*) localhost:(?P<port>\d+)"
    r"(?P<path>/\S+) -d '(?P<body>[^']*)'", re.S)
PORTS = {"8001": XA, "8002": XB}


def walkthrough() -> list[re.Match[str]]:
    commands = list(CURL.finditer(README.read_text()))
    assert [m["path"].rsplit("/", 1)[-1] for m in commands] == ["cases", "consent", "referral"]
    return commands


def test_the_readme_commands_open_consent_and_refer(nodes: Pair) -> None:
    opening, consent, referral = walkthrough()
    assert all(PORTS[m["port"]] == (XA if m["who"] == "XA" else XB) for m in (opening, consent))

    def send(command: re.Match[str], case_id: str = "") -> tuple[int, dict[str, object]]:
        extra = dict(h.split(": ", 1) for h in re.findall(r"-H '([^']+)'", command["extra"]))
        headers = {**nodes.xa.headers(**extra),
                   "Content-Type": "application/x-www-form-urlencoded"}  # what curl -d sends
        response = nodes.xa.client.post(command["path"].replace("$ID", case_id),
                                        content=command["body"].encode(), headers=headers)
        return response.status_code, response.json()

    status, opened = send(opening)
    assert (status, opened["status"]) == (201, "opened"), opened
    case_id = str(opened["id"])

    # Without consent the referral is refused and the case is unchanged.
    status, refusal = send(referral, case_id)
    assert (status, refusal["rule"]) == (409, "consent-required"), refusal
    assert nodes.xa.state(case_id)["version"] == 1

    assert send(consent, case_id)[0] == 200
    status, referred = send(referral, case_id)
    assert (status, referred["status"]) == (200, "referred"), referred
    nodes.sync()
    # XB-NRM holds the case, with the identity shared under `share_identity`.
    assert nodes.xb.state(case_id)["person"]["family_name"] == "Ionescu"
