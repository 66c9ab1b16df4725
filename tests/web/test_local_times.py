"""Each person's time zone over real HTTP: guessed at sign-in, chosen on the profile, every time
on their pages shown in it, and the times they type read in it.

Expected texts are worked out here with zoneinfo and strftime (the en_GB style: "Tue 1 Dec,
14:30 IST"), independently of the Babel formatting the pages use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from followthrough.db import Database
from followthrough.org.models import Person
from followthrough.promises.models import Promise
from followthrough.requests.models import Offer, Request
from tests.conftest import Clock, LiveServer
from tests.factories import PASSWORD, World
from tests.web.pages import SIGNIN, Visitor

TIME_TAG = re.compile(r"<time datetime=['\"]([^'\"]+)['\"][^>]*>([^<]+)</time>")


def expected(instant: datetime, zone: str) -> str:
    """How an instant reads on an en_GB clock in that zone, worked out without Babel."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} {local.tzname()}"


def shown_times(html: str) -> list[tuple[datetime, str]]:
    """Every <time> on a page: the instant it stands for and the text shown."""
    return [(datetime.fromisoformat(iso), unescape(text)) for iso, text in TIME_TAG.findall(html)]


def sign_in(visitor: Visitor, handle: str, timezone: str = "", locale: str = "") -> None:
    """Sign in the way the page does, with what static/clock-guess.js puts in the form."""
    token = SIGNIN.search(visitor.get("/sign-in").text)
    assert token
    response = visitor.http.post(
        "/sign-in",
        data={
            "handle": handle,
            "password": PASSWORD,
            "signin_token": token.group(1),
            "next": "/",
            "timezone": timezone,
            "locale": locale,
        },
    )
    assert response.status_code == 303, response.text
    visitor.csrf = visitor.token_from(visitor.get("/").text)


@pytest.fixture
def visitors(live_server: LiveServer) -> Iterator[list[Visitor]]:
    made: list[Visitor] = []
    yield made
    for visitor in made:
        visitor.close()


def visitor(live_server: LiveServer, made: list[Visitor]) -> Visitor:
    found = Visitor(live_server.base_url)
    made.append(found)
    return found


def _clock_of(db: Database, person_id: int) -> tuple[str | None, str | None]:
    with db.unit_of_work(readonly=True) as session:
        person = session.get(Person, person_id)
        assert person is not None
        return person.timezone, person.locale


def _set_clock(db: Database, person_id: int, timezone: str, locale: str = "en_GB") -> None:
    with db.unit_of_work() as session:
        person = session.get(Person, person_id)
        assert person is not None
        person.timezone, person.locale = timezone, locale


def _raise_and_hand_to_cleo(db: Database, world: World, asha: Visitor, dan: Visitor) -> int:
    raised = asha.post(
        "/requests/new",
        {
            "service_id": str(world.services["correct_policy"]),
            "title": "Policy P-100 has the wrong address",
            "need": "Correct the address so claim C-1 can be paid",
        },
    )
    assert raised.status_code == 303, raised.text
    rid = int(raised.headers["location"].rsplit("/", 1)[1])
    handed = dan.post(
        f"/requests/{rid}/offers",
        {"target": f"person:{world.teams['admin']}:{world.people['cleo']}", "note": "yours"},
    )
    assert handed.status_code == 303, handed.text
    return rid


def _accept(db: Database, visitor_: Visitor, rid: int) -> None:
    with db.unit_of_work(readonly=True) as session:
        offer = session.scalar(
            select(Offer.id).where(Offer.request_id == rid, Offer.state == "open")
        )
    assert visitor_.post(f"/requests/{rid}/offers/{offer}/accept").status_code == 303


def _promise_due(db: Database, rid: int) -> datetime:
    with db.unit_of_work(readonly=True) as session:
        due = session.scalar(select(Promise.due_at).where(Promise.request_id == rid))
    assert due is not None
    return due


# ---- guessed and chosen ------------------------------------------------------------------------


def test_the_browsers_zone_is_kept_at_the_first_sign_in_and_never_over_a_choice(
    db: Database, world: World, live_server: LiveServer, visitors: list[Visitor]
) -> None:
    asha = world.people["asha"]
    assert _clock_of(db, asha) == (None, None)
    sign_in(visitor(live_server, visitors), "asha", "Asia/Kolkata", "en-IN")
    assert _clock_of(db, asha) == ("Asia/Kolkata", "en_IN")
    # Signing in from another browser does not move a zone already kept.
    sign_in(visitor(live_server, visitors), "asha", "America/New_York", "en-US")
    assert _clock_of(db, asha) == ("Asia/Kolkata", "en_IN")
    # A guess the desk cannot use is dropped; the sign-in still works.
    sign_in(visitor(live_server, visitors), "lee", "Not/A_Zone", "??")
    assert _clock_of(db, world.people["lee"]) == (None, None)


def test_a_person_chooses_their_zone_on_the_profile_page(
    db: Database, world: World, live_server: LiveServer, visitors: list[Visitor], clock: Clock
) -> None:
    asha = visitor(live_server, visitors)
    sign_in(asha, "asha")
    page = asha.get("/profile")
    assert page.status_code == 200
    assert 'href="/profile"' in page.text  # reachable from the header
    assert "Now on your clock:" in page.text
    assert shown_times(page.text) == [(clock.now, expected(clock.now, "UTC"))]
    saved = asha.post("/profile", {"timezone": "America/New_York", "locale": "en_US"})
    assert saved.status_code == 303
    assert _clock_of(db, world.people["asha"]) == ("America/New_York", "en_US")
    shown = asha.get("/profile").text
    assert "America/New_York" in shown
    assert '<option value="America/New_York" selected>' in shown


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons", "locale": "en_GB"}, "timezone", "time zone"),
        ({"timezone": "Asia/Kolkata", "locale": "not a locale"}, "locale", "language"),
    ],
)
def test_an_unknown_zone_or_locale_is_refused_beside_its_field(
    db: Database,
    world: World,
    live_server: LiveServer,
    visitors: list[Visitor],
    form: dict[str, str],
    field: str,
    message: str,
) -> None:
    asha = visitor(live_server, visitors)
    sign_in(asha, "asha")
    refused = asha.post("/profile", form)
    assert refused.status_code == 422
    error = re.search(rf'id="profile-{field}-error">([^<]+)<', refused.text)
    assert error, refused.text
    assert message in error.group(1)
    assert _clock_of(db, world.people["asha"]) == (None, None)


# ---- shown -------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York"])
def test_every_time_on_the_request_page_and_home_is_in_the_viewers_zone(
    db: Database, world: World, live_server: LiveServer, visitors: list[Visitor], zone: str
) -> None:
    asha, dan, cleo = (visitor(live_server, visitors) for _ in range(3))
    for handle, who in (("asha", asha), ("dan", dan), ("cleo", cleo)):
        sign_in(who, handle)
    rid = _raise_and_hand_to_cleo(db, world, asha, dan)
    _accept(db, cleo, rid)
    _set_clock(db, world.people["cleo"], zone)

    request_page = cleo.get(f"/requests/{rid}").text
    times = shown_times(request_page)
    assert len(times) >= 4  # next update, resolve target, timeline entries
    for instant, text in times:
        assert text == expected(instant, zone)
    assert f"Times are shown in your time zone, {zone}" in request_page

    home = cleo.get("/").text
    home_times = shown_times(home)
    assert home_times, "Home shows the update Cleo owes"
    for instant, text in home_times:
        assert text == expected(instant, zone)

    # Someone else looking at the same request sees their own zone (here still UTC).
    for instant, text in shown_times(asha.get(f"/requests/{rid}").text):
        assert text == expected(instant, "UTC")


# ---- typed -------------------------------------------------------------------------------------


def test_a_promise_typed_in_kolkata_lands_at_the_right_instant(
    db: Database, world: World, live_server: LiveServer, visitors: list[Visitor], clock: Clock
) -> None:
    asha, dan, cleo = (visitor(live_server, visitors) for _ in range(3))
    sign_in(asha, "asha")
    sign_in(dan, "dan")
    sign_in(cleo, "cleo", "Asia/Kolkata", "en-GB")
    rid = _raise_and_hand_to_cleo(db, world, asha, dan)
    _accept(db, cleo, rid)

    form = cleo.get(f"/requests/{rid}").text
    assert "By when? (Kolkata time)" in form
    assert "Asia/Kolkata" in form
    # The suggested time is an hour on, on Cleo's clock, at the start of that hour.
    suggested = (clock.now + timedelta(hours=1)).astimezone(ZoneInfo("Asia/Kolkata"))
    assert f'value="{suggested:%Y-%m-%dT%H}:00"' in form

    # T0 is Monday 2 March 09:00 UTC; 18:30 in Kolkata that day is 13:00 UTC.
    made = cleo.post(
        f"/requests/{rid}/promises", {"what": "Call back", "due_at": "2026-03-02T18:30"}
    )
    assert made.status_code == 303, made.text
    assert _promise_due(db, rid) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    page = cleo.get(f"/requests/{rid}").text
    assert "Mon 2 Mar, 18:30 IST" in page


def test_a_time_the_clocks_skip_is_refused_beside_the_field(
    db: Database, world: World, live_server: LiveServer, visitors: list[Visitor]
) -> None:
    asha, dan, cleo = (visitor(live_server, visitors) for _ in range(3))
    sign_in(asha, "asha")
    sign_in(dan, "dan")
    sign_in(cleo, "cleo", "America/New_York", "en-US")
    rid = _raise_and_hand_to_cleo(db, world, asha, dan)
    _accept(db, cleo, rid)
    # New York's clocks go from 02:00 to 03:00 on Sunday 8 March 2026.
    refused = cleo.post(
        f"/requests/{rid}/promises", {"what": "Call back", "due_at": "2026-03-08T02:30"}
    )
    assert refused.status_code == 422
    error = re.search(r'id="promise-due_at-error">([^<]+)<', refused.text)
    assert error, refused.text
    assert "does not exist" in unescape(error.group(1))
    assert 'value="2026-03-08T02:30"' in refused.text  # the typed time is kept
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(Promise.id).where(Promise.request_id == rid)) is None


def test_a_time_that_happens_twice_takes_the_first_and_says_so(
    db: Database, world: World, live_server: LiveServer, visitors: list[Visitor]
) -> None:
    asha, dan, cleo = (visitor(live_server, visitors) for _ in range(3))
    sign_in(asha, "asha")
    sign_in(dan, "dan")
    sign_in(cleo, "cleo", "America/New_York", "en-GB")
    rid = _raise_and_hand_to_cleo(db, world, asha, dan)
    _accept(db, cleo, rid)
    # 1 November 2026: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    made = cleo.post(
        f"/requests/{rid}/promises", {"what": "Call back", "due_at": "2026-11-01T01:30"}
    )
    assert made.status_code == 303, made.text
    assert _promise_due(db, rid) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    confirmation = cleo.get(made.headers["location"]).text
    assert "happens twice" in unescape(confirmation)


def test_a_wanted_by_date_is_the_end_of_that_working_day_in_the_requesters_zone(
    db: Database, world: World, live_server: LiveServer, visitors: list[Visitor]
) -> None:
    asha = visitor(live_server, visitors)
    sign_in(asha, "asha", "Asia/Kolkata", "en-GB")
    raised = asha.post(
        "/requests/new",
        {
            "service_id": str(world.services["correct_policy"]),
            "title": "Policy P-100 has the wrong address",
            "need": "Correct the address so claim C-1 can be paid",
            "desired_by": "2026-03-10",
        },
    )
    assert raised.status_code == 303, raised.text
    rid = int(raised.headers["location"].rsplit("/", 1)[1])
    with db.unit_of_work(readonly=True) as session:
        wanted = session.scalar(select(Request.desired_by).where(Request.id == rid))
    # 17:00 IST is 11:30 UTC.
    assert wanted == datetime(2026, 3, 10, 11, 30, tzinfo=UTC)
