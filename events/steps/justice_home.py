"""Justice from home: once the person has left the destination country, the referring
agency asks the receiving agency to tell the person of a proceeding's news or a hearing,
to arrange their testimony by video-conference, or to hand over the compensation awarded;
the receiving agency answers each request.

A request crosses with its kind and dates only: the proceeding it concerns (`reference`)
stays with the referring agency, as proceedings do. While open it is a blocking item owed
by the receiving agency at both agencies, with a clock due at the end of `due_on`
(events/deadlines.py). An `inform_person` request covers the news of every proceeding the
person had not been told of when it was sent (the reference the caseworker gives names the
one it is about, kept for the caseworker: being personal, it is not what the case's state
reads); answered `done` within the 14 days of that news, it meets each one's clock."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from events.case import Case, CaseEvent, OpenJusticeRequest
from events.rules import InvalidField, Sequence
from events.step import Body, Owner, Step
from events.steps.protection import where_the_person_is
from events.values import Actor, Side

JusticeKind = Literal["inform_person", "remote_testimony", "compensation_payment"]
# The kinds that concern a proceeding, and those held at a hearing.
ABOUT_A_PROCEEDING = ("inform_person", "remote_testimony")


class JusticeRequest(Body):
    kind: JusticeKind
    due_on: date
    hearing_on: date | None = None
    reference: str | None = Field(default=None, min_length=1, max_length=200)


class JusticeResponse(Body):
    kind: JusticeKind
    done_on: date
    outcome: Literal["done", "person_declined", "person_unreachable", "not_possible"]
    happened = ("done_on",)


class JusticeRequestSent(CaseEvent):
    def change(self, case: Case) -> None:
        s, hearing = case.state, self.data.get("hearing_on")
        untold = ([reference for reference, p in sorted(s.proceedings.items())
                   if p.uninformed_since is not None]
                  if self.data["kind"] == "inform_person" else [])
        s.justice_requests[self.data["kind"]] = OpenJusticeRequest(
            requested_on=self.timestamp.date(), due_on=date.fromisoformat(self.data["due_on"]),
            hearing_on=date.fromisoformat(hearing) if hearing else None, untold=untold)


class JusticeRequestAnswered(CaseEvent):
    def change(self, case: Case) -> None:
        s = case.state
        request = s.justice_requests.pop(self.data["kind"])
        if self.data["outcome"] != "done":
            return
        done_on = date.fromisoformat(self.data["done_on"])
        for reference in request.untold:  # the referring agency's proceedings
            proceeding = s.proceedings[reference]
            if proceeding.uninformed_since is not None:
                proceeding.untold_from, proceeding.told_from_home_on = (
                    proceeding.uninformed_since, done_on)
                proceeding.uninformed_since = None
        if self.data["kind"] == "compensation_payment" and s.compensation == "awarded":
            s.compensation = "paid"


def person_away(case: Case) -> bool:
    """Whether the person has left the destination country (or, in a referral, is at home
    in the care of the receiving agency)."""
    s = case.state
    return s.stay_decided_on is None and (
        s.departed_at is not None or where_the_person_is(case) is Side.RECEIVING)


def check_request_itself(body: JusticeRequest, at: datetime) -> None:
    """What a request must say of its own kind (422 naming the field)."""
    if body.due_on < at.date():
        raise InvalidField("due_on", f"{body.due_on} is already past")
    if body.kind in ABOUT_A_PROCEEDING and body.reference is None:
        raise InvalidField("reference", f"{body.kind} names the proceeding it concerns")
    if body.kind == "remote_testimony" and body.hearing_on is None:
        raise InvalidField("hearing_on", "remote testimony is given at a hearing: its date")
    if body.kind == "compensation_payment" and body.hearing_on is not None:
        raise InvalidField("hearing_on", "a compensation payment has no hearing")


def check_request(case: Case, body: JusticeRequest, actor: Actor, at: datetime) -> None:
    check_request_itself(body, at)
    s = case.state
    if not person_away(case):
        raise Sequence("justice from home is asked of the receiving agency once the person "
                       "has left")
    if body.kind in s.justice_requests:
        raise Sequence(f"a request to {body.kind.replace('_', ' ')} is already open")
    if body.reference is not None and body.kind in ABOUT_A_PROCEEDING:
        known = s.proceedings.get(body.reference)
        if known is None or not known.open:
            raise Sequence(f"no open proceeding {body.reference} is linked to this case")
    if body.kind == "compensation_payment" and s.compensation != "awarded":
        raise Sequence("no compensation was awarded to hand over")


def check_response(case: Case, body: JusticeResponse, actor: Actor, at: datetime) -> None:
    request = case.state.justice_requests.get(body.kind)
    if request is None:
        raise Sequence(f"no request to {body.kind.replace('_', ' ')} is open")
    if body.done_on < request.requested_on:
        raise InvalidField("done_on", f"{body.done_on} is before the request "
                                      f"({request.requested_on})")


STEPS = [
    Step("justice-request", JusticeRequestSent, Owner.REFERRING, JusticeRequest,
         check_request, local_only=("reference",)),
    Step("justice-response", JusticeRequestAnswered, Owner.RECEIVING, JusticeResponse,
         check_response),
]
