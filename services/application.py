"""The application: commands in, new versions out.

Local steps come from the agency's own users; received facts come from the
partner's messages. Both end in `Case.record`, and both are saved with
optimistic concurrency on the case version, so no update is lost.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from copy import deepcopy
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Cache, ProcessingEvent
from eventsourcing.cipher import Cipher
from eventsourcing.persistence import IntegrityError, Mapper, Recording
from eventsourcing.utils import get_topic

from events import casework
from events.audit import Break, verify_chain
from events.case import Approval, Case, CaseEvent
from events.deadlines import Deadlines
from events.rules import RuleViolation
from events.step import Step
from events.steps import BY_MESSAGE_TYPE, STEPS, CaseOpened, OpenCase, open_case, open_received
from events.steps.erasure import CaseErased
from events.values import Actor, Received
from services.clock import Clock, SystemClock
from services.commits import Commits
from services.erasure.keys import CaseKeys, MemoryCaseKeys
from services.erasure.mapper import PersonalDataErased, PersonalDataMapper
from services.logs.events import operational

# The per-case key table beside the store the environment names, wrapped by the node's cipher.
KeysFor = Callable[[Mapping[str, str], Cipher | None], CaseKeys]
IN_MEMORY = ("", "eventsourcing.popo")  # eventsourcing's default store, in memory


def keys_in_memory(env: Mapping[str, str], wrap: Cipher | None) -> CaseKeys:
    """The case keys of a store in memory, which live and die with it. A store on disk
    keeps them beside it, in the table its backend gives (services/backends/)."""
    if env.get("PERSISTENCE_MODULE", "") not in IN_MEMORY:
        raise ValueError("a store on disk needs its per-case key table (keys_for)")
    return MemoryCaseKeys(wrap)

RETRIES = 20  # attempts of a step whose save lost a race with another writer of the case
# Cases kept in memory between commands: a command reads only the events saved since
# (eventsourcing's fast-forward), not the whole stream. Another process's events are
# read the same way, so replicas stay exact; the version check settles their races.
CACHED_CASES = "1000"


class CaseNotFound(Exception):
    pass


class UnknownStep(Exception):
    pass


class VersionMismatch(Exception):
    """The case moved on since the version the caller saw (If-Match, or a race)."""


class OutOfSequence(Exception):
    """A partner's message arrived ahead of its predecessor; hold it."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"expected sequence {expected}, got {got}")
        self.expected, self.got = expected, got


class Homeward(Application[UUID]):
    name = "homeward"
    env = {"AGGREGATE_CACHE_MAXSIZE": CACHED_CASES}  # the environment may say otherwise

    keys: CaseKeys

    def __init__(self, env: Mapping[str, str], clock: Clock | None = None,
                 keys_for: KeysFor = keys_in_memory) -> None:
        self._keys_for = keys_for
        super().__init__(env=env)
        self.clock = clock or SystemClock()
        # One writer of a case at a time in this process (the API's threads and the inbox);
        # another process (a replica) is settled by the version check and a retry.
        self._case_locks: dict[UUID, threading.RLock] = {}
        self._locks_lock = threading.Lock()
        # What else holds traces of a case's personal data, told of its erasure (the API's
        # idempotency records): called once the key is destroyed.
        self.on_erasure: list[Callable[[UUID], None]] = []
        self.commits = Commits()  # in this process; another's are found by polling

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        # A partner's fact makes nothing to send (`codec.is_exported`): the relay passes it
        # with the node's next own commit or look at the store (`Relay.run`), not woken.
        if any(getattr(r.domain_event, "received", None) is None for r in recordings):
            self.commits.committed()

    def serialised(self, case_id: UUID) -> threading.RLock:
        with self._locks_lock:
            return self._case_locks.setdefault(case_id, threading.RLock())

    def construct_mapper(self) -> Mapper[UUID]:
        """Events are stored with each case's personal fields under the case's own key."""
        mapper = super().construct_mapper()
        self.keys = self._keys_for(self.env, mapper.cipher)
        return PersonalDataMapper.around(mapper, self.keys)

    def close(self) -> None:
        super().close()
        self.keys.close()

    def open_case(self, body: OpenCase, actor: Actor, deadlines: Deadlines | None = None,
                  transferred_from: UUID | None = None) -> Case:
        """Open a case on its corridor's deadlines (the reflection period's length)."""
        reflection = (deadlines or Deadlines()).reflection_period
        case = open_case(body, actor, self.clock.now(), reflection, transferred_from)
        try:
            self.save(case)
        except IntegrityError:
            raise VersionMismatch(f"case {case.id} already exists") from None
        _keep(self, case)
        return case

    def record(
        self, case_id: UUID, path: str, data: Mapping[str, Any], actor: Actor,
        expected_version: int | None = None,
    ) -> Case:
        step = STEPS.get(path)
        if step is None:
            raise UnknownStep(path)
        with self.serialised(case_id):
            return _record_step(self, case_id, step, data, actor, expected_version)

    # -- the agency's casework (events/casework.py): never crossing ---------------------

    def assign(self, case_id: UUID, body: casework.Assign, actor: Actor) -> Case:
        return self._change(case_id, lambda case: casework.assign(
            case, body, actor, self.clock.now()))

    def request_approval(self, case_id: UUID, body: casework.ApprovalRequest,
                         actor: Actor) -> tuple[Case, str]:
        """Ask a supervisor for a step. The step as asked must pass its rules now, with a
        supervisor's authority (else refused with the rule's code, nothing recorded)."""
        step = STEPS.get(body.step)
        if step is None or step.automatic:
            raise UnknownStep(body.step)
        data = step.body.model_validate(body.body).model_dump(mode="json", exclude_none=True)
        asked: list[str] = []

        def request(case: Case) -> None:
            probe = self.case(case_id)  # a copy: the step tried as if approved, then dropped
            probe.record(step, data, Actor(actor.agency, actor.sub, actor.roles,
                                           approved_by="(pending)"), self.clock.now())
            asked[:] = [casework.request_approval(case, step, data, body.reason, actor,
                                                  self.clock.now())]

        return self._change(case_id, request), asked[0]

    def decide_approval(self, case_id: UUID, request_id: str, decision: casework.Decision,
                        actor: Actor) -> tuple[Case, Approval]:
        """A supervisor's decision; an approval records the step too, in the same save, as
        the requester's with the approver's authority, its rules checked now."""
        decided: list[Approval] = []

        def decide(case: Case) -> None:
            request = casework.decide(case, request_id, decision, actor, self.clock.now())
            if decision.decision == "approved":
                data = casework.asked_body(self.timeline(case_id), request_id)
                case.record(STEPS[request.step], data,
                            casework.requester(case, request, actor), self.clock.now())
            decided[:] = [request]

        return self._change(case_id, decide), decided[0]

    def asked(self, case_id: UUID, request_id: str) -> dict[str, Any]:
        return casework.asked(self.timeline(case_id), request_id)

    def _change(self, case_id: UUID, change: Callable[[Case], None]) -> Case:
        """Change the case as it is now under its lock, saved with a retry on a race."""
        with self.serialised(case_id):
            for attempt in range(RETRIES):
                case = self.case(case_id)
                change(case)
                try:
                    self._save(case)
                    return case
                except VersionMismatch:
                    if attempt == RETRIES - 1:
                        raise
        raise AssertionError("unreachable")

    def receive(
        self, case_id: UUID, message_type: str, payload: Mapping[str, Any], received: Received,
    ) -> Case | None:
        """Record a partner's fact once; None if it was already recorded."""
        with self.serialised(case_id):
            return self._receive_fact(case_id, message_type, payload, received)

    def _receive_fact(
        self, case_id: UUID, message_type: str, payload: Mapping[str, Any], received: Received,
    ) -> Case | None:
        at = self.clock.now()
        kept = _kept(self.repository.cache, case_id)
        if kept is not None:  # tried on the kept case itself first, as a step is
            try:
                # The kept case is now the saved one; the caller reads on in a copy.
                return deepcopy(kept) if _fact_recorded(self, kept, message_type, payload,
                                                        received, at) else None
            except BaseException as error:
                # Changed in part, or behind the store (another process's fact since, the
                # predecessor this one seems to lack): judged again on the case as stored.
                self.forget_cached(case_id)
                if not isinstance(error, RuleViolation | PersonalDataErased | VersionMismatch
                                  | OutOfSequence):
                    raise
        try:
            case = self.case(case_id)
        except CaseNotFound:
            if message_type != "case-opened" or received.sequence != 1:
                raise
            case = open_received(case_id, dict(payload), received, at)
            self._save(case)
            return case
        return case if _fact_recorded(self, case, message_type, payload, received, at) else None

    def case(self, case_id: UUID, version: int | None = None) -> Case:
        """The case (a copy the caller may change), at `version` or as it is now."""
        try:
            if version is not None:
                case: Case = self.repository.get(case_id, version=version)
                return case
            # Under the case's lock: the cached case is brought forward and copied by one
            # thread at a time, never copied while another thread moves it on.
            with self.serialised(case_id):
                case = self.repository.get(case_id)
                return case
        except AggregateNotFoundError:
            raise CaseNotFound(str(case_id)) from None

    def case_at(self, case_id: UUID, at: datetime) -> Case:
        version = None
        for event in self.timeline(case_id):
            if event.timestamp > at:
                break
            version = event.originator_version
        if version is None:
            raise CaseNotFound(f"{case_id} did not exist at {at.isoformat()}")
        return self.case(case_id, version)

    def timeline(self, case_id: UUID) -> list[CaseEvent]:
        events = [e for e in self.repository.event_store.get(case_id) if isinstance(e, CaseEvent)]
        if not events:
            raise CaseNotFound(str(case_id))
        return events

    def verify(self, case_id: UUID) -> list[Break]:
        return verify_chain(self.timeline(case_id))

    def case_ids(self, page: int = 500) -> Iterator[UUID]:
        """Every case this agency holds, in the order its stream began."""
        topics, last = [get_topic(CaseOpened)], 0
        while batch := self.recorder.select_notifications(
            start=last, limit=page, topics=topics, inclusive_of_start=False
        ):
            for notification in batch:  # eventsourcing's recorders give a UUID already
                yield n if type(n := notification.originator_id) is UUID else UUID(str(n))
            last = batch[-1].id

    def _save(self, case: Case) -> None:
        erasure = next((e for e in case.pending_events if isinstance(e, CaseErased)), None)
        if erasure is not None:
            # The key goes first: a crash before the event is saved leaves the data erased
            # and the step to record again, never the step recorded and the data readable.
            self.keys.destroy(case.id, erasure.timestamp)
            self.forget_cached(case.id)
            for forget in self.on_erasure:
                forget(case.id)
        try:
            _saved(self, case)
        except IntegrityError:
            raise VersionMismatch("the case was changed at the same time; try again") from None
        if erasure is not None:  # the case's id only: its key, and so its data, are gone
            operational("erasure done", case=str(case.id), version=case.version)
        else:
            _keep(self, case)

    def save_together(self, *cases: Case) -> None:
        """Cases changed together (a transfer's old and new case): one transaction, so
        both are saved or neither. No erasure among them."""
        assert not any(isinstance(e, CaseErased) for c in cases for e in c.pending_events)
        try:
            _saved(self, *cases)
        except IntegrityError:
            raise VersionMismatch("a case was changed at the same time; try again") from None
        for case in cases:
            _keep(self, case)

    def forget_cached(self, case_id: UUID) -> None:
        """Drop the case's copy in memory (its personal data, on erasure)."""
        cache = self.repository.cache
        if cache is not None:
            with self.serialised(case_id), contextlib.suppress(KeyError):
                cache.get(case_id, evict=True)


def _record_step(
    app: Homeward, case_id: UUID, step: Step, data: Mapping[str, Any], actor: Actor,
    expected_version: int | None,
) -> Case:
    kept = _kept(app.repository.cache, case_id)
    for attempt in range(RETRIES):
        on_kept = kept is not None and attempt == 0
        case = kept if on_kept and kept is not None else app.case(case_id)
        try:
            if expected_version is not None and case.version != expected_version:
                raise VersionMismatch(f"case is at version {case.version}, "
                                      f"not {expected_version}")
            case.record(step, data, actor, app.clock.now())
            app._save(case)
            # The kept case is now the saved one; the caller reads on in a copy.
            return deepcopy(case) if on_kept else case
        except BaseException as error:
            if on_kept:  # changed in part, or behind the store: read again from it
                app.forget_cached(case_id)
            # Without If-Match, a partner's fact that landed meanwhile is no reason to fail.
            if not isinstance(error, RuleViolation | PersonalDataErased | VersionMismatch) \
                    or (not on_kept and (not isinstance(error, VersionMismatch)
                                         or expected_version is not None
                                         or attempt == RETRIES - 1)):
                raise
    raise AssertionError("unreachable")


def _fact_recorded(app: Homeward, case: Case, message_type: str, payload: Mapping[str, Any],
                   received: Received, at: datetime) -> bool:
    """The partner's fact recorded on `case` and saved; False if it was recorded before."""
    if received.message_id in case.message_ids:
        return False
    last = case.last_sequence.get(received.sender, 0)
    if received.sequence <= last:
        return False
    if received.sequence > last + 1:
        raise OutOfSequence(last + 1, received.sequence)
    step = _step_for_message(message_type)
    case.record(step, payload, Actor(received.sender, received.sender), at, received)
    app._save(case)
    return True


def _saved(app: Homeward, *cases: Case) -> list[Recording[UUID]]:
    """`app.save(*cases)`, each case's events collected as eventsourcing collects an
    aggregate's, without its two checks of each object against typing protocols (which
    walk the protocols' attributes at every save)."""
    processing = ProcessingEvent[UUID]()
    for case in cases:
        processing.events.extend(case.collect_events())
        processing.aggregates[case.id] = case
    recordings = app._record(processing)
    app._take_snapshots(processing)
    app._notify(recordings)
    app.notify(processing.events)
    return recordings


def _kept(cache: Cache[UUID, Any] | None, case_id: UUID) -> Case | None:
    """The case kept in memory, if it is (the caller holds the case's lock): a step is
    tried on it itself first, without asking the store; one that fails on it in any way
    drops it, so the next command reads the case as stored. Another process's event since
    shows as a newer version at the save, or as a refusal: the step is judged again."""
    try:
        return cache.get(case_id) if cache is not None else None
    except KeyError:
        return None


def _keep(app: Homeward, case: Case) -> None:
    """The case as just saved becomes the one kept in memory (a copy: the caller's may be
    changed or read on), so the next command reads no event back from the store."""
    cache = app.repository.cache
    if cache is None:
        return
    with app.serialised(case.id):
        try:
            kept: Any = cache.get(case.id)
        except KeyError:
            kept = None
        if kept is None or kept.version < case.version:
            cache.put(case.id, deepcopy(case))


def _step_for_message(message_type: str) -> Step:
    step = BY_MESSAGE_TYPE.get(message_type)
    if step is None or not step.shared:
        raise UnknownStep(message_type)
    return step
