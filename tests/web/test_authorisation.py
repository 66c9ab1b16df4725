"""Every route of the app, as every role, against the one rule the route table names for it.

The route list comes from the application itself: a route without a rule in
`followthrough.web.route_rules.ROUTES`, or a rule for a route that no longer exists, fails.
Which rule guards each route is also written out here (`WHO_MAY_CALL`), from the documented
access of each page and operation, and the route table must say the same: the answers are held
to this test's table, not to the table under test. Then, over real HTTP, every GET route (and every change on a confidential request) is called
as each role with its path bound to a normal request, a confidential HR grievance, a person,
a case waiting on both, and teams; each answer must be what the route's rule promises, and
nothing identifying the grievance may appear in any answer to anyone who may not read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select
from starlette.routing import Mount

from followthrough.auth.service import start_web_session
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.org.models import Person
from followthrough.requests.models import Offer
from followthrough.web import route_rules as r
from followthrough.web.app import create_app
from tests.conftest import Clock, LiveServer, issue_tokens, serving
from tests.factories import (
    GRIEVANCE_NEED,
    GRIEVANCE_TITLE,
    HR_ONLY_CASE,
    HR_ONLY_CUSTOMER,
    ConfidentialStory,
    World,
    build_confidential_story,
)

MARKERS = ("Quokka-Title-91", "Manatee-Need-37")
CASE_MARKERS = (HR_ONLY_CASE, HR_ONLY_CUSTOMER)
assert all(m in GRIEVANCE_TITLE + GRIEVANCE_NEED for m in MARKERS)

# Who each role is in the test world (tests/factories.py).
ROLES = {
    "anonymous": None,
    "raises only": "otto",  # in no team; raised the normal request
    "other team": "asha",  # Claims
    "owning team": "cleo",  # Policy Admin, which owns the normal request
    "lead": "carl",  # leads Claims
    "owning lead": "lee",  # leads Policy Admin, and so cleo
    "admin": "ada",
    "HR": "hana",  # leads HR, which owns the grievance
}
READS_NORMAL = {"otto", "cleo", "lee", "ada"}
READS_CONFIDENTIAL = {"hana"}
# Of those, who works each request (its internal notes): the owning team and the holder.
WORKS_NORMAL = {"cleo", "lee"}
WORKS_CONFIDENTIAL = {"hana"}

# Who may call each route, by the rule's name in the users' words (docs/architecture.md,
# "Authorisation", and each page's and operation's description), written out here rather than
# read from web/route_rules.py: moving a route to a looser rule there fails this test.
WHO_MAY_CALL: dict[str, set[tuple[str, str]]] = {
    "public": {
        ("GET", "/api/v1/health"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/static"),
        ("POST", "/api/v1/session"),
        ("GET", "/sign-in"),
        ("POST", "/sign-in"),
        ("GET", "/password-reset"),
        ("POST", "/password-reset"),
        ("GET", "/act/{token}"),
        ("POST", "/act/{token}"),
        ("GET", "/play"),
        ("POST", "/play"),
        ("GET", "/mail/unsubscribe/{token}"),
        ("POST", "/mail/unsubscribe/{token}"),
    },
    "signed in": {
        ("GET", "/api/v1/requests"),
        ("GET", "/api/v1/search"),
        ("GET", "/search"),
        ("POST", "/api/v1/cases"),
        ("GET", "/requests"),
        ("GET", "/team"),
        ("GET", "/insight"),
    },
    "raise": {
        ("POST", "/api/v1/requests"),
        ("GET", "/requests/new"),
        ("GET", "/requests/new/services"),
        ("GET", "/requests/new/preview"),
        ("POST", "/requests/new"),
    },
    "request reader": {
        ("GET", "/api/v1/requests/{request_id}"),
        ("GET", "/api/v1/requests/{request_id}/events"),
        ("GET", "/requests/{request_id}"),
        ("GET", "/requests/{request_id}/live"),
        ("GET", "/api/v1/requests/{request_id}/attachments"),
    },
    "request attachment": {
        ("GET", "/api/v1/requests/{request_id}/attachments/{attachment_id}"),
        ("GET", "/requests/{request_id}/attachments/{attachment_id}"),
    },
    "request workers": {
        ("GET", "/api/v1/requests/{request_id}/notes"),
        ("POST", "/api/v1/requests/{request_id}/notes"),
        ("POST", "/requests/{request_id}/notes"),
    },
    "request change": {
        ("POST", "/api/v1/requests/{request_id}/offers"),
        ("POST", "/api/v1/requests/{request_id}/offers/{offer_id}/accept"),
        ("POST", "/api/v1/requests/{request_id}/offers/{offer_id}/decline"),
        ("POST", "/api/v1/requests/{request_id}/offers/{offer_id}/withdraw"),
        ("POST", "/api/v1/requests/{request_id}/clarification"),
        ("POST", "/api/v1/requests/{request_id}/clarification/answer"),
        ("POST", "/api/v1/requests/{request_id}/wait"),
        ("POST", "/api/v1/requests/{request_id}/resume"),
        ("POST", "/api/v1/requests/{request_id}/updates"),
        ("POST", "/api/v1/requests/{request_id}/resolve"),
        ("POST", "/api/v1/requests/{request_id}/confirm"),
        ("POST", "/api/v1/requests/{request_id}/reopen"),
        ("POST", "/api/v1/requests/{request_id}/withdraw"),
        ("POST", "/api/v1/requests/{request_id}/merge"),
        ("POST", "/api/v1/requests/{request_id}/service"),
        ("POST", "/api/v1/requests/{request_id}/cases"),
        ("POST", "/api/v1/requests/{request_id}/promises"),
        ("POST", "/api/v1/requests/{request_id}/promises/{promise_id}/keep"),
        ("POST", "/api/v1/requests/{request_id}/rating"),
        ("POST", "/requests/{request_id}/offers"),
        ("POST", "/requests/{request_id}/offers/{offer_id}/accept"),
        ("POST", "/requests/{request_id}/offers/{offer_id}/decline"),
        ("POST", "/requests/{request_id}/offers/{offer_id}/withdraw"),
        ("POST", "/requests/{request_id}/updates"),
        ("POST", "/requests/{request_id}/promises"),
        ("POST", "/requests/{request_id}/promises/{promise_id}/keep"),
        ("POST", "/requests/{request_id}/clarification"),
        ("POST", "/requests/{request_id}/clarification/answer"),
        ("POST", "/requests/{request_id}/wait"),
        ("POST", "/requests/{request_id}/resume"),
        ("POST", "/requests/{request_id}/resolve"),
        ("POST", "/requests/{request_id}/confirm"),
        ("POST", "/requests/{request_id}/reopen"),
        ("POST", "/requests/{request_id}/withdraw"),
        ("POST", "/requests/{request_id}/merge"),
        ("POST", "/requests/{request_id}/service"),
        ("POST", "/requests/{request_id}/rating"),
        ("POST", "/requests/{request_id}/cases"),
        ("POST", "/api/v1/requests/{request_id}/attachments"),
        ("POST", "/requests/{request_id}/attachments"),
    },
    "yourself": {
        ("GET", "/api/v1/me/notification-choices"),
        ("PUT", "/api/v1/me/notification-choices"),
        ("GET", "/profile/notifications"),
        ("POST", "/profile/notifications"),
        ("GET", "/buddies"),
        ("POST", "/buddies"),
        ("POST", "/buddies/rounds/{round_id}/met"),
        ("GET", "/learning/mine"),
        ("GET", "/api/v1/learning/mine"),
        ("GET", "/shadowing"),
        ("POST", "/shadowing/slots"),
        ("POST", "/shadowing/slots/{slot_id}/book"),
        ("GET", "/shadowing/reflections"),
        ("GET", "/lunch-and-learn"),
        ("POST", "/lunch-and-learn"),
        ("POST", "/lunch-and-learn/{lunch_id}/sign-up"),
        ("POST", "/lunch-and-learn/{lunch_id}/feedback"),
        ("GET", "/messages"),
        ("GET", "/api/v1/roleplay/scenarios"),
        ("GET", "/api/v1/roleplay/attempts"),
        ("POST", "/api/v1/roleplay/attempts"),
        ("POST", "/api/v1/roleplay/score"),
        ("GET", "/practice/role-plays"),
        ("POST", "/practice/role-plays/start"),
        ("GET", "/practice/role-plays/live"),
        ("POST", "/practice/role-plays/live"),
        ("POST", "/practice/role-plays/live/join"),
        ("GET", "/api/v1/roleplay/live"),
        ("POST", "/api/v1/roleplay/live"),
        ("POST", "/api/v1/roleplay/live/join"),
        ("GET", "/account/chat"),
        ("POST", "/account/chat"),
        ("DELETE", "/api/v1/session"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/me/tokens"),
        ("POST", "/api/v1/me/tokens"),
        ("DELETE", "/api/v1/me/tokens/{token_id}"),
        ("POST", "/api/v1/feedback"),
        ("GET", "/api/v1/feedback"),
        ("GET", "/api/v1/inbox"),
        ("POST", "/api/v1/inbox/read"),
        ("POST", "/api/v1/inbox/unread"),
        ("GET", "/notifications"),
        ("POST", "/notifications/read"),
        ("POST", "/notifications/{notification_id}/read"),
        ("POST", "/notifications/{notification_id}/unread"),
        ("POST", "/sign-out"),
        ("GET", "/account/tokens"),
        ("POST", "/account/tokens"),
        ("POST", "/account/tokens/{token_id}/revoke"),
        ("GET", "/profile"),
        ("POST", "/profile"),
        ("GET", "/"),
        ("GET", "/home/list"),
        ("POST", "/inbox/read"),
        ("GET", "/api/v1/views"),
        ("POST", "/api/v1/views"),
        ("PATCH", "/api/v1/views/{view_id}"),
        ("DELETE", "/api/v1/views/{view_id}"),
        ("GET", "/views"),
        ("POST", "/views"),
        ("POST", "/views/{view_id}/rename"),
        ("POST", "/views/{view_id}/delete"),
        ("GET", "/practice"),
        ("GET", "/practice/new"),
        ("POST", "/practice/new"),
    },
    "directory": {
        ("GET", "/api/v1/departments"),
        ("GET", "/api/v1/teams"),
        ("GET", "/api/v1/people"),
        ("GET", "/api/v1/services"),
        ("GET", "/api/v1/services/{service_id}/timescale"),
    },
    "admin": {
        ("GET", "/api/v1/admin/learning-records"),
        ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks"),
        ("PATCH", "/api/v1/webhooks/{subscription_id}"),
        ("DELETE", "/api/v1/webhooks/{subscription_id}"),
        ("POST", "/api/v1/webhooks/{subscription_id}/rotate-secret"),
        ("GET", "/api/v1/webhooks/{subscription_id}/deliveries"),
        ("POST", "/api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/replay"),
        ("GET", "/admin/webhooks"),
        ("POST", "/admin/webhooks"),
        ("GET", "/admin/webhooks/{subscription_id}"),
        ("POST", "/admin/webhooks/{subscription_id}/kinds"),
        ("POST", "/admin/webhooks/{subscription_id}/rotate-secret"),
        ("POST", "/admin/webhooks/{subscription_id}/enabled"),
        ("POST", "/admin/webhooks/{subscription_id}/deliveries/{delivery_id}/replay"),
        ("POST", "/admin/webhooks/{subscription_id}/delete"),
        ("GET", "/admin/mail"),
        ("POST", "/admin/mail/services/{service_id}"),
        ("POST", "/admin/mail/bouncing"),
        ("GET", "/api/v1/admin/mail/services"),
        ("PUT", "/api/v1/admin/mail/services/{service_id}"),
        ("GET", "/api/v1/admin/mail/bouncing"),
        ("POST", "/api/v1/admin/mail/bouncing/fixed"),
        ("POST", "/admin/mail/outbox"),
        ("GET", "/api/v1/admin/mail/outbox"),
        ("POST", "/api/v1/admin/mail/outbox/send-again"),
        ("GET", "/admin/chat"),
        ("POST", "/admin/chat/{channel_id}/switch-on"),
        ("GET", "/api/v1/admin/chat/channels"),
        ("POST", "/api/v1/admin/chat/channels/{channel_id}/switch-on"),
        ("POST", "/api/v1/departments"),
        ("POST", "/api/v1/teams"),
        ("PATCH", "/api/v1/teams/{team_id}"),
        ("POST", "/api/v1/teams/{team_id}/members"),
        ("POST", "/api/v1/teams/{team_id}/holidays"),
        ("POST", "/api/v1/people"),
        ("POST", "/api/v1/services"),
        ("GET", "/admin"),
        ("GET", "/admin/teams/{team_id}"),
        ("POST", "/admin/departments"),
        ("POST", "/admin/teams"),
        ("POST", "/admin/people"),
        ("POST", "/admin/services"),
        ("POST", "/admin/teams/{team_id}/roles"),
        ("POST", "/admin/teams/{team_id}/members"),
        ("POST", "/admin/teams/{team_id}/holidays"),
        ("POST", "/admin/teams/{team_id}/holidays/remove"),
        ("POST", "/admin/teams/{team_id}/members/remove"),
        ("POST", "/admin/teams/{team_id}/calendar"),
        ("POST", "/admin/services/{service_id}"),
        ("POST", "/admin/people/{person_id}/deactivate"),
        ("POST", "/admin/people/{person_id}/reactivate"),
        ("POST", "/admin/people/{person_id}/password-reset"),
        ("DELETE", "/api/v1/teams/{team_id}/holidays/{day}"),
        ("DELETE", "/api/v1/teams/{team_id}/members/{person_id}"),
        ("POST", "/api/v1/people/{person_id}/deactivate"),
        ("POST", "/api/v1/people/{person_id}/reactivate"),
        ("POST", "/api/v1/people/{person_id}/password-reset"),
        ("PATCH", "/api/v1/services/{service_id}"),
        ("GET", "/api/v1/audit"),
    },
    "case reader": {
        ("GET", "/api/v1/cases"),
        ("GET", "/api/v1/cases/{case_id}"),
        ("GET", "/api/v1/insight/ripple/cases/{case_id}"),
        ("GET", "/cases"),
        ("GET", "/cases/{case_id}"),
        ("GET", "/insight/ripple/cases/{case_id}"),
    },
    "group figures": {
        ("GET", "/api/v1/insight/scorecards"),
        ("GET", "/api/v1/insight/scorecards/{level}/{subject_id}"),
        ("GET", "/api/v1/insight/review/{a}/{b}"),
        ("GET", "/insight/scorecards"),
        ("GET", "/insight/scorecards/{level}/{subject_id}"),
        ("GET", "/insight/review/{a}/{b}"),
    },
    "readable figures": {
        ("GET", "/api/v1/insight/ripple/teams/{team_id}"),
        ("GET", "/api/v1/routing/suggestions"),
        ("GET", "/requests/new/suggestions"),
        ("GET", "/insight/ripple"),
        ("GET", "/insight/ripple/teams/{team_id}"),
    },
    "company figures": {
        ("GET", "/api/v1/insight/silo"),
        ("GET", "/api/v1/insight/silo/network.graphml"),
        ("GET", "/api/v1/insight/silo/network.csv"),
        ("GET", "/api/v1/insight/health"),
        ("GET", "/api/v1/insight/digest"),
        ("GET", "/insight/silo"),
        ("GET", "/insight/health"),
        ("GET", "/insight/digest"),
    },
    "individual figures": {
        ("GET", "/api/v1/insight/recognitions"),
        ("POST", "/api/v1/insight/recognitions/confirm"),
        ("POST", "/api/v1/insight/recognitions/dismiss"),
        ("GET", "/insight/recognitions"),
        ("POST", "/insight/recognitions"),
    },
    "team member": {
        ("POST", "/team/{team_id}/offers/{request_id}/{offer_id}/accept"),
        ("POST", "/team/{team_id}/offers/{request_id}/{offer_id}/decline"),
    },
    "team lead": {
        ("GET", "/teams/{team_id}/chat"),
        ("POST", "/teams/{team_id}/chat"),
        ("POST", "/team/{team_id}/accept"),
    },
    "lead": {
        ("GET", "/buddies/rounds"),
        ("GET", "/practice/what-if"),
        ("GET", "/buddies/effect"),
        ("GET", "/messages/new"),
        ("POST", "/messages"),
        ("GET", "/learning"),
        ("POST", "/learning/cohorts"),
        ("POST", "/learning/cohorts/{cohort_id}/sessions"),
        ("POST", "/learning/cohorts/{cohort_id}/members"),
        ("POST", "/learning/sessions/{session_id}/attendance"),
        ("POST", "/learning/cohorts/{cohort_id}/completions"),
        ("POST", "/learning/plans"),
        ("POST", "/learning/evidence"),
        ("GET", "/learning/effect"),
        ("GET", "/learning/debrief"),
        ("GET", "/api/v1/learning/modules"),
        ("GET", "/api/v1/learning/cohorts"),
        ("GET", "/api/v1/learning/effects"),
        ("GET", "/api/v1/learning/debriefs"),
        ("GET", "/board"),
        ("GET", "/board/list"),
    },
    "game facilitator": {
        ("GET", "/practice/{game_id}"),
        ("GET", "/practice/{game_id}/status"),
        ("POST", "/practice/{game_id}/rounds"),
        ("GET", "/practice/{game_id}/assumptions"),
        ("POST", "/practice/{game_id}/assumptions"),
        ("GET", "/practice/{game_id}/debrief"),
        ("GET", "/practice/{game_id}/report.html"),
        ("GET", "/practice/{game_id}/charts/{slug}.png"),
    },
    "lunch organiser": {
        ("POST", "/lunch-and-learn/{lunch_id}/attendance"),
        ("POST", "/lunch-and-learn/{lunch_id}/notes"),
    },
    "shadowing visit": {
        ("POST", "/shadowing/slots/{slot_id}/withdraw"),
        ("POST", "/shadowing/bookings/{booking_id}/cancel"),
        ("POST", "/shadowing/bookings/{booking_id}/reflection"),
    },
    "live role play": {
        ("GET", "/practice/role-plays/live/{live_id}"),
        ("GET", "/practice/role-plays/live/{live_id}/board"),
        ("GET", "/practice/role-plays/live/{live_id}/live"),
        ("POST", "/practice/role-plays/live/{live_id}/turns"),
        ("POST", "/practice/role-plays/live/{live_id}/marks"),
        ("POST", "/practice/role-plays/live/{live_id}/close"),
        ("GET", "/practice/role-plays/live/{live_id}/debrief"),
        ("GET", "/api/v1/roleplay/live/{live_id}"),
        ("POST", "/api/v1/roleplay/live/{live_id}/turns"),
        ("POST", "/api/v1/roleplay/live/{live_id}/marks"),
        ("POST", "/api/v1/roleplay/live/{live_id}/close"),
        ("GET", "/api/v1/roleplay/live/{live_id}/debrief"),
    },
    "role play player": {
        ("GET", "/api/v1/roleplay/attempts/{attempt_id}"),
        ("POST", "/api/v1/roleplay/attempts/{attempt_id}/turns"),
        ("GET", "/practice/role-plays/attempts/{attempt_id}"),
        ("POST", "/practice/role-plays/attempts/{attempt_id}/turns"),
    },
    "game player": {
        ("GET", "/play/team"),
        ("GET", "/play/team/budget"),
        ("GET", "/play/team/status"),
        ("POST", "/play/team/decisions"),
    },
}
EXPECTED_RULE = {route: name for name, routes in WHO_MAY_CALL.items() for route in routes}
assert len(EXPECTED_RULE) == sum(len(routes) for routes in WHO_MAY_CALL.values())


def _app_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    found = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.route, Mount):
            found.add(("GET", str(route.path)))
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, str(route.path)))
    return found


def test_every_route_has_exactly_one_rule_and_every_rule_a_route() -> None:
    routes = _app_routes()
    assert sorted(routes - set(r.ROUTES)) == [], "routes without an authorisation rule"
    assert sorted(set(r.ROUTES) - routes) == [], "rules for routes that no longer exist"


def test_the_route_table_guards_each_route_with_the_rule_written_here() -> None:
    table = {route: rule.name for route, rule in r.ROUTES.items()}
    assert sorted(set(table) ^ set(EXPECTED_RULE)) == [], "routes in only one of the two tables"
    differing = {route: (table[route], EXPECTED_RULE[route]) for route in table}
    assert {k: v for k, v in differing.items() if v[0] != v[1]} == {}


def test_a_head_request_follows_the_get_rule() -> None:
    assert r.rule_for("HEAD", "/api/v1/health") is r.PUBLIC
    with pytest.raises(KeyError):
        r.rule_for("GET", "/no/such/route")


# ---- the sweep over real HTTP -----------------------------------------------------------------


@dataclass
class Caller:
    handle: str | None
    api: httpx.Client
    pages: httpx.Client
    csrf: str


@dataclass
class Answer:
    method: str
    path: str
    url: str
    handle: str | None
    status: int
    body: str
    location: str


def _callers(db: Database, world: World, clock: Clock, live: LiveServer) -> Iterator[Caller]:
    tokens = issue_tokens(db, world, clock)
    for handle in ROLES.values():
        if handle is None:
            api = httpx.Client(base_url=live.base_url, timeout=30)
            pages = httpx.Client(base_url=live.base_url, timeout=30)
            yield Caller(None, api, pages, "")
            continue
        with db.unit_of_work() as session:
            person = session.get(Person, world.people[handle])
            assert person is not None
            cookie, row = start_web_session(session, person, clock.now, 1)
            csrf = row.csrf_token
        api = httpx.Client(
            base_url=live.base_url,
            headers={"Authorization": f"Bearer {tokens[handle]}"},
            timeout=30,
        )
        pages = httpx.Client(base_url=live.base_url, cookies={"ft_session": cookie}, timeout=30)
        yield Caller(handle, api, pages, csrf)


def _bindings(world: World, story: ConfidentialStory) -> dict[str, list[str]]:
    """The values each path parameter takes: every combination is called."""
    return {
        "request_id": [str(story.normal), str(story.confidential)],
        "case_id": [str(story.shared_case), str(story.hr_only_case)],
        "team_id": [str(world.teams["hr"]), str(world.teams["admin"])],
        "level": ["person", "team"],
        "subject_id": [str(world.people["cleo"])],
        "a": [str(world.teams["claims"])],
        "b": [str(world.teams["hr"])],
        "service_id": [str(world.services["grievance"])],
        "game_id": ["999999"],
        "slug": ["flow"],
        "token_id": ["999999"],
        "offer_id": ["999999"],
        "promise_id": ["999999"],
        "view_id": ["999999"],
        "attachment_id": ["999999"],
        "token": ["not.signed"],
        "subscription_id": ["999999"],
        "delivery_id": ["999999"],
        "attempt_id": ["999999"],
        "round_id": ["999999"],
        "live_id": ["999999"],
    }


# Query strings that make a route search or show something the grievance could leak into.
QUERIES = {
    "/api/v1/requests": {"limit": "200"},
    "/api/v1/routing/suggestions": {"text": GRIEVANCE_TITLE},
    "/requests/new/suggestions": {"title": GRIEVANCE_TITLE, "need": GRIEVANCE_NEED},
    "/requests/new/preview": {"service_id": "0"},
    "/api/v1/cases": {"q": ""},
    # Words of the grievance's title and need that are not its markers (the box shows what
    # was typed): only those who may read it find it, and nobody else counts it.
    "/api/v1/search": {"q": "grievance happened twice"},
    "/search": {"q": "grievance happened twice"},
    "/cases": {"reference": HR_ONLY_CASE},
    "/home/list": {"show": "offers"},
    "/board/list": {"show": "offers"},
    "/insight/ripple/teams/{team_id}": {"start": "2026-01-01"},
    "/api/v1/insight/ripple/teams/{team_id}": {"start": "2026-01-01T00:00:00Z"},
}


def _urls(path: str, bindings: dict[str, list[str]]) -> list[tuple[str, dict[str, str]]]:
    names = re.findall(r"{(\w+)}", path)
    combos: list[dict[str, str]] = [{}]
    for name in names:
        combos = [{**c, name: v} for c in combos for v in bindings[name]]
    result = []
    for combo in combos:
        url = path
        for name, value in combo.items():
            url = url.replace("{" + name + "}", value)
        result.append((url, combo))
    return result


def _call(caller: Caller, method: str, path: str, url: str, data: dict[str, str]) -> Answer:
    client = caller.api if path.startswith("/api/") else caller.pages
    params = QUERIES.get(path, {})
    if path == "/static":
        url = "/static/app.css"
    if path.endswith("/live"):
        with client.stream(method, url, params=params) as response:
            first = next(response.iter_text(), "") if response.status_code == 200 else ""
            body = first if response.status_code == 200 else response.read().decode()
            location = response.headers.get("location", "")
            return Answer(method, path, url, caller.handle, response.status_code, body, location)
    if method == "GET":
        response = client.get(url, params=params)
    elif path.startswith("/api/"):
        response = client.request(method, url, json=data)
    else:
        response = client.request(
            method, url, data={**data, "csrf_token": caller.csrf}, headers={"HX-Request": "true"}
        )
    return Answer(
        method,
        path,
        url,
        caller.handle,
        response.status_code,
        response.text,
        response.headers.get("location", ""),
    )


def _expect_status(
    answer: Answer, rule: str, combo: dict[str, str], story: ConfidentialStory
) -> None:
    """The status the route's rule (its name in WHO_MAY_CALL) promises this caller."""
    where = f"{answer.method} {answer.url} as {answer.handle}: {answer.status}"
    assert answer.status < 500, where
    if rule == "public":
        assert answer.status not in (401, 403), where
        return
    if rule == "game player":
        # Nobody here joined a game: sent to join, or (the page's poll) nothing to show.
        assert answer.status in (204, 303, 307), where
        assert answer.status == 204 or "/play" in answer.location, where
        return
    if answer.handle is None:
        if answer.path.startswith("/api/"):
            assert answer.status == 401, where
        else:
            assert answer.status == 303, where
            assert answer.location.startswith("/sign-in"), where
        return
    assert answer.status != 401, where
    request_id = combo.get("request_id")
    if rule == "request reader" and request_id is not None:
        readers = READS_CONFIDENTIAL if int(request_id) == story.confidential else READS_NORMAL
        if answer.handle in readers:
            assert answer.status == 200, where
        else:
            assert answer.status == 404, where
    elif rule == "request attachment":
        assert answer.status == 404, where  # request 1 and 2 have no attachment 999999
    elif rule == "request workers" and request_id is not None:
        confidential = int(request_id) == story.confidential
        readers = READS_CONFIDENTIAL if confidential else READS_NORMAL
        workers = WORKS_CONFIDENTIAL if confidential else WORKS_NORMAL
        if answer.handle in workers:
            assert answer.status == 200, where
        else:
            assert answer.status == (403 if answer.handle in readers else 404), where
    elif rule == "admin" and "subscription_id" in combo:
        # No webhook 999999: the admin is told so, anyone else is refused first.
        assert answer.status == (404 if answer.handle == "ada" else 403), where
    elif rule == "admin":
        assert answer.status == (200 if answer.handle == "ada" else 403), where
    elif rule == "lead":
        leads = {"carl", "lee", "hana", "ada"}
        assert answer.status == (200 if answer.handle in leads else 403), where
    elif rule == "game facilitator":
        assert answer.status == 404, where  # nobody facilitates game 999999
    elif rule == "live role play":
        assert answer.status == 404, where  # nobody facilitates or joined live session 999999
    elif rule == "role play player":
        assert answer.status == 404, where  # nobody played role-play attempt 999999
    elif rule == "group figures" and combo.get("level") == "person":
        may = answer.handle in ("cleo", "lee")  # the person and her lead
        assert answer.status == (200 if may else 404), where
    elif rule in ("company figures", "individual figures", "readable figures", "yourself"):
        assert answer.status in (200, 303), where


def _assert_no_leak(answer: Answer, rule: str) -> None:
    if answer.handle in READS_CONFIDENTIAL or answer.handle == "tess":
        return
    where = f"{answer.method} {answer.url} as {answer.handle}"
    for marker in MARKERS:
        assert marker not in answer.body, f"{where} shows the grievance ({marker})"
    # A case is not confidential: its own pages show its reference to anyone signed in. Nothing
    # else may tie it (or its customer) to the grievance it waits on.
    if rule != "case reader":
        for marker in CASE_MARKERS:
            assert marker not in answer.body, f"{where} shows the HR-only case ({marker})"


def _grievance_events(db: Database, story: ConfidentialStory) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(
            session.scalar(select(func.count()).where(Event.request_id == story.confidential)) or 0
        )


@pytest.mark.slow
def test_every_route_answers_each_role_as_its_rule_says_and_never_shows_the_grievance(
    db: Database, world: World, clock: Clock, request: pytest.FixtureRequest
) -> None:
    if "postgresql" in request.node.callspec.id:
        pytest.skip("the sweep runs on SQLite; the hand-off test covers PostgreSQL")
    with db.unit_of_work() as session:
        story = build_confidential_story(session, world, clock.now)
    clock.advance(hours=5)
    bindings = _bindings(world, story)
    events_before = _grievance_events(db, story)
    seen_by_hr = False
    with serving(db, clock) as live:
        callers = list(_callers(db, world, clock, live))
        try:
            for method, path in sorted(_app_routes()):
                rule = EXPECTED_RULE[(method, path)]
                if method != "GET" and not ("{request_id}" in path and rule == "request change"):
                    continue
                for url, combo in _urls(path, bindings):
                    if method != "GET" and combo["request_id"] != str(story.confidential):
                        continue
                    for caller in callers:
                        if method != "GET" and caller.handle in READS_CONFIDENTIAL:
                            continue
                        answer = _call(caller, method, path, url, {})
                        if method == "GET":
                            _expect_status(answer, rule, combo, story)
                        elif caller.handle is not None:
                            # A change to a request one may not read: 404, or 422 for a body
                            # the route cannot read at all; never 403, which says it exists.
                            assert answer.status in (404, 422), (
                                f"{method} {url} as {caller.handle}: {answer.status}"
                            )
                        _assert_no_leak(answer, rule)
                        if caller.handle == "hana" and MARKERS[0] in answer.body:
                            seen_by_hr = True
        finally:
            for caller in callers:
                caller.api.close()
                caller.pages.close()
    # The markers are findable: HR, who may read the grievance, does see them.
    assert seen_by_hr
    assert _grievance_events(db, story) == events_before, "a refused change wrote history"


# ---- the confidential hand-off, on both databases ----------------------------------------------


def test_a_confidential_request_offered_to_another_team_is_theirs_to_read_and_answer(
    db: Database, world: World, clock: Clock
) -> None:
    with db.unit_of_work() as session:
        story = build_confidential_story(session, world, clock.now)
    tokens = issue_tokens(db, world, clock)
    clock.advance(hours=1)
    path = f"/requests/{story.confidential}"
    with serving(db, clock) as live:
        api = {handle: live.client(token) for handle, token in tokens.items()}

        def readers() -> set[str]:
            found = set()
            for handle in ("dan", "cleo", "lee", "asha", "carl", "otto", "ada", "hana"):
                answer = api[handle].get(path)
                assert answer.status_code in (200, 404), (handle, answer.status_code)
                if answer.status_code == 200:
                    assert answer.json()["title"] == GRIEVANCE_TITLE
                    found.add(handle)
            return found

        admin_team = world.teams["admin"]
        offer = api["hana"].post(
            f"{path}/offers", json={"to_team_id": admin_team, "to_person_id": world.people["dan"]}
        )
        assert offer.status_code in (200, 201), offer.text
        # While the offer is open, Policy Admin (and dan, whom it names) may read it.
        assert readers() == {"dan", "cleo", "lee", "hana"}
        assert GRIEVANCE_TITLE in api["dan"].get("/inbox").text
        assert GRIEVANCE_TITLE not in api["asha"].get("/inbox").text
        offer_id = _open_offer_id(db, story.confidential)
        declined = api["dan"].post(f"{path}/offers/{offer_id}/decline", json={"reason": "no"})
        assert declined.status_code == 200, declined.text
        # Declined: back to HR alone.
        assert readers() == {"hana"}

        api["hana"].post(f"{path}/offers", json={"to_team_id": admin_team})
        offer_id = _open_offer_id(db, story.confidential)
        # Someone outside the team it was offered to cannot even see the offer.
        assert api["asha"].post(f"{path}/offers/{offer_id}/accept").status_code == 404
        accepted = api["cleo"].post(f"{path}/offers/{offer_id}/accept")
        assert accepted.status_code == 200, accepted.text
        assert api["cleo"].get(path).json()["owner"]["id"] == world.people["cleo"]
        # Policy Admin holds it now; HR still reads it (its service); nobody else does.
        assert readers() == {"dan", "cleo", "lee", "hana"}

        # The shared case's ripple: otto, who raised the normal request, sees it and its hours,
        # but no hours, request or team of the grievance.
        ripple = api["otto"].get(f"/insight/ripple/cases/{story.shared_case}").json()
        assert story.confidential not in ripple["requests"]
        assert story.normal in ripple["requests"]
        assert "HR" not in ripple["hours_by_team"]
        assert (
            "HR"
            in api["hana"].get(f"/insight/ripple/cases/{story.shared_case}").json()["hours_by_team"]
        )


def _open_offer_id(db: Database, request_id: int) -> int:
    with db.unit_of_work(readonly=True) as session:
        found = session.scalar(
            select(Offer.id).where(Offer.request_id == request_id, Offer.state == "open")
        )
    assert found is not None
    return int(found)


def test_the_api_declines_a_confidential_offer(db: Database, world: World, clock: Clock) -> None:
    with db.unit_of_work() as session:
        story = build_confidential_story(session, world, clock.now)
    tokens = issue_tokens(db, world, clock)
    path = f"/requests/{story.confidential}"
    with serving(db, clock) as live:
        hana, dan = live.client(tokens["hana"]), live.client(tokens["dan"])
        hana.post(f"{path}/offers", json={"to_team_id": world.teams["admin"]})
        offer_id = _open_offer_id(db, story.confidential)
        declined = dan.post(f"{path}/offers/{offer_id}/decline", json={"reason": "not ours"})
        assert declined.status_code == 200, declined.text
        # The decline stands, and its answer tells the decliner nothing they may not read.
        assert GRIEVANCE_TITLE not in declined.text
        assert set(declined.json()) == {"id", "state", "version", "owner_id", "team_id"}
        assert dan.get(path).status_code == 404
        offers = hana.get(path).json()["offers"]
        assert [o["state"] for o in offers if o["id"] == offer_id] == ["declined"]
