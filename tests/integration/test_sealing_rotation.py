"""Sealing keys rotate as signing keys do: the directory lists the new one, senders seal to
it, and the recipient opens what was sealed to either key until the old one's end; then
the old private key is destroyed, and what the broker still holds sealed to it opens
nowhere, erasure or not."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from services.contract.codec import decode
from services.exchange import topics
from services.exchange.directory import Directory, load, save
from services.exchange.sealing import SealError, open_sealed, seal
from services.exchange.sealing_keys import RETIRED_DIR, load_sealing_keys, rotate_sealing_key
from services.network.demo_cases import repatriation
from services.signing import SEALING_KEY_FILE, SigningKey
from tests.harness.exchange_nodes import (
    Node,
    delivered_once,
    exactly_once,
    open_case,
    wait_until,
)
from tests.harness.walks import actor

NOW = datetime(2026, 3, 3, 9, tzinfo=UTC)


def on_the_broker(node: Node) -> list[dict[str, Any]]:
    """Every sealed envelope the node's inbox topic holds, all partitions, oldest first."""
    reader = KafkaConsumer(bootstrap_servers=node.bootstrap, enable_auto_commit=False)
    try:
        name = topics.inbox(node.agency)
        partitions = [TopicPartition(name, p) for p in reader.partitions_for_topic(name) or ()]
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        ends = reader.end_offsets(partitions)
        records: list[Any] = []
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while any(reader.position(p) < ends[p] for p in partitions):
            assert datetime.now(UTC) < deadline, "the topic was not read to its end"
            for batch in reader.poll(timeout_ms=200).values():
                records.extend(batch)
    finally:
        reader.close()
    return [decode(r.value) for r in records]


def destroyed(caplog: pytest.LogCaptureFixture, key_id: str) -> bool:
    """Whether the node's log said the key was destroyed (services/logs/)."""
    return any(getattr(r, "homeward", {}).get("event") == "sealing key destroyed"
               and r.homeward["key_id"] == key_id for r in caplog.records)


def test_a_key_kept_opens_what_was_sealed_to_it_and_is_destroyed_at_its_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    home, sender = tmp_path / "xb", SigningKey.generate("XA-NRM")
    old = load_sealing_keys(home, "XB-NRM").current
    message = {"message_id": "m-1", "schema": "s", "sender": "XA-NRM",
               "recipient": "XB-NRM", "sequence": 1, "occurred_at": NOW.isoformat()}
    before = Directory().with_agency(SigningKey("XB-NRM", SigningKey.generate("XB-NRM").private,
                                                old))
    to_old = seal(message, "ref", before.sealing("XB-NRM") or pytest.fail(), sender)

    until = NOW + timedelta(days=1)
    new = rotate_sealing_key(home, "XB-NRM", old_until=until)
    assert (home / SEALING_KEY_FILE).stat().st_mode & 0o077 == 0
    [kept_file] = (home / RETIRED_DIR).iterdir()
    assert kept_file.stat().st_mode & 0o077 == 0 and old.key_id in kept_file.name
    after = before.with_rotated_sealing_key(new, old_until=until)
    to_new = seal(message, "ref", after.sealing("XB-NRM", NOW) or pytest.fail(), sender)
    assert to_new["sealed"]["key_id"] == new.key_id != old.key_id

    keys = load_sealing_keys(home, "XB-NRM", now=lambda: NOW)
    assert keys.current.key_id == new.key_id and open_sealed(to_old, keys) == message
    assert open_sealed(to_new, keys) == message

    with caplog.at_level(logging.INFO, logger="homeward.events"):
        ended = load_sealing_keys(home, "XB-NRM", now=lambda: until)
    assert not kept_file.exists() and list((home / RETIRED_DIR).iterdir()) == []
    assert destroyed(caplog, old.key_id)
    with pytest.raises(SealError) as refused:
        open_sealed(to_old, ended)
    assert refused.value.code == "sealed-to-another"
    assert open_sealed(to_new, ended) == message


def test_a_rotated_key_is_destroyed_at_its_end_though_no_message_comes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    home = tmp_path / "xb"
    old = load_sealing_keys(home, "XB-NRM").current
    rotate_sealing_key(home, "XB-NRM", old_until=datetime.now(UTC) + timedelta(seconds=1.5))
    keys = load_sealing_keys(home, "XB-NRM")
    assert keys.opening(old.key_id) is not None
    with caplog.at_level(logging.INFO, logger="homeward.events"):
        keys.watching()
        try:
            wait_until(lambda: not any((home / RETIRED_DIR).iterdir()), timeout=10)
        finally:
            keys.stop_watching()
    assert destroyed(caplog, old.key_id)
    assert keys.retired == [] and keys.opening(old.key_id) is None


def test_a_key_rotated_while_the_node_runs_opens_at_once(tmp_path: Path) -> None:
    home, sender = tmp_path / "xb", SigningKey.generate("XA-NRM")
    running = load_sealing_keys(home, "XB-NRM")
    new = rotate_sealing_key(home, "XB-NRM", old_until=NOW + timedelta(days=365 * 100))
    message = {"message_id": "m-1", "schema": "s", "sender": "XA-NRM",
               "recipient": "XB-NRM", "sequence": 1, "occurred_at": NOW.isoformat()}
    listed = Directory().with_agency(SigningKey("XB-NRM", sender.private, new))
    to_new = seal(message, "ref", listed.sealing("XB-NRM") or pytest.fail(), sender)
    assert open_sealed(to_new, running) == message
    assert running.current.key_id == new.key_id and len(running.retired) == 1


def test_a_rotation_cut_short_leaves_one_current_key(tmp_path: Path) -> None:
    home = tmp_path / "xb"
    first = load_sealing_keys(home, "XB-NRM").current
    (home / f"{SEALING_KEY_FILE}.new").write_bytes(b"half a rotation")  # before the old was kept
    assert load_sealing_keys(home, "XB-NRM").current.key_id == first.key_id
    assert not (home / f"{SEALING_KEY_FILE}.new").exists()


@pytest.mark.kafka
def test_messages_sealed_across_a_rotation_all_open_and_none_after_the_old_key_ends(
    nodes: tuple[Node, Node], caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = nodes
    b.start_inbox()
    a.start_inbox()
    relay = a.start_relay()
    story = repatriation(datetime.now(UTC).date(), receiving=b.agency)
    case_id = open_case(a, b, story.opening)
    moves = [m for m in story.moves if m.side.value == "referring"][:4]
    for move in moves[:2]:  # consent, referral
        a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
    wait_until(lambda: exactly_once(a, b, case_id), timeout=30)
    old = load_sealing_keys(b.keys, b.agency).current

    b.stop("inbox")  # what comes now waits on the broker, sealed to the old key
    move = moves[2]
    a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
    wait_until(lambda: relay.lag() == 0)
    until = datetime.now(UTC) + timedelta(hours=1)
    new = rotate_sealing_key(b.keys, b.agency, old_until=until)
    save(b.directory_path, load(b.directory_path).with_rotated_sealing_key(new, until))
    move = moves[3]
    a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
    wait_until(lambda: relay.lag() == 0)

    b.start_inbox()  # with the old key kept beside the new one
    delivered_once(a, b, case_id)
    held = on_the_broker(b)
    sealed_to = [e["sealed"]["key_id"] for e in held]
    assert old.key_id in sealed_to and new.key_id in sealed_to
    referral = next(e for e in held if e["sealed"]["key_id"] == old.key_id)
    assert open_sealed(referral, load_sealing_keys(b.keys, b.agency))["recipient"] == b.agency

    # Past the old key's end the node destroys it: the broker's copies sealed to it, the
    # referral among them, open nowhere any more (an erased case's included).
    with caplog.at_level(logging.INFO, logger="homeward.events"):
        ended = load_sealing_keys(b.keys, b.agency, now=lambda: until + timedelta(seconds=1))
    assert destroyed(caplog, old.key_id)
    assert not any(old.key_id in p.name for p in b.keys.rglob("*.pem"))
    for envelope in held:
        if envelope["sealed"]["key_id"] == old.key_id:
            with pytest.raises(SealError):
                open_sealed(envelope, ended)
        else:
            assert open_sealed(envelope, ended)["recipient"] == b.agency
