"""The trust directory holds several keys per agency, each valid for a while, and still reads
the older one-key files; a file caught half written is a passing state, not an empty
directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.exchange.directory import DirectoryFile, DirectoryUnreadable, load, publish, save
from services.signing import SigningKey

NOW = datetime(2026, 3, 3, 9, tzinfo=UTC)


def test_a_rotated_key_is_valid_beside_the_old_one_until_the_old_one_ends(tmp_path: Path) -> None:
    path, old, new = tmp_path / "d.json", SigningKey.generate("XA-NRM"), None
    publish(path, old)  # the older, one-key form
    assert json.loads(path.read_text())["agencies"]["XA-NRM"]["key_id"] == old.key_id
    assert load(path).key("XA-NRM", old.key_id, NOW) is not None

    new = SigningKey("XA-NRM", SigningKey.generate("XA-NRM").private, old.sealing)
    save(path, load(path).with_rotated_key(new, old_until=NOW + timedelta(hours=1), since=NOW))
    directory = load(path)
    assert directory.key("XA-NRM", old.key_id, NOW) is not None
    assert directory.key("XA-NRM", new.key_id, NOW) is not None
    assert directory.key_status("XA-NRM", new.key_id, NOW - timedelta(seconds=1)) == "not-yet-valid"
    later = NOW + timedelta(hours=2)
    assert directory.key_status("XA-NRM", old.key_id, later) == "expired"
    assert directory.key("XA-NRM", old.key_id, later) is None
    assert directory.key_status("XA-NRM", "XA-NRM-other", NOW) == "unknown-key"
    assert directory.key_status("XC-NRM", new.key_id, NOW) == "unknown-agency"
    assert directory.sealing("XA-NRM") is not None  # sealing is untouched by a rotation


def test_a_half_written_directory_is_unreadable_until_it_is_whole_again(tmp_path: Path) -> None:
    path, key = tmp_path / "d.json", SigningKey.generate("XA-NRM")
    publish(path, key)
    trust = DirectoryFile(path)
    assert trust.current().key("XA-NRM", key.key_id) is not None
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DirectoryUnreadable):
        trust.current()
    path.write_bytes(whole + b"\n")
    assert trust.current().key("XA-NRM", key.key_id) is not None


def test_an_agency_without_any_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"agencies": {"XA-NRM": {}}}))
    with pytest.raises(ValueError, match="needs a key"):
        load(path)
