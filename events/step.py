"""What a step is: its path, its event, who owns it, its body, its guard."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import CodeType, FunctionType, ModuleType
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from events.event import CaseEvent
from events.values import Actor, Scope, Side

# A clock may run a little fast or slow: a time further ahead than this is in the future.
CLOCK_TOLERANCE = timedelta(minutes=15)
# A date is in the future once it is later than today anywhere on Earth (UTC+14).
EARLIEST_TIMEZONE = timedelta(hours=14)


class InTheFuture(ValueError):
    """A step says something happened at a time that has not come yet."""

    def __init__(self, field_name: str, detail: str) -> None:
        super().__init__(f"{field_name}: {detail}")
        self.field, self.detail = field_name, detail


class Body(BaseModel):
    """A step's request body: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # The fields that say when something happened: none may lie in the future.
    happened: ClassVar[tuple[str, ...]] = ()

    def check_not_in_future(self, now: datetime) -> None:
        for name in self.happened:
            value = getattr(self, name)
            if isinstance(value, datetime) and value > now + CLOCK_TOLERANCE:
                raise InTheFuture(name, f"{value.isoformat()} is in the future")
            if (isinstance(value, date) and not isinstance(value, datetime)
                    and value > (now + CLOCK_TOLERANCE + EARLIEST_TIMEZONE).date()):
                raise InTheFuture(name, f"{value.isoformat()} is in the future")


class Owner(StrEnum):
    REFERRING = "referring"
    RECEIVING = "receiving"
    EITHER = "either"  # each side records its own (risk assessments)
    PHASE = "phase"  # whoever holds the current phase (closure, reopening)


class Phased(Protocol):
    """What a step asks of a case (events.case.Case, which imports this module)."""

    def phase_owner(self) -> Side: ...


# A step's guard: (the case, the validated body, the actor, when); raises to refuse.
Guard = Callable[[Any, Any, Actor, datetime], None]
# What the case records itself after a step: (the case, the actor, when).
Then = Callable[[Any, Actor, datetime], None]


@dataclass(frozen=True)
class Step:
    path: str
    event: type[CaseEvent]
    owner: Owner
    body: type[Body]
    guard: Guard | None = None
    repatriation_only: bool = False
    supervisor_only: bool = False
    # Its rules may ask for a supervisor (a downgrade, a justified closure...): a caseworker
    # may ask one to approve it (events/casework.py), as for a supervisor-only step.
    supervised: bool = False
    shared: bool = True  # the partner must learn it
    # Fields that cross only under a consent scope, and fields that never cross (free text
    # written for this agency alone). Every free-text field is one or the other.
    protected: Mapping[Scope, tuple[str, ...]] = field(default_factory=dict)
    local_only: tuple[str, ...] = ()
    reopens: bool = False
    after_closure: bool = False  # may follow a closure without reopening (erasure)
    halted_on_hold: bool = False
    sided: bool = False  # the event records which side recorded it
    # How the partner sees the shared data, where it must see less than the event says.
    for_partner: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Fields whose crossing depends on what they hold and the consent active at the event
    # (a health service's kind and provider without `share_health`): (case, data) -> names.
    withheld: Callable[[Any, Mapping[str, Any]], tuple[str, ...]] | None = None
    # For a step kept home unless the person agreed to share it: whether this event crosses,
    # read from its own data (a protection measure the person consented to share).
    crosses: Callable[[Mapping[str, Any]], bool] | None = None
    then: Then | None = None  # what the case records itself right after this step
    automatic: bool = False  # recorded by the case itself (`then`), never by a user

    @property
    def personal(self) -> tuple[str, ...]:
        """Fields the case's own key encrypts and an erasure destroys."""
        return (*(name for names in self.protected.values() for name in names),
                *self.local_only)

    def crossing(self, data: Mapping[str, Any]) -> bool:
        """Whether an event of this step with `data` is sent to the partner."""
        return self.shared and (self.crosses is None or self.crosses(data))

    def owner_side(self, case: Phased, recorder: Side) -> Side:
        if self.owner is Owner.EITHER:
            return recorder
        if self.owner is Owner.PHASE:
            return case.phase_owner()
        return Side(self.owner.value)

    @property
    def message_type(self) -> str:
        name = self.event.__name__
        return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def refusals(step: Step) -> frozenset[str]:
    """The rule codes that can refuse recording `step` at its owner's node: ownership
    and sequence for every step, the hold where it applies, and what its guard raises
    (read from the guard's code, so the list cannot drift from the rules)."""
    from events.rules import ConsentWithdrawalHalts, Sequence, StepOwner

    codes = {StepOwner.code, Sequence.code}
    if step.halted_on_hold:
        codes.add(ConsentWithdrawalHalts.code)
    if step.guard is not None:
        codes |= _raised_by(step.guard, set())
    return frozenset(codes)


def _raised_by(function: Callable[..., Any], seen: set[Any]) -> set[str]:
    """The codes of the rules a function of the domain names (as a class, as a code like
    a blocker's `rule`, or in a table of preconditions), and those its helpers name."""
    from events.rules import RULES, RuleViolation

    if function in seen:
        return set()
    seen.add(function)
    names, literals = _names(function.__code__)
    scope = function.__globals__
    found = [scope.get(name) for name in names]
    found += [getattr(module, name, None) for module in list(found)
              if isinstance(module, ModuleType) and module.__name__.startswith("events")
              for name in names]
    codes = {text for text in literals if text in RULES}
    for thing in found:
        if isinstance(thing, type) and issubclass(thing, RuleViolation):
            codes.add(thing.code)
        elif isinstance(thing, FunctionType) and thing.__module__.startswith("events"):
            codes |= _raised_by(thing, seen)
        elif isinstance(thing, list | tuple):  # a table of the domain's, e.g. the gate's
            codes |= {rule for item in thing
                      if isinstance(rule := getattr(item, "rule", item), str) and rule in RULES}
    return codes


def _names(code: CodeType) -> tuple[set[str], set[str]]:
    """The global and attribute names a code object uses, and its string constants."""
    names, literals = set(code.co_names), set[str]()
    for const in code.co_consts:  # lambdas, comprehensions, nested functions
        if isinstance(const, CodeType):
            inner, texts = _names(const)
            names, literals = names | inner, literals | texts
        elif isinstance(const, str):
            literals.add(const)
    return names, literals
