"""The relay is woken by a commit of its own application rather than finding it by
polling; polling stays, for what another process commits to the same store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from uuid import UUID

import pytest

from services.application import CaseNotFound
from services.clock import SystemClock
from services.commits import Commits
from services.network.demo_cases import Walk, repatriation
from tests.harness.exchange_nodes import Node, open_case, wait_until
from tests.harness.stores import homeward
from tests.harness.walks import actor

NEVER = 60.0  # a polling interval no test waits for


def test_a_commit_wakes_whoever_waits_for_one() -> None:
    commits = Commits()
    seen = commits.count
    assert commits.wait(seen, 0.05) is False  # nothing committed: the timeout
    threading.Timer(0.05, commits.committed).start()
    began = time.monotonic()
    assert commits.wait(seen, NEVER) is True
    assert time.monotonic() - began < 5
    assert commits.wait(seen, 0.01) is True  # already past `seen`: no wait


def version_at(node: Node, case_id: UUID) -> int:
    try:
        return node.app.case(case_id).version
    except CaseNotFound:
        return 0


@contextmanager
def relaying(a: Node, b: Node, idle: float) -> Iterator[tuple[Walk, UUID]]:
    """`b` reading its inbox and `a`'s relay running, waking by itself every `idle` s at
    the most, until the block ends; a repatriation opened at `a`: the story and its case."""
    b.start_inbox()
    stop = threading.Event()
    threading.Thread(target=a.exchange().relay.run, args=(stop, idle), daemon=True).start()
    try:
        story = repatriation(datetime.now(UTC).date(), receiving=b.agency)
        yield story, open_case(a, b, story.opening)
    finally:
        stop.set()


@pytest.mark.kafka
def test_a_step_leaves_at_once_though_the_relay_would_not_poll_for_a_minute(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    with relaying(a, b, idle=NEVER) as (story, case_id):
        moves = [m for m in story.moves if m.side.value == "referring"][:3]
        for move in moves:  # consent, referral, and a step after it
            began = time.monotonic()
            a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
            version = a.app.case(case_id).version
            if move.path == "consent":
                continue  # it crosses with the referral
            wait_until(lambda v=version: version_at(b, case_id) >= v, timeout=20)  # type: ignore[misc]
            assert time.monotonic() - began < 20 < NEVER


@pytest.mark.kafka
def test_a_commit_by_another_process_is_found_by_polling(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    # Another process's application on the same store: its commits wake nobody here.
    other = homeward(a.app.env, SystemClock())
    try:
        with relaying(a, b, idle=0.05) as (story, case_id):
            for move in story.moves[:2]:  # consent and referral, by the other writer
                other.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
            assert a.app.commits.count == 1  # the opening only
            wait_until(lambda: version_at(b, case_id) >= 3, timeout=20)
    finally:
        other.close()


@pytest.mark.kafka
def test_a_partners_fact_wakes_no_relay_and_is_passed_with_the_next_own_step(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    a.start_inbox()
    with relaying(a, b, idle=NEVER) as (story, case_id):
        stop = threading.Event()
        relay = b.exchange().relay
        threading.Thread(target=relay.run, args=(stop, NEVER), daemon=True).start()
        try:
            first_own = next(i for i, m in enumerate(story.moves) if m.side.value == "receiving")
            for move in story.moves[:first_own]:
                a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
            wait_until(lambda: version_at(b, case_id) >= version_at(a, case_id), timeout=20)
            assert b.app.commits.count == 0  # facts only: nothing to send, no relay woken
            time.sleep(0.2)
            assert relay.lag() > 0  # not polling: the facts wait for a step of its own
            began, move = time.monotonic(), story.moves[first_own]
            b.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
            assert b.app.commits.count == 1
            wait_until(lambda: version_at(a, case_id) >= version_at(b, case_id), timeout=20)
            assert time.monotonic() - began < 20 < NEVER
            wait_until(lambda: relay.lag() == 0, timeout=20)  # the facts passed with it
        finally:
            stop.set()
