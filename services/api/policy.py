"""Who may read or do what: every decision of the API's authorization, each a named rule.

A route declares the rule it needs as a dependency (`who: CaseReader`, or
`dependencies=[require(PUBLIC)]` for what needs no token); the OpenAPI document names it
on each operation as `x-authorization`, and tests/unit/test_policy.py fails on a route
that declares none. What a rule decides inside a route (the supervisor's steps, the
partner's cases, the empty page another agency's token gets, who sees the person) is a
function here too, so "where is the authorization check?" has one answer: this module.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from events.step import Step
from events.values import Role
from services.anchors.partner import NotPartner, SeenTokens, WrongCase, partner_of
from services.api.deps import MonitorNodeDep, NodeDep, ScrapeDep, node_of
from services.api.http.problems import Problem
from services.api.identity.auth import Principal, Unauthorized
from services.application import CaseNotFound
from services.contract.codec import MONITOR

EXTENSION = "x-authorization"  # the rule's name on each operation of the OpenAPI document
_bearer = HTTPBearer(auto_error=False, description="a JWT with claims sub, agency, roles, exp")


@dataclass(frozen=True)
class Rule:
    name: str
    allows: str  # who passes, in a sentence (docs/architecture.md lists them)
    check: Callable[..., Any]


RULES: dict[str, Rule] = {}
_BY_CHECK: dict[Callable[..., Any], Rule] = {}


def _rule(name: str, allows: str, check: Callable[..., Any]) -> Rule:
    rule = Rule(name, allows, check)
    RULES[name], _BY_CHECK[check] = rule, rule
    return rule


def require(rule: Rule) -> Any:
    """The dependency a route declares: `dependencies=[require(PUBLIC)]`."""
    return Depends(rule.check)


# -- who is calling -------------------------------------------------------------------

# Caseworkers and supervisors record steps; auditors only read; monitors read no case.
WRITERS = (Role.CASEWORKER, Role.SUPERVISOR)
READERS = (Role.CASEWORKER, Role.SUPERVISOR, Role.AUDITOR)


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None
                     ) -> Principal:
    """The caller, from the bearer token. Called by each rule's check, not a dependency of
    its own, and the node read from the request: each dependency FastAPI solves is paid at
    every request of every route that needs a token."""
    header = f"Bearer {credentials.credentials}" if credentials else None
    return await node_of(request).tokens.principal_of(header)


def _needs(who: Principal, roles: tuple[Role, ...]) -> Principal:
    if not who.has(*roles):
        raise Problem(403, f"this needs one of the roles: {', '.join(r.value for r in roles)}",
                      slug="forbidden")
    return who


def _here(who: Principal, agency: str) -> Principal:
    if who.agency != agency:
        raise Problem(403, f"this node keeps the cases of {agency}", slug="forbidden")
    return who


def _case_here(who: Principal, agency: str) -> Principal:
    if who.agency != agency:  # another agency's token sees no case here
        raise CaseNotFound("not visible to this agency")
    return who


# -- the rules --------------------------------------------------------------------------

async def _public() -> None:
    """Anyone: the route holds no case data (health, pages, sign-in, the API's document)."""


async def _scraper(scrape: ScrapeDep, authorization: Annotated[
        str | None, Header(include_in_schema=False)] = None) -> None:
    if scrape.apart or scrape.token is None:  # apart: the route answers 404 itself
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), scrape.token.encode()):
        raise Unauthorized("metrics need the metrics token")


def _calling(roles: tuple[Role, ...]) -> Callable[..., Any]:
    """A rule's check: the caller holds one of `roles`, of whichever agency."""
    async def check(request: Request, credentials: Bearer) -> Principal:
        return _needs(await _principal(request, credentials), roles)
    return check


def _of_node(roles: tuple[Role, ...],
             scope: Callable[[Principal, str], Principal]) -> Callable[..., Any]:
    """A rule's check: the caller holds one of `roles` and is of the node's agency, as
    `scope` judges it (`_here`: 403 otherwise; `_case_here`: no case seen, 404)."""
    async def check(request: Request, credentials: Bearer) -> Principal:
        who = await _principal(request, credentials)
        return scope(_needs(who, roles), node_of(request).agency)
    return check


def _monitoring() -> Callable[..., Any]:
    """A rule's check: a monitor's token, of agency `monitor`, on the monitor node."""
    async def check(node: MonitorNodeDep,
                    authorization: Annotated[str | None, Header()] = None) -> Principal:
        who = await node.tokens.principal_of(authorization)  # takes only agency `monitor`
        if who.agency != MONITOR or not who.has(Role.MONITOR):
            raise Problem(403, "the corridor view is for monitors", slug="forbidden")
        return who
    return check


def _partner_node(
    node: NodeDep, case: Annotated[UUID, Query(description="the case id")],
    credentials: Bearer,
) -> str:
    if credentials is None or node.trust is None:
        raise Unauthorized("a partner node's token is required")
    directory = node.trust()  # unreadable: 503 (services/api/http/problems.py)
    try:
        partner = partner_of(credentials.credentials, node.agency, case, directory,
                             SeenTokens(node.tables))
    except NotPartner as refused:
        raise Unauthorized(f"not a partner node's token: {refused}") from None
    except WrongCase as refused:
        raise Problem(403, str(refused), slug="forbidden") from None
    if not (directory.corridor(partner, node.agency) or directory.corridor(node.agency, partner)):
        raise Problem(403, f"{partner} is on no corridor with {node.agency}", slug="forbidden")
    return partner


PUBLIC = _rule("public", "anyone, without a token", _public)
SCRAPER = _rule("metrics-scraper", "with HOMEWARD_METRICS_TOKEN set, that bearer token; "
                "without, anyone (the node then listens on loopback only)", _scraper)
READER = _rule("reader", "a caseworker, supervisor or auditor", _calling(READERS))
LIST_READER = _rule("list-reader", "a caseworker, supervisor or auditor; another agency's "
                    "token gets an empty page", _calling(READERS))
CASE_READER = _rule("case-reader", "a caseworker, supervisor or auditor of the node's agency; "
                    "another agency's token sees no case (404); only caseworkers and "
                    "supervisors see the person", _of_node(READERS, _case_here))
CASE_WRITER = _rule("case-writer", "a caseworker or supervisor of the node's agency; another "
                    "agency's token sees no case (404)", _of_node(WRITERS, _case_here))
PERSONAL_READER = _rule("personal-reader", "a caseworker or supervisor of the node's agency "
                        "(an auditor: 403; another agency's token sees no case, 404): what "
                        "only the people working the case read (notes, documents)",
                        _of_node(WRITERS, _case_here))
DOCUMENT_KEEPER = _rule("document-keeper", "a caseworker or supervisor of the node's agency "
                        "(another agency's token sees no case, 404)",
                        _of_node(WRITERS, _case_here))
TRANSFERRER = _rule("transferrer", "a supervisor of the node's agency (another agency's "
                    "token sees no case, 404); of the case's referring agency (else 403)",
                    _of_node((Role.SUPERVISOR,), _case_here))
STEP_RECORDER = _rule("step-recorder", "a caseworker or supervisor of the node's agency "
                      "(another's sees no case, 404); a supervisor-only step, a supervisor",
                      _of_node(WRITERS, _case_here))
ASSIGNER = _rule("assigner", "a supervisor of the node's agency, or one of its caseworkers "
                 "taking a case for themselves (else 403); another agency's token sees no "
                 "case (404)", _of_node(WRITERS, _case_here))
APPROVAL_REQUESTER = _rule("approval-requester", "a caseworker or supervisor of the node's "
                           "agency (another's sees no case, 404)",
                           _of_node(WRITERS, _case_here))
APPROVER = _rule("approver", "a supervisor of the node's agency (else 403); never for a "
                 "request of their own (409 four-eyes)", _of_node((Role.SUPERVISOR,), _here))
OPENER = _rule("opener", "a caseworker or supervisor of the node's agency (another's: 403)",
               _of_node(WRITERS, _here))
AUDITOR = _rule("auditor", "an auditor of the node's agency (another's: 403)",
                _of_node((Role.AUDITOR,), _here))
MONITOR_VIEW = _rule("monitor", "a monitor's token, of agency `monitor`", _monitoring())
ALERT_SUBSCRIBER = _rule("alert-subscriber", "a monitor's token, of agency `monitor`: makes, "
                         "reads and ends the monitor node's alert subscriptions",
                         _monitoring())
STATISTICS_READER = _rule("statistics-reader", "a monitor's token, of agency `monitor`: "
                          "trends and published statistics, every cell below k suppressed",
                          _monitoring())
PARTNER_NODE = _rule("partner-node", "the case's other agency's node, with a token it signed "
                     "for this case, used once, on a corridor with this agency",
                     _partner_node)

Reader = Annotated[Principal, require(READER)]
ListReader = Annotated[Principal, require(LIST_READER)]
CaseReader = Annotated[Principal, require(CASE_READER)]
CaseWriter = Annotated[Principal, require(CASE_WRITER)]
PersonalReader = Annotated[Principal, require(PERSONAL_READER)]
DocumentKeeper = Annotated[Principal, require(DOCUMENT_KEEPER)]
Transferrer = Annotated[Principal, require(TRANSFERRER)]
StepRecorder = Annotated[Principal, require(STEP_RECORDER)]
Opener = Annotated[Principal, require(OPENER)]
Assigner = Annotated[Principal, require(ASSIGNER)]
ApprovalRequester = Annotated[Principal, require(APPROVAL_REQUESTER)]
Approver = Annotated[Principal, require(APPROVER)]
Auditor = Annotated[Principal, require(AUDITOR)]
Monitor = Annotated[Principal, require(MONITOR_VIEW)]
AlertSubscriber = Annotated[Principal, require(ALERT_SUBSCRIBER)]
StatisticsReader = Annotated[Principal, require(STATISTICS_READER)]
PartnerNode = Annotated[str, require(PARTNER_NODE)]


# -- what a rule decides inside its route ----------------------------------------------

def sees_cases_here(who: Principal, agency: str) -> bool:
    """LIST_READER: another agency's token gets an empty page, not a refusal."""
    return who.agency == agency


def sees_person(who: Principal) -> bool:
    """CASE_READER: caseworkers and supervisors see the person; an auditor the facts."""
    return who.has(*WRITERS)


def records_steps(who: Principal) -> bool:
    """Whether the steps open to the caller are worth listing (none for an auditor)."""
    return who.has(*WRITERS)


async def step_recorder(request: Request) -> Principal:
    """STEP_RECORDER judged on a request as FastAPI would judge it (its bearer token read
    the same way), for a step's route answering a plain request itself
    (routers/steps.py)."""
    check: Callable[..., Any] = STEP_RECORDER.check
    principal: Principal = await check(request, await _bearer(request))
    return principal


def check_step(who: Principal, step: Step) -> None:
    """STEP_RECORDER: a supervisor-only step needs a supervisor. Judged in the route,
    after the body and If-Match passed validation."""
    if step.supervisor_only and not who.actor().is_supervisor:
        raise Problem(403, f"only a supervisor records {step.path}", slug="forbidden")


def check_assignment(who: Principal, assigned_to: str) -> None:
    """ASSIGNER: a caseworker assigns a case only to themselves; a supervisor, to anyone."""
    if assigned_to != who.sub and not who.actor().is_supervisor:
        raise Problem(403, "a caseworker assigns a case only to themselves; a supervisor "
                      "assigns it to others", slug="forbidden")


def check_partner_case(partner: str, referring: str, receiving: str) -> None:
    """PARTNER_NODE: a partner reads only the cases it is an agency of."""
    if partner not in (referring, receiving):
        raise CaseNotFound("not a case of this partner")


def may_replay(who: Principal, agency: str) -> bool:
    """A replayed POST skips its route: the writer's rule every keyed route needs."""
    return who.agency == agency and who.has(*WRITERS)


REPLAY_REFUSAL = f"this needs one of the roles: {', '.join(r.value for r in WRITERS)}"


# -- the routes' rules, read back ------------------------------------------------------

def routes(app: FastAPI) -> Iterator[RouteContext]:
    """Every route the app serves, those of its included routers too."""
    return iter_route_contexts(app.routes)


def rules_of(route: RouteContext) -> list[Rule]:
    """The rules a route declares: in its dependencies (its router's with them), or set
    by `install` on the route FastAPI adds itself (the OpenAPI document)."""
    if not isinstance(route.original_route, APIRoute):
        declared = getattr(route.original_route, "authorization", None)
        return [declared] if isinstance(declared, Rule) else []
    return [r for d in _calls(route.dependant) if (r := _BY_CHECK.get(d)) is not None]


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def install(app: FastAPI) -> None:
    """The OpenAPI document (public) declared as such, and each operation's rule named
    in the document as `x-authorization`."""
    for route in app.routes:
        if not isinstance(route, APIRoute) and getattr(route, "path", None) == app.openapi_url:
            route.authorization = PUBLIC  # type: ignore[attr-defined]
    build = app.openapi

    def document() -> dict[str, Any]:
        schema = build()
        for route in routes(app):
            if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
                continue
            names = [rule.name for rule in rules_of(route)]
            operations = schema.get("paths", {}).get(route.path_format, {})
            for method in route.methods or ():
                if names and method.lower() in operations:
                    operations[method.lower()][EXTENSION] = " ".join(names)
        return schema

    app.openapi = document  # type: ignore[method-assign]
