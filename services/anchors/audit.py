"""The audit of a node's store: every case it holds, and every case it holds a checkpoint
of (a case deleted from the store is still named), each checked by `verify_case`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.audit import Link
from events.case import CaseEvent
from services.anchors.checkpoint import Checkpoint, KeyOf
from services.anchors.crosscheck import Divergence, cross_check
from services.anchors.links import ChainReader, RowsOf
from services.anchors.partner import chain_view
from services.anchors.store import Anchors
from services.anchors.verify import Fault, verify_case
from services.application import CaseNotFound, Homeward
from services.signing import SigningKey


@dataclass(frozen=True)
class CaseAudit:
    case_id: UUID
    events: int
    faults: list[Fault]


def trusted(own: SigningKey | None, directory: Callable[[], KeyOf] | None) -> KeyOf:
    """The node's own key (it need not list itself) and the trust directory's keys."""
    def key_of(agency: str, key_id: str) -> Ed25519PublicKey | None:
        if own is not None and (agency, key_id) == (own.agency, own.key_id):
            return own.public
        return directory()(agency, key_id) if directory is not None else None
    return key_of


@dataclass
class StoreAudit:
    app: Homeward
    anchors: Anchors
    agency: str
    key_of: KeyOf
    rows_of: RowsOf | None = None  # several cases' rows in one query (the store's backend)
    reader: ChainReader = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.reader = ChainReader(self.app, self.rows_of)

    def events(self, case_id: UUID) -> list[CaseEvent]:
        try:
            return self.app.timeline(case_id)
        except CaseNotFound:
            return []

    def case(self, case_id: UUID) -> CaseAudit:
        """The case checked: its chain read from the stored rows (`links`), personal data
        decrypted only for the events whose values are checked against their commitments."""
        return self._checked(case_id, self.reader.chain(case_id))

    def range(self, case_ids: Sequence[UUID]) -> list[CaseAudit]:
        """`case` of each, in order, their rows read together where the store can."""
        chains, held = self.reader.chains(case_ids), self.anchors.of_cases(case_ids)
        return [self._checked(case_id, chains[case_id], held.get(case_id, []))
                for case_id in case_ids]

    def _checked(self, case_id: UUID, events: list[Link],
                 held: list[Checkpoint] | None = None) -> CaseAudit:
        held = self.anchors.of_case(case_id) if held is None else held
        if not events and not held:
            raise CaseNotFound(str(case_id))
        return CaseAudit(case_id, len(events),
                         verify_case(case_id, events, held, self.agency, self.key_of))

    def case_ids(self) -> list[UUID]:
        """Every case of the store, then every other case the checkpoints name."""
        stored = list(self.app.case_ids())
        return [*stored, *sorted(set(self.anchors.case_ids()) - set(stored))]

    def cases(self, case_ids: Iterable[UUID] | None = None) -> Iterator[CaseAudit]:
        """The given cases, or every case of the store and of the checkpoints."""
        for case_id in self.case_ids() if case_ids is None else case_ids:
            yield self.case(case_id)

    def partner_of(self, case_id: UUID) -> str:
        """The case's other agency: from the stream, or (a case gone from it) from the
        checkpoints held."""
        events = self.events(case_id)
        if events:
            state = self.app.case(case_id).state
            return state.receiving if state.referring == self.agency else state.referring
        others = {c.agency for c in self.anchors.of_case(case_id) if c.agency != self.agency}
        if not others:
            raise CaseNotFound(str(case_id))
        return others.pop()

    def view(self, case_id: UUID, partner: str) -> dict[str, Any] | None:
        """This agency's chain view of the case for `partner`, None when it holds none."""
        events = self.events(case_id)
        return chain_view(self.agency, partner, events, self.anchors.of_case(case_id)) \
            if events else None

    def against(self, case_id: UUID, partner: str, theirs: dict[str, Any] | None
                ) -> list[Divergence]:
        """The case compared with the partner's view of it (None: it holds none)."""
        return cross_check(self.agency, partner, self.view(case_id, partner), theirs,
                           self.anchors.of_case(case_id), self.key_of)
