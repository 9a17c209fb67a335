"""The members of the embedded network and the trust between them: the referring
agency XA-NRM, the receiving agency XB-NRM and a monitor, each with its port and its
data directory, and one directory file naming both agencies and their corridor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.bootstrap import mint
from services.exchange.directory import load, save
from services.exchange.entries import accepted, own_entry, with_corridor
from services.settings import Settings, secrets_dir
from services.settings import load as load_settings

REFERRING, RECEIVING, MONITOR = "XA-NRM", "XB-NRM", "monitor"
ROLES = {REFERRING: ["caseworker", "supervisor", "auditor"],
         RECEIVING: ["caseworker", "supervisor", "auditor"], MONITOR: ["monitor"]}
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


def members(data_dir: Path, base_port: int) -> list[Member]:
    return [Member(agency, base_port + i, data_dir / agency.lower())
            for i, agency in enumerate((REFERRING, RECEIVING, MONITOR))]


def trust(data_dir: Path, nodes: list[Member]) -> Path:
    """Each agency's keys and address and the monitor's sealing key, and one directory file
    naming them and the corridor."""
    path = data_dir / "directory.json"
    directory = load(path)
    for member in nodes:  # as `homeward directory init` and `add` do
        url = None if member.agency == MONITOR else member.url  # for the cross-check
        directory = accepted(directory, own_entry(directory, member.keys(), member.agency, url))
    save(path, with_corridor(directory, REFERRING, RECEIVING))
    return path
