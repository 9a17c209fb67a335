"""Non-punishment: a person trafficked is not punished for what the traffickers made
them do. The referring agency records a detention, a removal order, a charge or a fine
(`penalty-matter`), opened or closed, and whether it is tied to the exploitation. It
never leaves the agency; its board lists the open ones among the legal matters.

While a removal order or a detention is open, a "voluntary" return decision is in doubt:
it is recorded only by a supervisor with a justification confirming that the return is
the person's own choice (`non-punishment`); the justification stays with the agency."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from events.case import Case, CaseEvent
from events.rules import NonPunishment, Sequence
from events.step import Body, Owner, Step
from events.values import Actor

# The matters that put in doubt that a return is chosen freely.
COERCIVE = ("removal_order", "detention")


class PenaltyMatter(Body):
    kind: Literal["detention", "removal_order", "charge", "fine"]
    status: Literal["open", "closed"]
    linked_to_exploitation: bool


class PenaltyMatterRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        d, matters = self.data, case.state.penalty_matters
        if d["status"] == "open":
            matters[d["kind"]] = bool(d["linked_to_exploitation"])
        else:
            matters.pop(d["kind"], None)


def check_matter(case: Case, body: PenaltyMatter, actor: Actor, at: datetime) -> None:
    if body.status == "closed" and body.kind not in case.state.penalty_matters:
        raise Sequence(f"there is no open {body.kind.replace('_', ' ')} to close")


class Justified(Protocol):
    justification: str | None


def check_non_punishment(case: Case, body: Justified, actor: Actor) -> None:
    """non-punishment: no return decision under an open removal order or detention, unless
    a supervisor confirms, with a justification, that the return is the person's choice."""
    open_ = [kind for kind in COERCIVE if kind in case.state.penalty_matters]
    if open_ and not (actor.is_supervisor and body.justification):
        raise NonPunishment(
            f"an open {' and '.join(k.replace('_', ' ') for k in open_)}: a return decision "
            "needs a supervisor's justification that the return is the person's own choice")


def open_matters(case: Case) -> list[tuple[str, bool]]:
    """The open matters by kind, each with whether it is tied to the exploitation."""
    return sorted(case.state.penalty_matters.items())


STEPS = [
    Step("penalty-matter", PenaltyMatterRecorded, Owner.REFERRING, PenaltyMatter, check_matter,
         shared=False),
]
