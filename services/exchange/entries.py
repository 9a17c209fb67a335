"""An agency's public entry in the trust directory, as operators exchange them, and what
`homeward directory` does with them: make this agency's, accept a partner's, agree a
corridor, rotate a key, and check a directory before a node relies on it.

An entry file holds one member of the network, its public halves only:

    {"agency": "XA-NRM", "url": "https://...", "keys": [...], "sealing_keys": [...]}

(the monitor's holds `sealing_keys` only). It is sent to partners out of band; they read
its fingerprints to the sender over another channel before accepting it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field

from events.deadlines import Deadlines
from events.values import AGENCY_CODE
from services.exchange.directory import Agency, Corridor, Directory, ListedSealing
from services.exchange.sealing_keys import rotate_sealing_key
from services.files import SIGNING_KEY_FILE, write_private
from services.signing import (
    SigningKey,
    load_or_create,
    load_or_create_sealing,
    unb64,
)

MONITOR = "monitor"


class Entry(BaseModel):
    """One member's public entry: an agency's keys and address, or the monitor's keys."""

    model_config = ConfigDict(extra="forbid")

    agency: str = Field(pattern=rf"^(monitor|{AGENCY_CODE.pattern.strip('^$')})$")
    listing: Agency | None = None  # None for the monitor
    monitor_keys: list[ListedSealing] = Field(default_factory=list)

    def to_file(self) -> dict[str, object]:
        listed = (self.listing.model_dump(mode="json", exclude_none=True)
                  if self.listing is not None
                  else {"sealing_keys": [k.model_dump(mode="json", exclude_none=True)
                                         for k in self.monitor_keys]})
        return {"agency": self.agency, **listed}

    @classmethod
    def from_file(cls, data: dict[str, object]) -> Entry:
        body = dict(data)
        agency = str(body.pop("agency", ""))
        if agency == MONITOR:
            keys = body.pop("sealing_keys", [])
            if body:
                raise ValueError(f"a monitor's entry holds sealing_keys only, not {sorted(body)}")
            return cls(agency=agency, monitor_keys=keys)  # type: ignore[arg-type]
        return cls(agency=agency, listing=Agency.model_validate(body))


def fingerprint(public_b64: str) -> str:
    """What operators read to each other to check a key: SHA-256 of its 32 raw bytes."""
    digest = hashlib.sha256(unb64(public_b64)).hexdigest().upper()
    return ":".join(digest[i:i + 4] for i in range(0, 32, 4))


def _period(not_before: datetime | None, not_after: datetime | None) -> str:
    start = not_before.isoformat() if not_before else "always"
    end = not_after.isoformat() if not_after else "no end"
    return f"valid {start} .. {end}"


def describe(entry: Entry) -> list[str]:
    """The entry as an operator checks it: every key with its fingerprint and validity."""
    lines = [f"{entry.agency}" + (f"  at {entry.listing.url}" if entry.listing and
                                  entry.listing.url else "")]
    if entry.listing is not None:
        for key in entry.listing.signing_keys:
            lines.append(f"  signing  {key.key_id}  {fingerprint(key.public_key)}  "
                         f"{_period(key.not_before, key.not_after)}")
    sealing = entry.listing.listed_sealing if entry.listing is not None else entry.monitor_keys
    for s in sealing:
        lines.append(f"  sealing  {s.sealing_key_id}  {fingerprint(s.sealing_key)}  "
                     f"{_period(s.not_before, s.not_after)}")
    return lines


def entry_of(directory: Directory, agency: str) -> Entry | None:
    """The entry the directory lists for `agency` (or the monitor), if any."""
    if agency == MONITOR:
        single = [ListedSealing(**directory.monitor.model_dump())] if directory.monitor else []
        keys = [*single, *directory.monitor_keys]
        return Entry(agency=MONITOR, monitor_keys=keys) if keys else None
    listing = directory.agencies.get(agency)
    return Entry(agency=agency, listing=listing) if listing is not None else None


def accepted(directory: Directory, entry: Entry) -> Directory:
    """The directory with `entry` in place of what it listed for that member."""
    if entry.listing is None:
        return directory.model_copy(update={"monitor": None, "monitor_keys": entry.monitor_keys})
    return directory.model_copy(update={"agencies": {**directory.agencies,
                                                     entry.agency: entry.listing}})


def own_entry(directory: Directory, key_dir: Path, agency: str, url: str | None) -> Entry:
    """This member's entry from its keys (made in `key_dir` on first use) and the address
    partners reach it at: what the directory lists already if it lists the current keys
    (a rotation's earlier keys are kept), else the current keys alone."""
    if agency == MONITOR:
        sealing = load_or_create_sealing(key_dir, MONITOR)
        listed = entry_of(directory, MONITOR)
        if listed is None or sealing.key_id not in {k.sealing_key_id for k in listed.monitor_keys}:
            return Entry(agency=MONITOR, monitor_keys=[ListedSealing(
                sealing_key=sealing.public_b64, sealing_key_id=sealing.key_id)])
        return listed
    key = load_or_create(key_dir, agency)
    listing = directory.agencies.get(agency)
    if listing is None or not _lists(listing, key):
        listing = directory.with_agency(key).agencies[agency]
    if url is not None:
        listing = Agency.model_validate({**listing.model_dump(), "url": url})
    return Entry(agency=agency, listing=listing)


def _lists(listing: Agency, key: SigningKey) -> bool:
    return (key.key_id in {k.key_id for k in listing.signing_keys}
            and key.sealing.key_id in {s.sealing_key_id for s in listing.listed_sealing})


def with_corridor(directory: Directory, referring: str, receiving: str,
                  deadlines: Deadlines | None = None) -> Directory:
    """The corridor agreed (its deadlines replaced when given)."""
    corridor = Corridor(referring=referring, receiving=receiving, deadlines=deadlines)
    others = [c for c in directory.corridors
              if (c.referring, c.receiving) != (referring, receiving)]
    kept = directory.corridor(referring, receiving)
    if kept is not None and deadlines is None:
        corridor = kept
    return directory.model_copy(update={"corridors": [*others, corridor]})


@dataclass(frozen=True)
class Rotation:
    kind: str  # "signing" or "sealing"
    key_id: str
    old_until: datetime
    not_after: datetime | None


def rotate(directory: Directory, key_dir: Path, agency: str, kind: str, now: datetime,
           overlap: timedelta, valid: timedelta | None) -> tuple[Directory, Rotation]:
    """A new key of `kind` in the key dir, listed from `now` (until `now + valid`), the
    earlier ones listed until `now + overlap`. A rotated sealing key's private half is
    kept as long (services/exchange/sealing_keys.py); a rotated signing key's is not
    needed: partners verify what it signed with its public half, listed until then."""
    old_until = now + overlap
    not_after = now + valid if valid is not None else None
    if agency not in directory.agencies and agency != MONITOR:
        raise ValueError(f"{agency} is not in the directory yet: run `homeward directory "
                         "init` first")
    if kind == "sealing":
        new_sealing = rotate_sealing_key(key_dir, agency, old_until)
        changed = directory.with_rotated_sealing_key(new_sealing, old_until, since=now)
        key_id = new_sealing.key_id
    elif agency == MONITOR:
        raise ValueError("the monitor signs nothing: it has sealing keys only")
    else:
        new = SigningKey(agency, Ed25519PrivateKey.generate(),
                         load_or_create_sealing(key_dir, agency))
        write_private(key_dir / SIGNING_KEY_FILE, new.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        changed = directory.with_rotated_key(new, old_until, since=now)
        key_id = new.key_id
    return _ending(changed, agency, key_id, not_after), Rotation(kind, key_id, old_until,
                                                                 not_after)


def _ending(directory: Directory, agency: str, key_id: str, not_after: datetime | None
            ) -> Directory:
    """The key `key_id` listed as valid until `not_after`."""
    if not_after is None:
        return directory

    def end(keys: list[ListedSealing]) -> list[ListedSealing]:
        return [k.model_copy(update={"not_after": not_after}) if k.sealing_key_id == key_id
                else k for k in keys]

    if agency == MONITOR:
        return directory.model_copy(update={"monitor_keys": end(directory.monitor_keys)})
    listing = directory.agencies[agency]
    listing = listing.model_copy(update={
        "keys": [k.model_copy(update={"not_after": not_after}) if k.key_id == key_id else k
                 for k in listing.keys],
        "sealing_keys": end(listing.sealing_keys)})
    return directory.model_copy(update={"agencies": {**directory.agencies, agency: listing}})


def problems(directory: Directory, now: datetime | None = None) -> list[str]:
    """What keeps the directory from serving its nodes now, one line each: an agency
    without a signing key valid now (its keys expired) or without a sealing key, a
    corridor naming an agency it does not list, a monitor without a sealing key."""
    at = now or datetime.now(UTC)
    found = []
    for code, listing in sorted(directory.agencies.items()):
        keys = listing.signing_keys
        if not any(k.status(at) == "valid" for k in keys):
            ended = [f"{k.key_id} expired at {k.not_after.isoformat()}" for k in keys
                     if k.not_after is not None and k.not_after < at]
            found.append(f"{code}: no signing key valid now" +
                         (f" ({'; '.join(ended)})" if ended else ""))
        if not listing.listed_sealing:
            found.append(f"{code}: missing sealing key: nothing can be sealed to it")
        elif listing.sealing(at) is None:
            found.append(f"{code}: no sealing key valid now (expired or not yet valid)")
    for corridor in directory.corridors:
        for side in (corridor.referring, corridor.receiving):
            if side not in directory.agencies:
                found.append(f"corridor {corridor.referring} -> {corridor.receiving}: "
                             f"{side} is not in the directory (unknown agency)")
    if (directory.monitor is not None or directory.monitor_keys) and \
            directory.sealing(MONITOR, at) is None:
        found.append("monitor: no sealing key valid now")
    return found


def show(directory: Directory) -> list[str]:
    """The whole directory, as an operator reads it."""
    lines = []
    for code in sorted(directory.agencies):
        lines += describe(Entry(agency=code, listing=directory.agencies[code]))
    monitor = entry_of(directory, MONITOR)
    if monitor is not None:
        lines += describe(monitor)
    for c in directory.corridors:
        lines.append(f"corridor {c.referring} -> {c.receiving}"
                     + (" (its own deadlines)" if c.deadlines is not None else ""))
    return lines or ["(empty: this directory trusts no one)"]


__all__ = ["Entry", "Rotation", "accepted", "describe", "entry_of", "fingerprint",
           "own_entry", "problems", "rotate", "show", "with_corridor"]
