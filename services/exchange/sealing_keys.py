"""The private sealing keys a node keeps: the current one, and the rotated ones until the
end of their validity, then destroyed.

Partners seal to the newest sealing key the trust directory lists for the node. After a
rotation messages sealed to the old key may still be on the broker or in flight, so the
node keeps the old private key, and opens what is sealed to it, until the `not_after` it
was given at the rotation; then it deletes the file and says so in its log. From then on
nothing sealed to that key opens anywhere: this is how a case's copies on the broker stop
being readable after its erasure, whatever the broker still keeps.

In the key dir (HOMEWARD_KEY_DIR, never the data dir): `sealing-key.pem` is the current key;
each rotated key waits in `sealing-keys/<key id>.until-<UTC time>.pem` (mode 0600), its end
in its name.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from services.files import write_private
from services.logs.events import operational
from services.signing import SEALING_KEY_FILE, SealingKey, load_or_create_sealing

RETIRED_DIR = "sealing-keys"
UNTIL = "%Y%m%dT%H%M%SZ"
LOOK_AGAIN_SECONDS = 3600.0
log = logging.getLogger(__name__)


class Unsealing(Protocol):
    """What opens a sealed envelope: one key (SealingKey) or a node's kept keys."""

    @property
    def owner(self) -> str: ...

    def opening(self, key_id: str) -> SealingKey | None: ...


@dataclass(frozen=True)
class Retired:
    key: SealingKey
    until: datetime
    path: Path


@dataclass
class SealingKeys:
    """The node's current sealing key and the rotated ones it still keeps. `now` is the
    clock their ends are judged by."""

    current: SealingKey
    retired: list[Retired] = field(default_factory=list)
    now: Callable[[], datetime] | None = None  # the wall clock when None
    home: Path | None = None  # the key dir they are kept in, read again on an unknown id
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _timer: threading.Timer | None = field(default=None, repr=False)

    @property
    def owner(self) -> str:
        return self.current.owner

    # Where one key is asked for (what to list in the directory), the current one answers.
    @property
    def key_id(self) -> str:
        return self.current.key_id

    @property
    def public(self) -> X25519PublicKey:
        return self.current.public

    @property
    def public_b64(self) -> str:
        return self.current.public_b64

    @property
    def kept(self) -> list[SealingKey]:
        return [self.current, *(r.key for r in self.retired)]

    def opening(self, key_id: str) -> SealingKey | None:
        """The private key that opens what is sealed to `key_id`, if still kept (a rotated
        key whose end has come is destroyed first)."""
        self.destroy_ended()
        found = next((k for k in self.kept if k.key_id == key_id), None)
        if found is None and self.home is not None:  # rotated while the node runs?
            again = load_sealing_keys(self.home, self.owner, self.now)
            with self._lock:
                self.current, self.retired = again.current, again.retired
            found = next((k for k in self.kept if k.key_id == key_id), None)
        return found

    def destroy_ended(self) -> list[str]:
        """Deletes the rotated keys whose validity has ended; their ids."""
        with self._lock:
            now = self._now()
            ended = [r for r in self.retired if r.until <= now]
            for r in ended:
                r.path.unlink(missing_ok=True)
                operational("sealing key destroyed", key_id=r.key.key_id,
                            ended=r.until.isoformat(),
                            note="what is sealed to it opens nowhere any more")
            self.retired = [r for r in self.retired if r not in ended]
            return [r.key.key_id for r in ended]

    def watching(self) -> SealingKeys:
        """Destroys each rotated key at its end even if no message comes to open: a timer
        for the nearest end (looked at again at least hourly), in a daemon thread."""
        self.destroy_ended()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None
            if self.retired:
                due = min(r.until for r in self.retired) - self._now()
                wait = min(max(due.total_seconds(), 0.0), LOOK_AGAIN_SECONDS)
                self._timer = threading.Timer(wait, self.watching)
                self._timer.daemon = True
                self._timer.start()
        return self

    def stop_watching(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None

    def _now(self) -> datetime:
        return self.now() if self.now is not None else datetime.now(UTC)


def load_sealing_keys(key_dir: Path, owner: str,
                      now: Callable[[], datetime] | None = None) -> SealingKeys:
    """The node's sealing keys from the key dir (the current one made on first start);
    rotated keys past their end are destroyed now."""
    _finish_rotation(key_dir, owner)
    current = load_or_create_sealing(key_dir, owner)
    retired = []
    for path in sorted((key_dir / RETIRED_DIR).glob("*.until-*.pem")):
        until = datetime.strptime(path.name.rsplit(".until-", 1)[1][:-4], UNTIL)
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, X25519PrivateKey):
            raise ValueError(f"{path} does not hold an X25519 private key")
        retired.append(Retired(SealingKey(owner, private), until.replace(tzinfo=UTC), path))
    keys = SealingKeys(current, retired, now, key_dir)
    keys.destroy_ended()
    return keys


def rotate_sealing_key(key_dir: Path, owner: str, old_until: datetime) -> SealingKey:
    """A new current sealing key in the key dir; the one it replaces is kept until
    `old_until` (list the new one in the trust directory with
    `Directory.with_rotated_sealing_key` and the same end). Returns the new key."""
    old = load_or_create_sealing(key_dir, owner)
    new = SealingKey.generate(owner)
    pending = key_dir / f"{SEALING_KEY_FILE}.new"
    write_private(pending, _pem(new))
    until = old_until.astimezone(UTC).strftime(UNTIL)
    write_private(key_dir / RETIRED_DIR / f"{old.key_id}.until-{until}.pem", _pem(old))
    os.replace(pending, key_dir / SEALING_KEY_FILE)
    return new


def _finish_rotation(key_dir: Path, owner: str) -> None:
    """A rotation cut short: once the old key is put aside, the new one becomes current;
    before, the new one is dropped and the old stays current."""
    pending = key_dir / f"{SEALING_KEY_FILE}.new"
    if not pending.exists():
        return
    current = load_or_create_sealing(key_dir, owner).key_id
    if any((key_dir / RETIRED_DIR).glob(f"{current}.until-*.pem")):
        os.replace(pending, key_dir / SEALING_KEY_FILE)
    else:
        pending.unlink()


def _pem(key: SealingKey) -> bytes:
    return key.private.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
