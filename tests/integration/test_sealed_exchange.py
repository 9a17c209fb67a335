"""Nothing personal is readable on the broker: a whole repatriation, every consent scope
given, read back from every topic with an independent client (librdkafka, through
confluent-kafka, not the project's code) finds no name, no date of birth, no document
number, no free text and no case id; yet the partner decrypts, verifies and records
every fact, and a message sealed to another agency is refused and dead-lettered."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import confluent_kafka  # librdkafka: a Kafka client that is not the project's
import pytest

from services.exchange import topics
from services.exchange.directory import DirectoryFile
from services.exchange.relay import Relay
from services.network.demo_cases import ALL_SCOPES, PERSON, repatriation
from services.signing import SigningKey
from tests.harness.exchange_nodes import (
    Node,
    agency_code,
    dead_letters,
    open_case,
    played,
    sending,
    wait_until,
)
from tests.harness.sealed_wire import sealed_for
from tests.harness.walks import actor

pytestmark = pytest.mark.kafka

# What the person told the agencies, and what the caseworkers wrote: none may be read.
CANARIES = [PERSON["family_name"], PERSON["given_names"], PERSON["date_of_birth"],
            "ETD-4411",  # the travel document number
            "Wishes to return before the school year.", "New risk reported.",
            "No longer wished.", "Escorted travel.", "Flight cancelled.", "debt bondage",
            "Grace Okafor", "desk@xb.example", "Reception officer"]


def read_everything(bootstrap: str, names: list[str], expected: int) -> list[Any]:
    """Every record of the topics, read by librdkafka from the beginning."""
    reader = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"reader-{agency_code('R')}",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })
    reader.subscribe(names)
    records: list[Any] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            record = reader.poll(0.5)
            if record is None:
                if len(records) >= expected:
                    break
                continue
            assert record.error() is None, record.error()
            records.append(record)
    finally:
        reader.close()
    return records


def sent_by(record: Any, *nodes: Node) -> bool:
    """Whether a record of the shared monitoring topic comes from these nodes (other tests
    publish there too, some of it empty, not JSON, or nested past what `json` reads)."""
    try:
        value = json.loads(record.value())
    except (TypeError, ValueError, RecursionError):
        return False
    return isinstance(value, dict) and value.get("sender") in {n.agency for n in nodes}


def test_a_whole_repatriation_leaves_nothing_personal_readable_on_the_broker(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    _, case_id = played(nodes, scopes=ALL_SCOPES)
    # The partner decrypted, verified and recorded every fact, identity included.
    assert b.received_hashes(case_id) == a.own_hashes(case_id)
    assert a.received_hashes(case_id) == b.own_hashes(case_id)
    assert b.app.case(case_id).state.person == PERSON

    sent = len(a.own_hashes(case_id)) + len(b.own_hashes(case_id))
    names = [topics.inbox(a.agency), topics.inbox(b.agency), topics.MONITORING]
    records = read_everything(a.bootstrap, names, expected=sent)
    mine = [r for r in records if r.topic() != topics.MONITORING or sent_by(r, a, b)]
    assert len(mine) > sent  # every message to the partner, and the milestones
    for record in mine:
        value = json.loads(record.value())
        assert value["envelope"] == "homeward.envelope.v2" and "payload" not in value
        readable = b"".join([record.value(), record.key() or b"",
                             *(v for _, v in record.headers() or [])]).decode()
        for canary in [*CANARIES, str(case_id)]:
            assert canary not in readable, (canary, record.topic())
        assert record.key().decode() == value["case_ref"] != str(case_id)


def test_a_message_sealed_to_another_agency_is_refused_and_dead_lettered(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    story = repatriation(datetime.now(UTC).date(), receiving=b.agency)
    case_id = open_case(a, b, story.opening)
    for move in story.moves[:2]:
        a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
    relay = Relay(a.app, a.key, a.new_producer, DirectoryFile(a.directory_path).current)
    notifications = list(a.app.recorder.select_notifications(1, 100))
    messages = [m.envelope for m in relay.messages(notifications)
                if m.topic == topics.inbox(b.agency)]
    other = SigningKey.generate(agency_code("XC"))
    inbox = b.start_inbox()
    with sending(a, b) as post:
        offset = post.raw(sealed_for(messages[0], other.sealing, a.key))
        for message in messages:
            post.sealed(message)

    wait_until(lambda: b.received_hashes(case_id) == a.own_hashes(case_id))
    [(reason, record)] = dead_letters(b, expected=1)
    assert reason.startswith("sealed-to-another: sealed to key ")
    assert dict(record.headers)["source-offset"] == str(offset).encode()
    assert inbox.dead == 1 and inbox.applied == len(messages)
