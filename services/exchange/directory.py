"""The trust directory: which agencies exist, their public keys, and the corridors.

A JSON file (HOMEWARD_DIRECTORY, by default `directory.json` in the data dir):

    {"agencies": {"XA-NRM": {"keys": [{"public_key": "<base64, 32 raw bytes>",
                                       "key_id": "XA-NRM-...", "not_before": "<RFC 3339>",
                                       "not_after": "<RFC 3339>"}, ...],
                             "sealing_key": "<base64, 32 raw bytes>", "sealing_key_id": "..."}},
     "corridors": [{"referring": "XA-NRM", "receiving": "XB-NRM", "deadlines": {...}}],
     "monitor": {"sealing_key": "<base64>", "sealing_key_id": "monitor-sealing-..."}}

Each of `keys` verifies what the agency signs with it between `not_before` and `not_after`
(either may be left out), so an agency rotates its key by listing the new one before it
signs with it and ending the old one's validity later: messages in flight under either
key stay valid. A file of the older form (`public_key`, `key_id`: one key, always valid)
still reads. Sealing keys (X25519), what payloads to the agency are sealed to, rotate the
same way: `sealing_keys` lists each (`sealing_key`, `sealing_key_id`, `not_before`,
`not_after`), senders seal to the newest valid one, and the agency keeps an older one's
private half until its `not_after` (services/exchange/sealing_keys.py), then destroys it;
the older form (`sealing_key`, `sealing_key_id`: one key, always valid) still reads. The
monitor signs nothing: it lists sealing keys only (`monitor`, or `monitor_keys` once
rotated). `url` (optional) is where the agency's node answers its partners' chain reads
(the cross-check): an https:// address, http:// only on loopback (127.0.0.1, ::1,
localhost) for development; a directory listing any other is refused whole, naming the
agency.

Operators exchange it out of band; the inbox trusts nothing that is not in it.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from events.deadlines import Deadlines
from events.values import AGENCY_CODE
from services.settings import in_the_clear
from services.signing import SealingKey, SigningKey, public_key, sealing_public_key

DIRECTORY_FILE = "directory.json"


class Sealing(BaseModel):
    """Where payloads to someone are sealed to: an X25519 public key and its id."""

    model_config = ConfigDict(extra="forbid")

    sealing_key: str = Field(min_length=40)
    sealing_key_id: str = Field(min_length=1, max_length=200)

    @property
    def public(self) -> X25519PublicKey:
        return sealing_public_key(self.sealing_key)


class ListedSealing(Sealing):
    """One of the sealing keys listed for someone, and when payloads may be sealed to it."""

    not_before: datetime | None = None
    not_after: datetime | None = None

    def valid(self, at: datetime) -> bool:
        return ((self.not_before is None or at >= self.not_before)
                and (self.not_after is None or at <= self.not_after))


def newest_valid(listed: list[ListedSealing], at: datetime | None) -> Sealing | None:
    """What to seal to now: of the keys valid at `at`, the one that became valid last (a
    key without `not_before` counts as the oldest; among equals, the last listed)."""
    now = at or datetime.now(UTC)
    valid = [(k.not_before or datetime.min.replace(tzinfo=UTC), i, k)
             for i, k in enumerate(listed) if k.valid(now)]
    if not valid:
        return None
    newest = max(valid, key=lambda v: (v[0], v[1]))[2]
    return Sealing(sealing_key=newest.sealing_key, sealing_key_id=newest.sealing_key_id)


def rotated(listed: list[ListedSealing], key: SealingKey, old_until: datetime,
            since: datetime | None) -> list[ListedSealing]:
    """`listed` with `key` added, valid from `since`, and the others ending by `old_until`."""
    old = [k if k.not_after is not None and k.not_after < old_until
           else k.model_copy(update={"not_after": old_until})
           for k in listed if k.sealing_key_id != key.key_id]
    new = ListedSealing(sealing_key=key.public_b64, sealing_key_id=key.key_id, not_before=since)
    return [*old, new]


KeyStatus = Literal["valid", "unknown-agency", "unknown-key", "not-yet-valid", "expired"]


class PublicKey(BaseModel):
    """One key an agency signs with, and when it may."""

    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(min_length=40)
    key_id: str = Field(min_length=1, max_length=200)
    not_before: datetime | None = None
    not_after: datetime | None = None

    def status(self, at: datetime) -> KeyStatus:
        if self.not_before is not None and at < self.not_before:
            return "not-yet-valid"
        if self.not_after is not None and at > self.not_after:
            return "expired"
        return "valid"


class Agency(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: str | None = Field(default=None, min_length=40)  # the older, one-key form
    key_id: str | None = Field(default=None, min_length=1, max_length=200)
    keys: list[PublicKey] = Field(default_factory=list)
    sealing_key: str | None = Field(default=None, min_length=40)  # the older, one-key form
    sealing_key_id: str | None = Field(default=None, min_length=1, max_length=200)
    sealing_keys: list[ListedSealing] = Field(default_factory=list)
    # Where its node answers its partners (the chain view a cross-check reads).
    url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=500)

    @field_validator("url")
    @classmethod
    def _not_in_the_clear(cls, url: str | None) -> str | None:
        # A partner's token and the chain it reads would cross the network readable.
        if url is not None and in_the_clear(url):
            raise ValueError(f"url must be https:// (http:// only on loopback: 127.0.0.1, "
                             f"::1, localhost), not {url!r}")
        return url

    @model_validator(mode="after")
    def _some_key(self) -> Agency:
        if (self.public_key is None) != (self.key_id is None):
            raise ValueError("public_key and key_id go together")
        if self.public_key is None and not self.keys:
            raise ValueError("an agency needs a key to verify what it signs")
        return self

    @property
    def signing_keys(self) -> list[PublicKey]:
        single = ([PublicKey(public_key=self.public_key, key_id=self.key_id)]
                  if self.public_key is not None and self.key_id is not None else [])
        return [*self.keys, *single]

    @property
    def listed_sealing(self) -> list[ListedSealing]:
        single = ([ListedSealing(sealing_key=self.sealing_key,
                                 sealing_key_id=self.sealing_key_id)]
                  if self.sealing_key is not None and self.sealing_key_id is not None else [])
        return [*single, *self.sealing_keys]

    def sealing(self, at: datetime | None = None) -> Sealing | None:
        return newest_valid(self.listed_sealing, at)


class Corridor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referring: str = Field(pattern=AGENCY_CODE.pattern)
    receiving: str = Field(pattern=AGENCY_CODE.pattern)
    deadlines: Deadlines | None = None


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agencies: dict[str, Agency] = Field(default_factory=dict)
    corridors: list[Corridor] = Field(default_factory=list)
    monitor: Sealing | None = None  # the older, one-key form
    monitor_keys: list[ListedSealing] = Field(default_factory=list)

    def key(self, agency: str, key_id: str, at: datetime | None = None
            ) -> Ed25519PublicKey | None:
        """The agency's public key with that id, if the directory lists it (and, given `at`,
        as valid then: admission asks for now; a signature checked later, say of an export,
        was made while the key was valid)."""
        if at is None:
            entry = self.agencies.get(agency)
            found = next((k for k in entry.signing_keys if k.key_id == key_id), None) \
                if entry is not None else None
            return public_key(found.public_key) if found is not None else None
        status, hit = self._find(agency, key_id, at)
        return public_key(hit.public_key) if hit is not None and status == "valid" else None

    def key_status(self, agency: str, key_id: str, at: datetime | None = None) -> KeyStatus:
        return self._find(agency, key_id, at or datetime.now(UTC))[0]

    def _find(self, agency: str, key_id: str, at: datetime) -> tuple[KeyStatus, PublicKey | None]:
        entry = self.agencies.get(agency)
        if entry is None:
            return "unknown-agency", None
        candidates = [k for k in entry.signing_keys if k.key_id == key_id]
        if not candidates:
            return "unknown-key", None
        statuses = [(k.status(at), k) for k in candidates]
        return next((s for s in statuses if s[0] == "valid"), statuses[0])

    def sealing(self, recipient: str, at: datetime | None = None) -> Sealing | None:
        """Where a payload to `recipient` (an agency, or `monitor`) is sealed to, if listed:
        the newest of its sealing keys valid now (or at `at`)."""
        if recipient == "monitor":
            single = ([ListedSealing(**self.monitor.model_dump())]
                      if self.monitor is not None else [])
            return newest_valid([*single, *self.monitor_keys], at)
        entry = self.agencies.get(recipient)
        return entry.sealing(at) if entry is not None else None

    def corridor(self, referring: str, receiving: str) -> Corridor | None:
        for corridor in self.corridors:
            if (corridor.referring, corridor.receiving) == (referring, receiving):
                return corridor
        return None

    def with_agency(self, key: SigningKey) -> Directory:
        known = self.agencies.get(key.agency)
        entry = Agency(public_key=key.public_b64, key_id=key.key_id,
                       sealing_key=key.sealing.public_b64, sealing_key_id=key.sealing.key_id,
                       url=known.url if known is not None else None)
        return self.model_copy(update={"agencies": {**self.agencies, key.agency: entry}})

    def with_url(self, agency: str, url: str) -> Directory:
        entry = Agency.model_validate({**self.agencies[agency].model_dump(), "url": url})
        return self.model_copy(update={"agencies": {**self.agencies, agency: entry}})

    def url(self, agency: str) -> str | None:
        entry = self.agencies.get(agency)
        return entry.url if entry is not None else None

    def with_rotated_key(self, key: SigningKey, old_until: datetime,
                         since: datetime | None = None) -> Directory:
        """The agency's new signing key listed beside its earlier ones, which stay valid
        until `old_until` (messages signed before the rotation are still in flight)."""
        entry = self.agencies[key.agency]
        old = [k if k.not_after is not None and k.not_after < old_until
               else k.model_copy(update={"not_after": old_until})
               for k in entry.signing_keys if k.key_id != key.key_id]
        new = PublicKey(public_key=key.public_b64, key_id=key.key_id, not_before=since)
        rotated = entry.model_copy(update={"public_key": None, "key_id": None,
                                           "keys": [*old, new]})
        return self.model_copy(update={"agencies": {**self.agencies, key.agency: rotated}})

    def with_rotated_sealing_key(self, key: SealingKey, old_until: datetime,
                                 since: datetime | None = None) -> Directory:
        """`key` (an agency's, or the monitor's) listed as the one to seal to from `since`,
        beside the earlier ones, which stay listed until `old_until`: their owner keeps
        the private halves as long, to open what is already sealed to them."""
        if key.owner == "monitor":
            single = ([ListedSealing(**self.monitor.model_dump())]
                      if self.monitor is not None else [])
            listed = rotated([*single, *self.monitor_keys], key, old_until, since)
            return self.model_copy(update={"monitor": None, "monitor_keys": listed})
        entry = self.agencies[key.owner]
        listed = rotated(entry.listed_sealing, key, old_until, since)
        changed = entry.model_copy(update={"sealing_key": None, "sealing_key_id": None,
                                           "sealing_keys": listed})
        return self.model_copy(update={"agencies": {**self.agencies, key.owner: changed}})

    def with_monitor(self, key: SealingKey) -> Directory:
        monitor = Sealing(sealing_key=key.public_b64, sealing_key_id=key.key_id)
        return self.model_copy(update={"monitor": monitor, "monitor_keys": []})

    def with_corridor(self, referring: str, receiving: str) -> Directory:
        if self.corridor(referring, receiving) is not None:
            return self
        corridor = Corridor(referring=referring, receiving=receiving)
        return self.model_copy(update={"corridors": [*self.corridors, corridor]})


def directory_path(data_dir: Path, given: Path | None = None) -> Path:
    return given if given is not None else data_dir / DIRECTORY_FILE


def load(path: Path) -> Directory:
    """The directory in the file; an absent file is an empty directory (trusts nobody)."""
    if not path.exists():
        return Directory()
    return Directory.model_validate_json(path.read_text(encoding="utf-8"))


def save(path: Path, directory: Directory) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(directory.model_dump(mode="json", exclude_none=True), indent=2))
    tmp.replace(path)  # readers see the old file or the new one, never half of one


def publish(path: Path, key: SigningKey) -> Directory:
    """Adds (or replaces) this agency's public key in a directory file; returns it."""
    directory = load(path).with_agency(key)
    save(path, directory)
    return directory


class DirectoryUnreadable(Exception):
    """The directory file cannot be read now (half written, or not valid): a passing
    state, so what needs it is tried again later, never refused for it."""


class DirectoryFile:
    """The directory as the file holds it now: re-read whenever the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._directory = Directory()

    def current(self) -> Directory:
        """The directory; DirectoryUnreadable while the file does not parse."""
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            return Directory()
        if stamp != self._stamp:
            try:
                directory = load(self.path)
            except (OSError, ValueError, ValidationError) as error:
                raise DirectoryUnreadable(
                    f"{self.path.name} cannot be read: {_reason(error)}") from None
            self._directory, self._stamp = directory, stamp
        return self._directory


def _reason(error: Exception) -> str:
    """What is wrong with the file, by field (a directory holds no secret to keep back)."""
    if not isinstance(error, ValidationError):
        return type(error).__name__
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                     for e in error.errors()[:3])
