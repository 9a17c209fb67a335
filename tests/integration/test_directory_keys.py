"""The trust directory holds several keys per agency, each valid for a while, and still reads
the older one-key files; a file caught half written is a passing state, not an empty
directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.exchange.directory import DirectoryFile, DirectoryUnreadable, load, publish, save
from services.signing import SealingKey, SigningKey

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


def test_senders_seal_to_the_newest_valid_sealing_key_and_older_files_still_read(
    tmp_path: Path,
) -> None:
    path, key = tmp_path / "d.json", SigningKey.generate("XA-NRM")
    publish(path, key)  # the older, one-key form of the sealing key
    assert json.loads(path.read_text())["agencies"]["XA-NRM"]["sealing_key_id"] == \
        key.sealing.key_id
    sealing = load(path).sealing("XA-NRM", NOW)
    assert sealing is not None and sealing.sealing_key_id == key.sealing.key_id

    new = SealingKey.generate("XA-NRM")
    until, since = NOW + timedelta(hours=1), NOW + timedelta(minutes=10)
    save(path, load(path).with_rotated_sealing_key(new, old_until=until, since=since))
    listed = json.loads(path.read_text())["agencies"]["XA-NRM"]["sealing_keys"]
    assert [k["sealing_key_id"] for k in listed] == [key.sealing.key_id, new.key_id]
    assert listed[0]["not_after"].startswith("2026-03-03T10:00")
    directory = load(path)

    def to(at: datetime) -> str | None:
        found = directory.sealing("XA-NRM", at)
        return found.sealing_key_id if found is not None else None

    assert to(NOW) == key.sealing.key_id  # the new key is not listed as valid yet
    assert to(since) == to(until) == new.key_id  # both valid: the newer one
    assert to(until + timedelta(seconds=1)) == new.key_id
    assert directory.sealing("XC-NRM", NOW) is None
    # Rotated again: the first key's end stays where it was, the second's is set.
    newer = SealingKey.generate("XA-NRM")
    later = until + timedelta(hours=1)
    again = directory.with_rotated_sealing_key(newer, old_until=later)
    ends = {k.sealing_key_id: k.not_after for k in again.agencies["XA-NRM"].sealing_keys}
    assert ends == {key.sealing.key_id: until, new.key_id: later, newer.key_id: None}


def test_the_monitor_sealing_key_rotates_too(tmp_path: Path) -> None:
    old, new = SealingKey.generate("monitor"), SealingKey.generate("monitor")
    path = tmp_path / "d.json"
    save(path, load(path).with_monitor(old))
    save(path, load(path).with_rotated_sealing_key(new, old_until=NOW + timedelta(hours=1)))
    directory = load(path)
    assert [k.sealing_key_id for k in directory.monitor_keys] == [old.key_id, new.key_id]
    found = directory.sealing("monitor", NOW)
    assert found is not None and found.sealing_key_id == new.key_id
