"""The members of the embedded network and the trust between them: three agencies
(XA-NRM, XB-NRM and XC-NRM; or the first two only) and a monitor, each with its port and
its data directory, and one directory file naming the agencies and their corridors:
XA-NRM -> XB-NRM, XA-NRM -> XC-NRM and XC-NRM -> XB-NRM.

Ports from the base port: XA-NRM on base, XB-NRM on base + 1, the monitor on base + 2 (as
when the network had two agencies), XC-NRM on base + 3."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.bootstrap import mint
from services.exchange.directory import load, save
from services.exchange.entries import accepted, own_entry, with_corridor
from services.settings import Settings, secrets_dir
from services.settings import load as load_settings

REFERRING, RECEIVING, NEIGHBOUR, MONITOR = "XA-NRM", "XB-NRM", "XC-NRM", "monitor"
AGENCIES = (REFERRING, RECEIVING, NEIGHBOUR)
PORT_OFFSETS = {REFERRING: 0, RECEIVING: 1, MONITOR: 2, NEIGHBOUR: 3}
# (referring, receiving): each corridor of the trust directory.
CORRIDORS = ((REFERRING, RECEIVING), (REFERRING, NEIGHBOUR), (NEIGHBOUR, RECEIVING))
AGENCY_ROLES = ["caseworker", "supervisor", "auditor"]
ROLES = {**{agency: AGENCY_ROLES for agency in AGENCIES}, MONITOR: ["monitor"]}
# Settings each embedded node takes from its own data dir and key dir, never from this
# environment: one key dir for all would give the agencies one secret and one key pair.
OWN_IDENTITY: dict[str, object] = {"jwt_secret": None, "jwks_url": None, "token_issuer": None,
                                   "token_audience": None, "key_dir": None}
PAGES = {MONITOR: "/ui/corridors"}  # each agency node serves its status board at /ui/board


@dataclass(frozen=True)
class Member:
    agency: str
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, role: str, hours: float = 12.0) -> str:
        return mint(self.settings(), f"{self.agency.lower()}-{role}", [role], hours)

    def keys(self) -> Path:
        """The node's key dir, as the node itself finds it (older layouts moved into it)."""
        return secrets_dir(self.settings())

    def settings(self) -> Settings:
        # Each node its own secret, kept in its key dir: one shared from the
        # environment would let one agency sign for the others.
        return load_settings(agency=self.agency, data_dir=self.data_dir, **OWN_IDENTITY)


def members(data_dir: Path, base_port: int, agencies: int = 3) -> list[Member]:
    """The first `agencies` agencies (2 or 3), then the monitor."""
    if agencies not in (2, 3):
        raise ValueError("the embedded network has two or three agencies")
    return [Member(name, base_port + PORT_OFFSETS[name], data_dir / name.lower())
            for name in (*AGENCIES[:agencies], MONITOR)]


def corridors(nodes: list[Member]) -> list[tuple[str, str]]:
    """The corridors between the agencies among `nodes`, as the directory lists them."""
    present = {m.agency for m in nodes}
    return [(r, c) for r, c in CORRIDORS if r in present and c in present]


def trust(data_dir: Path, nodes: list[Member]) -> Path:
    """Each agency's keys and address and the monitor's sealing key, and one directory file
    naming them and their corridors."""
    path = data_dir / "directory.json"
    directory = load(path)
    for member in nodes:  # as `homeward directory init` and `add` do
        url = None if member.agency == MONITOR else member.url  # for the cross-check
        directory = accepted(directory, own_entry(directory, member.keys(), member.agency, url))
    for referring, receiving in corridors(nodes):
        directory = with_corridor(directory, referring, receiving)
    save(path, directory)
    return path
