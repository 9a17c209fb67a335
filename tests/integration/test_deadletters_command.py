"""`homeward deadletters`: an operator lists the inbox's dead letters, shows one without
any personal data, fixes the cause and replays it; the message is then recorded once."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.cli import main
from services.exchange.directory import publish
from tests.harness.exchange_nodes import (
    dead_letters,
    pair,
    referred_alone,
    sending,
    wait_until,
)

pytestmark = pytest.mark.kafka


def test_a_dead_letter_is_listed_shown_without_personal_data_and_replayed_after_a_fix(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="homeward.events")
    a, b = pair(tmp_path, kafka_bootstrap)
    try:
        case_id, (opening, *_) = referred_alone(a, b)
        # The directory ended the key a signed with an hour ago: a permanent refusal.
        a.list_new_signing_key(old_until=datetime.now(UTC) - timedelta(hours=1))
        inbox = b.start_inbox()
        with sending(a, b) as post:
            post.sealed(opening)
        [(reason, _)] = dead_letters(b, expected=1)
        assert reason.startswith("expired-key")
        # Its log line: the reason, where it was read from (partition too); never the case
        # id (sent here without a key, it has no reference on the broker to name).
        [logged] = [r.homeward for r in caplog.records  # type: ignore[attr-defined]
                    if getattr(r, "homeward", {}).get("event") == "message dead-lettered"]
        assert logged["reason"].startswith("expired-key") and logged["offset"] >= 0
        assert logged["topic"] == f"homeward.inbox.{b.agency.lower()}" and logged["partition"] >= 0
        assert "case" not in logged and str(case_id) not in json.dumps(logged)

        for name, value in {"HOMEWARD_AGENCY": b.agency, "HOMEWARD_DATA_DIR": str(b.home),
                            "HOMEWARD_KAFKA_BOOTSTRAP": kafka_bootstrap}.items():
            monkeypatch.setenv(name, value)
        assert main(["deadletters", "list"]) == 0
        listed = capsys.readouterr().out
        assert "expired-key" in listed and opening["message_id"] in listed
        assert "1 dead letter(s)" in listed

        assert main(["deadletters", "show", "0"]) == 0
        shown = capsys.readouterr().out
        assert opening["message_id"] in shown and "homeward.case-opened.v1" in shown
        # Nothing sealed: not the case id, the payload, nor the ciphertext that holds them.
        assert str(case_id) not in shown and "payload" not in shown and "ciphertext" not in shown
        assert json.loads(shown)["source_partition"] == logged["partition"]
        assert main(["deadletters", "show", "7"]) == 1

        publish(a.directory_path, a.key)  # the operator lists the key again
        assert main(["deadletters", "replay", "0"]) == 0
        wait_until(lambda: b.received_hashes(case_id) == [opening["integrity"]["hash"]])
        assert inbox.dead == 1  # only the first refusal
    finally:
        a.close()
        b.close()
