"""The trust directory: which agencies exist, their public keys, and the corridors.

A JSON file (HOMEWARD_DIRECTORY, by default `directory.json` in the data dir):

    {"agencies": {"XA-NRM": {"public_key": "<base64, 32 raw bytes>", "key_id": "XA-NRM-...",
                             "sealing_key": "<base64, 32 raw bytes>", "sealing_key_id": "..."}},
     "corridors": [{"referring": "XA-NRM", "receiving": "XB-NRM", "deadlines": {...}}],
     "monitor": {"sealing_key": "<base64>", "sealing_key_id": "monitor-sealing-..."}}

`public_key` verifies what the agency signs; `sealing_key` (X25519) is what payloads to
the agency are sealed to. The monitor signs nothing: it lists a sealing key only.

Operators exchange it out of band; the inbox trusts nothing that is not in it.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pydantic import BaseModel, ConfigDict, Field

from events.deadlines import Deadlines
from events.values import AGENCY_CODE
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


class Agency(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(min_length=40)
    key_id: str = Field(min_length=1, max_length=200)
    sealing_key: str | None = Field(default=None, min_length=40)
    sealing_key_id: str | None = Field(default=None, min_length=1, max_length=200)
    # Where its node answers its partners (the chain view a cross-check reads).
    url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=500)

    @property
    def sealing(self) -> Sealing | None:
        if self.sealing_key is None or self.sealing_key_id is None:
            return None
        return Sealing(sealing_key=self.sealing_key, sealing_key_id=self.sealing_key_id)


class Corridor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referring: str = Field(pattern=AGENCY_CODE.pattern)
    receiving: str = Field(pattern=AGENCY_CODE.pattern)
    deadlines: Deadlines | None = None


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agencies: dict[str, Agency] = Field(default_factory=dict)
    corridors: list[Corridor] = Field(default_factory=list)
    monitor: Sealing | None = None

    def key(self, agency: str, key_id: str) -> Ed25519PublicKey | None:
        """The agency's public key, if the directory lists the agency with that key id."""
        entry = self.agencies.get(agency)
        if entry is None or entry.key_id != key_id:
            return None
        return public_key(entry.public_key)

    def sealing(self, recipient: str) -> Sealing | None:
        """Where a payload to `recipient` (an agency, or `monitor`) is sealed to, if listed."""
        if recipient == "monitor":
            return self.monitor
        entry = self.agencies.get(recipient)
        return entry.sealing if entry is not None else None

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
        entry = self.agencies[agency].model_copy(update={"url": url})
        return self.model_copy(update={"agencies": {**self.agencies, agency: entry}})

    def url(self, agency: str) -> str | None:
        entry = self.agencies.get(agency)
        return entry.url if entry is not None else None

    def with_monitor(self, key: SealingKey) -> Directory:
        monitor = Sealing(sealing_key=key.public_b64, sealing_key_id=key.key_id)
        return self.model_copy(update={"monitor": monitor})

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


class DirectoryFile:
    """The directory as the file holds it now: re-read whenever the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._directory = Directory()

    def current(self) -> Directory:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            return Directory()
        if stamp != self._stamp:
            self._directory, self._stamp = load(self.path), stamp
        return self._directory
