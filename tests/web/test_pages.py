"""The pages over real HTTP: sign-in, CSRF, field errors, authorisation and the request flow."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.requests.models import Offer, Request
from followthrough.sweeper.service import sweep
from tests.conftest import Clock, LiveServer
from tests.factories import PASSWORD, World
from tests.insight.routing_history import Past, write_history
from tests.web.pages import Visitor


@pytest.fixture
def visit(live_server: LiveServer) -> Iterator[dict[str, Visitor]]:
    """Signed-in visitors by handle, created on first use."""
    visitors: dict[str, Visitor] = {}

    class Visitors(dict[str, Visitor]):
        def __missing__(self, handle: str) -> Visitor:
            visitor = Visitor(live_server.base_url)
            assert visitor.sign_in(handle).status_code == 303
            self[handle] = visitor
            return visitor

    found = Visitors()
    yield found
    for visitor in [*found.values(), *visitors.values()]:
        visitor.close()


def _events(db: Database) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def _raise(visitor: Visitor, world: World, **extra: str) -> int:
    form = {
        "service_id": str(world.services["correct_policy"]),
        "title": "Policy P-100 has the wrong address",
        "need": "Correct the address so claim C-1 can be paid",
        **extra,
    }
    response = visitor.post("/requests/new", form)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def _open_offer(db: Database, request_id: int) -> int:
    with db.unit_of_work(readonly=True) as session:
        offer = session.scalar(
            select(Offer.id).where(Offer.request_id == request_id, Offer.state == "open")
        )
        assert offer is not None
        return int(offer)


def test_pages_need_sign_in_and_come_back_after_it(live_server: LiveServer, world: World) -> None:
    visitor = Visitor(live_server.base_url)
    try:
        response = visitor.get("/team")
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=/team"
        wrong = visitor.sign_in("asha", "not the password")
        assert wrong.status_code == 401
        assert "do not match" in wrong.text
        assert visitor.sign_in("asha").status_code == 303
        home = visitor.get("/")
        assert home.status_code == 200
        assert "What needs you now, Asha" in home.text
    finally:
        visitor.close()


def test_a_form_sent_after_the_session_ended_comes_back_to_its_page_after_sign_in(
    live_server: LiveServer, world: World
) -> None:
    visitor = Visitor(live_server.base_url)
    try:
        assert visitor.sign_in("asha").status_code == 303
        request_id = _raise(visitor, world)
        page = f"/requests/{request_id}"
        visitor.http.cookies.delete("ft_session")  # the session ended while the form was open
        sent = visitor.http.post(
            f"{page}/updates",
            data={"csrf_token": visitor.csrf, "body": "Any news?"},
            headers={"Referer": f"{live_server.base_url}{page}"},
        )
        assert sent.status_code == 303
        # The form's own address answers only its POST: signing in goes back to the page.
        assert sent.headers["location"] == f"/sign-in?next={page}"
        form = visitor.get(sent.headers["location"])
        signed_in = visitor.http.post(
            "/sign-in",
            data={
                "handle": "asha",
                "password": PASSWORD,
                "signin_token": re.search(r'name="signin_token" value="([^"]+)"', form.text)[1],
                "next": page,
            },
        )
        assert signed_in.headers["location"] == page
        assert visitor.get(page).status_code == 200
        # Without a page of this site to go back to, it is Home.
        visitor.http.cookies.delete("ft_session")
        assert visitor.post(f"{page}/updates", {"body": "x"}).headers["location"] == "/sign-in"
    finally:
        visitor.close()


def test_sign_in_form_needs_its_own_token(live_server: LiveServer, world: World) -> None:
    visitor = Visitor(live_server.base_url)
    try:
        forged = visitor.http.post("/sign-in", data={"handle": "asha", "password": "x"})
        assert forged.status_code == 403
        assert "ft_session" not in visitor.http.cookies
    finally:
        visitor.close()


def test_forms_without_the_csrf_token_change_nothing(
    db: Database, world: World, visit: dict[str, Visitor]
) -> None:
    asha = visit["asha"]
    before = _events(db)
    refused = asha.post(
        "/requests/new",
        {"title": "t", "need": "n", "service_id": str(world.services["correct_policy"])},
        csrf=False,
    )
    assert refused.status_code == 403
    assert "reload the page" in refused.text
    assert _events(db) == before


def test_raise_form_shows_errors_next_to_the_fields_and_keeps_the_input(
    db: Database, world: World, visit: dict[str, Visitor]
) -> None:
    asha = visit["asha"]
    page = asha.post(
        "/requests/new",
        {
            "service_id": str(world.services["correct_policy"]),
            "title": "",
            "need": "keep me",
            "desired_by": "2000-01-01",
        },
    )
    assert page.status_code == 422
    assert 'id="raise-title-error"' in page.text
    assert "\u201cIn one line, what do you need?\u201d must not be empty." in page.text
    assert "keep me" in page.text
    past = asha.post(
        "/requests/new",
        {
            "service_id": str(world.services["correct_policy"]),
            "title": "t",
            "need": "n",
            "desired_by": "2000-01-01",
        },
    )
    assert 'id="raise-desired_by-error"' in past.text
    unknown_case = asha.post(
        "/requests/new",
        {
            "service_id": str(world.services["correct_policy"]),
            "title": "t",
            "need": "n",
            "cases": "CLM-404",
        },
    )
    assert 'id="raise-cases-error"' in unknown_case.text
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 0


def test_raise_form_previews_the_targets_and_the_timescale(
    world: World, visit: dict[str, Visitor]
) -> None:
    asha = visit["asha"]
    found = asha.get("/requests/new/services", params={"q": "policy document"})
    assert "Correct a policy document" in found.text
    assert "Review a claim" not in found.text
    preview = asha.get(
        "/requests/new/preview", params={"service_id": world.services["correct_policy"]}
    )
    assert "Not enough history" in preview.text
    assert "resolve: <strong>16 h" in preview.text


def test_a_service_chosen_among_the_suggestions_stays_chosen_as_they_are_drawn_again(
    world: World, visit: dict[str, Visitor]
) -> None:
    asha = visit["asha"]
    chosen = world.services["correct_policy"]
    # No history to suggest from: the chosen service is kept, checked, and said to be her choice.
    again = asha.get(
        "/requests/new/suggestions",
        params={"title": "wrong address", "need": "", "service_id": str(chosen)},
    )
    radio = re.search(rf'<input type="radio" name="service_id" value="{chosen}"[^>]*>', again.text)
    assert radio is not None
    assert " checked" in radio.group(0)
    assert "your choice; no longer among the services that fit your words" in again.text
    # Nothing chosen, or a service not offered: nothing is kept.
    for params in ({}, {"service_id": "unsure"}, {"service_id": "999999"}):
        plain = asha.get("/requests/new/suggestions", params={"title": "wrong address", **params})
        assert plain.status_code == 200
        assert "<fieldset" not in plain.text


def test_raising_with_a_new_case_links_it_and_the_case_page_shows_the_honest_date(
    world: World, visit: dict[str, Visitor]
) -> None:
    asha = visit["asha"]
    rid = _raise(asha, world, cases="CLM-1", customer="Mrs Jones")
    page = asha.get(f"/requests/{rid}")
    assert page.status_code == 200
    assert "CLM-1" in page.text
    case_link = re.search(r'href="/cases/(\d+)"', page.text)
    assert case_link
    case = asha.get(f"/cases/{case_link.group(1)}")
    assert "Mrs Jones" in case.text
    assert "What you can tell the customer" in case.text
    assert f"/requests/{rid}" in case.text
    assert (
        asha.get("/cases", params={"reference": "CLM-1"}).headers["location"]
        == f"/cases/{case_link.group(1)}"
    )


def test_decline_needs_a_reason_and_the_sender_sees_it(
    db: Database, world: World, visit: dict[str, Visitor]
) -> None:
    rid = _raise(visit["asha"], world)
    offer = _open_offer(db, rid)
    cleo = visit["cleo"]
    admin = world.teams["admin"]
    blank = cleo.post(f"/team/{admin}/offers/{rid}/{offer}/decline", {"reason": "  "})
    assert blank.status_code == 422
    assert f'id="decline-{offer}-reason-error"' in blank.text
    done = cleo.post(
        f"/team/{admin}/offers/{rid}/{offer}/decline", {"reason": "Claims must fix this"}
    )
    assert done.status_code == 303
    page = visit["asha"].get(f"/requests/{rid}")
    assert "Claims must fix this" in page.text


def test_a_decline_refused_on_the_team_queue_keeps_the_reason_typed(
    db: Database, world: World, visit: dict[str, Visitor]
) -> None:
    rid = _raise(visit["asha"], world)
    offer = _open_offer(db, rid)
    reason = "Claims must fix this first. " * 200  # over the 5,000 characters allowed
    refused = visit["cleo"].post(
        f"/team/{world.teams['admin']}/offers/{rid}/{offer}/decline", {"reason": reason}
    )
    assert refused.status_code == 422
    assert f'id="decline-{offer}-reason-error"' in refused.text
    assert f">{reason}</textarea>" in refused.text


def test_an_offer_answered_in_another_tab_says_so_on_the_team_queue(
    db: Database, world: World, visit: dict[str, Visitor]
) -> None:
    rid = _raise(visit["asha"], world)
    offer = _open_offer(db, rid)
    cleo = visit["cleo"]
    accept = f"/team/{world.teams['admin']}/offers/{rid}/{offer}/accept"
    assert cleo.post(accept).status_code == 303
    again = cleo.post(accept)  # the second tab, still showing the offer
    assert again.status_code == 409
    told = f"Offer {offer} is accepted. It was answered meanwhile; this is the queue as it is now."
    assert told in again.text
    declined = cleo.post(
        f"/team/{world.teams['admin']}/offers/{rid}/{offer}/decline", {"reason": "Not ours"}
    )
    assert declined.status_code == 409
    assert told in declined.text


def test_the_request_pages_forms_keep_what_was_typed_when_refused(
    db: Database, world: World, visit: dict[str, Visitor]
) -> None:
    rid = _raise(visit["asha"], world)
    cleo = visit["cleo"]
    accepted = cleo.post(f"/requests/{rid}/offers/{_open_offer(db, rid)}/accept")
    assert accepted.status_code == 303
    long_note = "Waiting on the broker's letter. " * 170  # over the 5,000 characters allowed
    too_long = cleo.post(f"/requests/{rid}/wait", {"reason": "outside", "note": long_note})
    assert too_long.status_code == 422
    assert 'id="pause-note-error"' in too_long.text
    assert f">{long_note}</textarea>" in too_long.text.replace("&#39;", "'")
    assert 'value="outside" checked' in too_long.text
    no_reason = cleo.post(f"/requests/{rid}/wait", {"note": "The broker's letter"})
    assert no_reason.status_code == 422
    assert ">The broker&#39;s letter</textarea>" in no_reason.text
    question = cleo.post(f"/requests/{rid}/clarification", {"question": "Which policy? " * 400})
    assert question.status_code == 422
    assert 'id="ask-question-error"' in question.text
    assert ">" + "Which policy? " * 400 + "</textarea>" in question.text
    case = cleo.post(f"/requests/{rid}/cases", {"cases": "CLM-404"})
    assert case.status_code == 422
    assert 'id="cases-cases-error"' in case.text
    assert 'value="CLM-404"' in case.text


def test_the_request_flow_through_the_pages(
    db: Database, world: World, visit: dict[str, Visitor], clock: Clock
) -> None:
    asha, dan, cleo, lee = (visit[h] for h in ("asha", "dan", "cleo", "lee"))
    rid = _raise(asha, world)
    offer = _open_offer(db, rid)
    version = re.search(r'name="version" value="(\d+)"', dan.get(f"/requests/{rid}").text)
    assert version
    handed = dan.post(
        f"/requests/{rid}/offers",
        {
            "target": f"person:{world.teams['admin']}:{world.people['cleo']}",
            "note": "yours",
            "version": version.group(1),
        },
    )
    assert handed.status_code == 303, handed.text
    stale = dan.post(f"/requests/{rid}/updates", {"body": "late", "version": version.group(1)})
    assert stale.status_code == 409
    assert "Someone changed this request" in stale.text
    assert cleo.get("/").text.count(f"/requests/{rid}") >= 1
    handoff = _open_offer(db, rid)
    assert handoff != offer
    assert cleo.post(f"/requests/{rid}/offers/{handoff}/accept").status_code == 303
    due = (clock.now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert (
        cleo.post(f"/requests/{rid}/promises", {"what": "Call back", "due_at": due}).status_code
        == 303
    )
    clock.advance(hours=2)
    sweep(db, clock.now)  # 11:00: the promise is broken
    clock.advance(hours=2)
    sweep(db, clock.now)  # 13:00: the update is due, the owner reminded
    clock.advance(hours=3)
    sweep(db, clock.now)  # 16:00: still none, so the lead hears of it
    board = lee.get("/board")
    assert board.status_code == 200
    assert 'Broken promises this week <span class="count">1</span>' in board.text
    assert 'Escalations this week <span class="count">1</span>' in board.text
    assert "update overdue" in board.text
    assert cleo.post(f"/requests/{rid}/resolve", {"resolution": ""}).status_code == 422
    assert cleo.post(f"/requests/{rid}/resolve", {"resolution": "Fixed"}).status_code == 303
    assert asha.post(f"/requests/{rid}/confirm").status_code == 303
    missing = asha.post(f"/requests/{rid}/rating", {"understand": "4", "own": "3", "serve": "4"})
    assert 'id="rating-communicate-error"' in missing.text
    rated = asha.post(
        f"/requests/{rid}/rating",
        {"understand": "4", "own": "3", "serve": "4", "communicate": "1", "comment": "no call"},
    )
    assert rated.status_code == 303
    page = asha.get(f"/requests/{rid}")
    assert "rated it: Understand 4" in page.text
    assert "A promise by Cleo Clerk was broken" in page.text
    assert "Feedback you received" in cleo.get("/").text
    assert "no call" in cleo.get("/").text


def test_confidential_requests_are_not_found_for_outsiders(
    world: World, visit: dict[str, Visitor]
) -> None:
    rid = _raise(
        visit["otto"], world, service_id=str(world.services["grievance"]), title="Grievance"
    )
    assert visit["cleo"].get(f"/requests/{rid}").status_code == 404
    assert visit["cleo"].get(f"/requests/{rid}/live").status_code == 404
    assert "Grievance" not in visit["cleo"].get("/team").text
    assert visit["hana"].get(f"/requests/{rid}").status_code == 200


def test_only_admins_see_admin_and_leads_see_their_board(
    world: World, visit: dict[str, Visitor]
) -> None:
    assert visit["asha"].get("/admin").status_code == 403
    assert visit["asha"].get(f"/board?team_id={world.teams['admin']}").status_code == 403
    ada = visit["ada"]
    assert ada.get("/admin").status_code == 200
    bad = ada.post(
        "/admin/teams",
        {
            "department_id": str(world.departments["Claims"]),
            "name": "X",
            "timezone": "Mars/Olympus",
        },
    )
    assert bad.status_code == 422
    assert 'id="team-timezone-error"' in bad.text
    added = ada.post("/admin/departments", {"name": "Finance"})
    assert added.status_code == 303
    assert "Finance" in ada.get("/admin").text
    holiday = ada.post(
        f"/admin/teams/{world.teams['admin']}/holidays",
        {"day": "2026-04-06", "name": "Easter Monday"},
    )
    assert holiday.status_code == 303
    assert "2026-04-06" in ada.get(f"/admin/teams/{world.teams['admin']}").text


def test_api_tokens_are_shown_once_and_can_be_revoked(
    live_server: LiveServer, world: World, visit: dict[str, Visitor]
) -> None:
    asha = visit["asha"]
    created = asha.post("/account/tokens", {"name": "script"})
    secret = re.search(r'<code class="secret">(ft_[^<]+)</code>', created.text)
    assert secret
    api = live_server.client(secret.group(1))
    assert api.get("/me").json()["handle"] == "asha"
    token_id = re.search(r"/account/tokens/(\d+)/revoke", created.text)
    assert token_id
    assert asha.post(f"/account/tokens/{token_id.group(1)}/revoke").status_code == 303
    assert api.get("/me").status_code == 401


def test_unsure_requests_get_team_suggestions_and_can_go_straight_to_one(
    db: Database, world: World, visit: dict[str, Visitor]
) -> None:
    asha = visit["asha"]
    # Suggestions show only once they beat always choosing the busiest team on past requests.
    p, t = world.people, world.teams
    with db.unit_of_work() as session:
        write_history(
            session,
            [
                Past(p["asha"], t["admin"], p["cleo"], "Policy address wrong", "fix it")
                if n % 2
                else Past(p["cleo"], t["claims"], p["asha"], "Claim payment late", "pay it")
                for n in range(100)
            ],
        )
    for n in range(3):
        rid = _raise(asha, world, title=f"Policy address wrong {n}", need="fix the policy address")
        dan = visit["dan"]
        intake = _open_offer(db, rid)
        assert dan.post(f"/requests/{rid}/offers/{intake}/accept", {}).status_code == 303
        done = dan.post(f"/requests/{rid}/resolve", {"resolution": "fixed"})
        assert done.status_code == 303
    suggested = asha.get(
        "/requests/new/suggestions", params={"title": "wrong policy address", "need": "please fix"}
    )
    assert "Who usually does this?" in suggested.text
    assert "Policy Admin" in suggested.text
    assert "of the time on the last 21 resolved requests; always choosing" in suggested.text
    assert (
        asha.get("/requests/new/suggestions", params={"title": "", "need": ""}).text.count(
            "<fieldset"
        )
        == 0
    )
    form = {"service_id": "unsure", "title": "Address again", "need": "fix the policy address"}
    sent = asha.post("/requests/new", {**form, "team_id": str(world.teams["admin"])})
    assert sent.status_code == 303
    rid = int(sent.headers["location"].rsplit("/", 1)[1])
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.team_id == world.teams["admin"]
        assert request.owner_id == world.people["dan"]
    triaged = asha.post("/requests/new", {**form, "team_id": ""})
    rid = int(triaged.headers["location"].rsplit("/", 1)[1])
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.team_id == world.teams["triage"]


def test_an_admin_adds_a_person_on_the_admin_page_who_can_then_sign_in(
    live_server: LiveServer, world: World, visit: dict[str, Visitor]
) -> None:
    ada = visit["ada"]
    short = ada.post(
        "/admin/people",
        {"handle": "nina", "name": "Nina New", "email": "nina@example.com", "password": "short"},
    )
    assert short.status_code == 422
    assert 'id="person-password-error"' in short.text
    refused = visit["asha"].post(
        "/admin/people",
        {"handle": "mal", "name": "Mal", "email": "mal@example.com", "password": "long enough 1"},
    )
    assert refused.status_code == 403
    added = ada.post(
        "/admin/people",
        {
            "handle": "nina",
            "name": "Nina New",
            "email": "nina@example.com",
            "password": "long enough 1",
        },
    )
    assert added.status_code == 303, added.text
    assert "Nina New" in ada.get("/admin").text
    assert "Mal" not in ada.get("/admin").text
    nina = Visitor(live_server.base_url)
    try:
        assert nina.sign_in("nina", "long enough 1").status_code == 303
    finally:
        nina.close()


def test_a_refused_new_service_keeps_its_team_targets_and_confidentiality(
    world: World, visit: dict[str, Visitor]
) -> None:
    hr = str(world.teams["hr"])
    refused = visit["ada"].post(
        "/admin/services",
        {
            "team_id": hr,
            "name": "",
            "description": "Heard in confidence",
            "accept_target_hours": "6",
            "update_every_hours": "12",
            "resolve_target_hours": "0.1",
            "auto_close_days": "7",
            "confidential": "true",
        },
    )
    assert refused.status_code == 422
    assert 'id="service-name-error"' in refused.text
    form = refused.text[refused.text.index('action="/admin/services"') :]
    assert f'<option value="{hr}" selected>' in form
    assert ">Heard in confidence</textarea>" in form
    for name, typed in (("accept_target_hours", "6"), ("update_every_hours", "12")):
        assert f'name="{name}" type="number" value="{typed}"' in form
    assert 'name="resolve_target_hours" type="number" value="0.1"' in form
    assert 'name="auto_close_days" type="number" value="7"' in form
    # Re-sent as shown, it would not quietly become a service everyone may read.
    assert 'name="confidential" value="true" checked' in form


def test_a_refused_holiday_keeps_its_day_and_name(world: World, visit: dict[str, Visitor]) -> None:
    team = world.teams["admin"]
    name = "Founders' Day, kept by the Policy Administration department since 1987 " * 2
    refused = visit["ada"].post(
        f"/admin/teams/{team}/holidays", {"day": "2026-12-28", "name": name}
    )
    assert refused.status_code == 422
    assert 'id="holiday-name-error"' in refused.text
    assert 'value="2026-12-28"' in refused.text
    assert 'value="' + name.replace("'", "&#39;") + '"' in refused.text
