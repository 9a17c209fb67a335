"""The faults the soak injects, at moments drawn from its seeded generator: the broker
killed (SIGKILL: its log, in memory, is lost), an agency node killed, an agency node
paused (SIGSTOP, then SIGCONT seconds later), malformed records on every inbox partition
and on the monitoring topic, and an agency's signing key rotated (the directory lists the
new key beside the old one, the node starts again signing with it).

`homeward run` brings back what dies; each fault waits until the member answers again, so
the next one finds the network whole."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.soak.malformed import Injected, inject
from bench.soak.network import BROKER, Network
from services.exchange.directory import load, save
from services.files import write_private
from services.signing import KEY_FILE, SigningKey, load_or_create

AGENCIES = ("XA-NRM", "XB-NRM")
KINDS = ("broker-kill", "node-kill", "node-pause", "malformed", "key-rotation")
PAUSE = (5.0, 15.0)  # seconds a node stays paused


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the traffic began
    kind: str


def schedule(rng: random.Random, duration: float, rounds: int,
             kinds: tuple[str, ...] = KINDS, window: tuple[float, float] = (0.1, 0.7)
             ) -> list[Fault]:
    """Each kind once per round, at moments drawn within `window` of the duration."""
    faults = [Fault(round(rng.uniform(duration * window[0], duration * window[1]), 1), kind)
              for _ in range(rounds) for kind in kinds]
    return sorted(faults, key=lambda f: f.at)


@dataclass
class Injector:
    network: Network
    rng: random.Random
    say: Callable[[str], None]
    before_broker_kill: Callable[[], None] = lambda: None
    done: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    injected: Injected = field(default_factory=Injected)
    failures: list[str] = field(default_factory=list)

    def run(self, faults: list[Fault], began: float, stop: threading.Event) -> None:
        for fault in faults:
            if stop.wait(max(0.0, began + fault.at - time.monotonic())):
                return
            try:
                what = getattr(self, fault.kind.replace("-", "_"))()
            except Exception as error:  # the soak goes on; the summary names it
                what = f"could not: {type(error).__name__}: {error}"
                self.failures.append(f"{fault.kind}: {what}")
            line = f"{time.monotonic() - began:7.1f} s  {fault.kind}: {what}"
            self.log.append(line)
            self.done[fault.kind] += 1
            self.say(f"fault {line}")

    def _back(self, member: str, what: str, pid: int) -> str:
        began = time.monotonic()
        if not self.network.wait_running(member, timeout=90, other_than=pid):
            self.failures.append(f"{member} not running again within 90 s after {what}")
            return f"{what}; NOT back within 90 s"
        return f"{what}; back in {time.monotonic() - began:.1f} s"

    def broker_kill(self) -> str:
        self.before_broker_kill()
        pid = self.network.signal(BROKER, signal.SIGKILL)
        if pid is None:
            raise RuntimeError("no broker running")
        return self._back(BROKER, f"SIGKILL pid {pid}", pid)

    def node_kill(self) -> str:
        agency = self.rng.choice(AGENCIES)
        pid = self.network.signal(agency, signal.SIGKILL)
        if pid is None:
            raise RuntimeError(f"{agency} is not running")
        return self._back(agency, f"{agency} SIGKILL pid {pid}", pid)

    def node_pause(self) -> str:
        agency, seconds = self.rng.choice(AGENCIES), round(self.rng.uniform(*PAUSE), 1)
        pid = self.network.signal(agency, signal.SIGSTOP)
        if pid is None:
            raise RuntimeError(f"{agency} is not running")
        time.sleep(seconds)
        self.network.signal(agency, signal.SIGCONT)
        return f"{agency} pid {pid} SIGSTOP for {seconds:g} s, SIGCONT"

    def malformed(self) -> str:
        sent = inject(self.network.bootstrap, self.network.data_dir, self.rng, self.injected,
                      AGENCIES)
        return f"{sent} records on every inbox partition and the monitoring topic"

    def key_rotation(self) -> str:
        """The new key listed first (the old one valid an hour more, for what is in
        flight), then written to the node's key dir (`<data dir>.keys`, where `homeward
        run` keeps its secrets); the node stopped in order is started again by `homeward
        run`, signing with it."""
        agency = self.rng.choice(AGENCIES)
        member = self.network.members[agency]
        keys = member.keys()
        old = load_or_create(keys, agency)
        new = SigningKey(agency, Ed25519PrivateKey.generate(), old.sealing)
        path = self.network.data_dir / "directory.json"
        save(path, load(path).with_rotated_key(new, datetime.now(UTC) + timedelta(hours=1)))
        write_private(keys / KEY_FILE, new.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        pid = self.network.signal(agency, signal.SIGINT)
        if pid is None:
            raise RuntimeError(f"{agency} is not running")
        return self._back(agency, f"{agency} {old.key_id} -> {new.key_id}, node pid {pid} "
                                  "stopped to sign with it", pid)
