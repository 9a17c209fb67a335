"""Storing events with their personal fields sealed under the case's own key.

What is stored of a case event: everything as before, except that the values of its
personal fields and their salts (events.event.CaseEvent.commitments names the fields)
leave `data` and travel as one AES-GCM ciphertext under the case's key, bound to the
case and version. Read back with the key, the event is whole again; once the key is
destroyed each personal field reads as `ERASED` and the salts are gone, while the
commitments, which the chain hashes, stay. The node's cipher then encrypts the whole,
as it encrypts every event.
"""

from __future__ import annotations

import json
import os
from base64 import b64decode, b64encode
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any, cast
from uuid import UUID

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.cryptography import AESCipher
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import Environment, resolve_topic

from events.chain import ERASED
from events.event import CaseEvent
from services.erasure.keys import CaseKeys
from services.erasure.store_cipher import StoreCipher
from services.stored_topics import TOPIC, KeptHome, NeutralTopicMapper

SEALED = "sealed_personal"  # the stored attribute that holds the ciphertext
NONCE_BYTES = 12
KEPT_HOME = f"{KeptHome.__module__}:{KeptHome.__qualname__}"
TAG = b'"_type_"'  # how the transcoder marks a value it encoded (a time, an id...)


class PersonalDataErased(Exception):
    """Personal data was to be written for a case whose key is destroyed."""


class MissingCaseKey(Exception):
    """A case's key is neither there nor erased: the key table was lost, not the data."""


class PersonalDataMapper(NeutralTopicMapper):
    """Also stores the steps that never leave the agency under a neutral topic."""

    keys: CaseKeys

    @classmethod
    def around(cls, mapper: Mapper[UUID], keys: CaseKeys) -> PersonalDataMapper:
        sealing = cls(mapper.transcoder, mapper.compressor, mapper.cipher)
        sealing.keys = keys
        return sealing

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if not isinstance(domain_event, CaseEvent) or not domain_event.salts:
            return super().to_stored_event(domain_event)
        event = domain_event
        key = self.keys.key(event.originator_id, create=True)
        if key is None:
            raise PersonalDataErased(f"case {event.originator_id} was erased")
        salts = event.salts
        assert salts is not None
        state = dict(vars(event))
        state["data"] = {k: v for k, v in event.data.items() if k not in salts}
        state["salts"] = None
        personal = {"data": {k: event.data[k] for k in salts}, "salts": salts}
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, json.dumps(personal).encode(),
                                     _bound(event.originator_id, event.originator_version))
        state[SEALED] = b64encode(nonce + sealed).decode()
        stored: Any = object.__new__(type(event))
        object.__setattr__(stored, "__dict__", state)
        return super().to_stored_event(stored)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return self._read(stored_event, with_personal=True)

    def without_personal(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """The event with each personal field read as `ERASED`, its case key not looked up
        nor its personal data decrypted: what read models fold, which keep nothing personal.
        A case event's row whose only transcoded value is its time is read with the
        standard library's JSON alone (`_plain`); any other row as the transcoder reads it."""
        event = self._plain(stored_event)
        return event if event is not None else self._read(stored_event, with_personal=False)

    def _plain(self, stored: StoredEvent) -> DomainEventProtocol[UUID] | None:
        plain = self.decrypt(stored.state) if self.cipher else stored.state
        if self.compressor is not None:
            plain = self.compressor.decompress(plain)
        if plain.count(TAG) != 1:
            return None
        try:
            state = orjson.loads(plain)
        except orjson.JSONDecodeError:  # what orjson refuses, the transcoder's reading says
            return None
        at = state.get("timestamp")
        if type(at) is not dict or at.get("_type_") != "datetime_iso" or len(at) != 2 \
                or "class_version" in state:
            return None
        topic = state.pop(TOPIC, None) if stored.topic == KEPT_HOME else stored.topic
        cls = _case_event(topic) if isinstance(topic, str) else None
        if cls is None:
            return None
        state["timestamp"] = datetime.fromisoformat(at["_data_"])
        case_id = stored.originator_id
        state["originator_id"] = case_id if type(case_id) is UUID else UUID(str(case_id))
        state["originator_version"] = stored.originator_version
        if state.pop(SEALED, None) is not None:
            state["data"] = {**state["data"],
                             **{name: ERASED for name in state.get("commitments") or {}}}
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return cast(DomainEventProtocol[UUID], event)

    @cached_property
    def decrypt(self) -> Callable[[bytes], bytes]:
        """The node's cipher's decryption, its AES-GCM key set up once, not at each row
        (`StoreCipher`), also where the environment names eventsourcing's `AESCipher`, which
        makes one per call. Another cipher decrypts as it does."""
        assert self.cipher is not None
        if type(self.cipher) is AESCipher:
            key = b64encode(self.cipher.key).decode()
            return StoreCipher(Environment(env={StoreCipher.CIPHER_KEY: key})).decrypt
        return self.cipher.decrypt

    def _read(self, stored_event: StoredEvent, with_personal: bool) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        state = cast(dict[str, Any], vars(event))
        if SEALED not in state:
            return event
        sealed = b64decode(state.pop(SEALED))
        case_id = cast(UUID, event.originator_id)
        commitments = state.get("commitments") or {}
        if not with_personal:
            state["data"] = {**state["data"], **{name: ERASED for name in commitments}}
            return event
        personal = self.open_sealed(case_id, cast(CaseEvent, event).originator_version, sealed)
        if personal is None:
            state["data"] = {**state["data"], **{name: ERASED for name in commitments}}
            return event
        state["data"] = {**state["data"], **personal["data"]}
        state["salts"] = personal["salts"]
        return event

    def open_sealed(self, case_id: UUID, version: int, sealed: bytes) -> dict[str, Any] | None:
        """An event's sealed personal data and salts, opened; None once the case is erased."""
        return SealedOpener(self.keys, case_id)(version, sealed)


class SealedOpener:
    """Opens the sealed personal data of one case's events, read together (the audit reads
    a case's whole chain): its key is looked up, and its cipher made, once, at the first."""

    def __init__(self, keys: CaseKeys, case_id: UUID) -> None:
        self.keys, self.case_id = keys, case_id
        self._cipher: AESGCM | None = None
        self._erased = False
        self._binding = ""  # what each ciphertext is bound to, but its version (`_bound`)

    def __call__(self, version: int, sealed: bytes) -> dict[str, Any] | None:
        """The event's personal data and salts, opened; None once the case is erased."""
        if self._cipher is None and not self._erased:
            key = self.keys.key(self.case_id)
            if key is None and not self.keys.erased(self.case_id):
                raise MissingCaseKey(f"case {self.case_id} has sealed personal data but no key "
                                     "row: was the store restored without its key table?")
            self._cipher, self._erased = (AESGCM(key), False) if key else (None, True)
            self._binding = _binding(self.case_id)
        if self._cipher is None:
            return None
        plain = self._cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:],
                                     f"{self._binding}{version}".encode())
        return cast(dict[str, Any], orjson.loads(plain))


_CLASSES: dict[str, type[CaseEvent] | None] = {}


def _case_event(topic: str) -> type[CaseEvent] | None:
    """The case event class a topic names (None: no case event, or not one known here)."""
    if topic not in _CLASSES:
        try:
            cls = resolve_topic(topic)
        except Exception:  # an unknown topic: the transcoder's reading says what it is
            cls = None
        _CLASSES[topic] = cls if isinstance(cls, type) and issubclass(cls, CaseEvent) \
            and getattr(cls, "class_version", 1) == 1 else None
    return _CLASSES[topic]


def _bound(case_id: UUID, version: int) -> bytes:
    """What the ciphertext is bound to: it opens only as this version of this case."""
    return f"{_binding(case_id)}{version}".encode()


def _binding(case_id: UUID) -> str:
    """The part of `_bound` a case's events share (an opener makes it once a case)."""
    return f"{case_id}/"
