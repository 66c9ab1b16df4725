"""The scorecard over the hand-made story (tests/insight/conftest.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from followthrough.db import Database
from followthrough.errors import NotFound
from followthrough.history.models import Event
from followthrough.history.payloads import Resolved
from followthrough.history.service import record_event
from followthrough.insight import scorecard as sc
from followthrough.org.local_time import clock_of
from tests.conftest import T0
from tests.factories import World
from tests.insight.conftest import Story

START, END = T0 - timedelta(days=1), T0 + timedelta(days=6)


def card(
    db: Database, world: World, viewer: str, level: sc.Level, subject: int, **kw: int
) -> sc.Scorecard:
    with db.unit_of_work(readonly=True) as session:
        return sc.scorecard(
            session,
            world.actor(session, viewer),
            level,
            subject,
            START,
            END,
            **kw,  # type: ignore[arg-type]
        )


def test_person_scorecard_shows_what_and_how(db: Database, world: World, story: Story) -> None:
    result = card(db, world, "cleo", "person", world.people["cleo"])
    f = result.figures
    assert f is not None
    # what
    assert f.requests_handled == 2
    assert f.mean_accept_hours == pytest.approx(1.0)
    assert f.mean_resolve_hours == pytest.approx(5.0)  # R1 4 h, R3 6 h
    assert f.ola_attainment == 1.0
    # how
    assert f.promises_kept == 1.0
    assert f.updates_on_time == 1.0
    assert (f.handoffs_accepted, f.handoffs_declined, f.bounces_caused) == (3, 1, 0)
    assert (f.rating_understand, f.rating_own, f.rating_serve, f.rating_communicate) == (5, 4, 3, 2)
    assert (f.praise, f.constructive) == (1, 0)


def test_missed_updates_broken_promises_and_late_resolutions_count_against(
    db: Database, world: World, story: Story
) -> None:
    f = card(db, world, "dan", "person", world.people["dan"]).figures
    assert f is not None
    assert f.requests_handled == 1
    assert f.ola_attainment == 0.0
    assert f.promises_kept == 0.0
    # The only owner-side update came after the reminder: late.
    assert f.updates_on_time == 0.0
    assert f.mean_resolve_hours == pytest.approx(71.0)


def test_the_person_and_team_that_sent_a_request_back_caused_the_bounce(
    db: Database, world: World, story: Story
) -> None:
    asha = card(db, world, "asha", "person", world.people["asha"]).figures
    claims = card(db, world, "carl", "team", world.teams["claims"]).figures
    assert asha is not None
    assert claims is not None
    assert asha.bounces_caused == 1
    assert claims.bounces_caused == 1


def test_team_and_department_scorecards_add_up_their_people(
    db: Database, world: World, story: Story
) -> None:
    team = card(db, world, "lee", "team", world.teams["admin"]).figures
    department = card(
        db, world, "lee", "department", world.departments["Policy Administration"]
    ).figures
    assert team is not None
    assert team.requests_handled == 3
    assert team.ola_attainment == pytest.approx(2 / 3)
    assert (team.handoffs_accepted, team.handoffs_declined) == (3, 1)
    assert team.praise == 1
    assert department == team


def test_trend_has_a_point_per_week_and_the_change_against_the_period_before(
    db: Database, world: World, story: Story
) -> None:
    result = card(db, world, "cleo", "person", world.people["cleo"])
    assert [p.bucket for p in result.series] == ["2026-02-23", "2026-03-02"]
    assert [p.figures.requests_handled for p in result.series] == [0, 2]
    assert result.change["requests_handled"] == 2
    # Nothing happened the week before: a rate has no change, rather than a made-up one.
    assert result.change["ola_attainment"] is None


def test_a_person_scorecard_is_hidden_from_colleagues_and_admins(
    db: Database, world: World, story: Story
) -> None:
    assert card(db, world, "lee", "person", world.people["cleo"]).figures is not None
    for viewer in ("asha", "dan", "ada"):
        with pytest.raises(NotFound):
            card(db, world, viewer, "person", world.people["cleo"])


def test_a_small_team_is_shown_inside_and_withheld_outside(
    db: Database, world: World, story: Story
) -> None:
    inside = card(db, world, "cleo", "team", world.teams["admin"])
    outside = card(db, world, "asha", "team", world.teams["admin"])
    assert not inside.withheld
    assert inside.figures is not None
    assert outside.withheld
    assert outside.figures is None
    shown = card(db, world, "asha", "team", world.teams["admin"], minimum_group_size=3)
    assert shown.figures is not None


def test_the_overview_lists_only_the_people_the_viewer_may_see(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        people = sc.scorecards(session, world.actor(session, "lee"), "person", START, END)
        teams = sc.scorecards(session, world.actor(session, "asha"), "team", START, END)
    assert {c.name for c in people} == {"Lee Lead", "Dan Duty", "Cleo Clerk"}
    by_name = {c.name: c for c in teams}
    assert not by_name["Claims"].withheld
    assert by_name["Policy Admin"].withheld


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York"])
def test_trend_weeks_are_the_viewers_own_weeks(
    db: Database, world: World, story: Story, zone: str
) -> None:
    """Resolutions either side of midnight between Sunday 1 and Monday 2 March fall in the
    viewer's week, counted here from each instant's own date in the zone."""
    cleo = world.people["cleo"]
    edges = (
        datetime(2026, 3, 1, 18, 45, tzinfo=UTC),  # Monday 00:15 in Kolkata
        datetime(2026, 3, 2, 3, 0, tzinfo=UTC),  # Sunday 22:00 in New York
    )
    with db.unit_of_work() as session:
        for at in edges:
            record_event(
                session,
                Resolved(resolution="Done", within_target=True),
                at,
                request_id=story.r1,
                actor_id=cleo,
                team_id=world.teams["admin"],
                person_id=cleo,
            )
    with db.unit_of_work(readonly=True) as session:
        resolutions = session.scalars(
            select(Event.at).where(
                Event.kind == "resolved",
                Event.person_id == cleo,
                Event.at >= START,
                Event.at < END,
            )
        ).all()
        clock = clock_of(zone, None)
        result = sc.scorecard(
            session, world.actor(session, "lee"), "person", cleo, START, END, clock=clock
        )
        in_utc = sc.scorecard(session, world.actor(session, "lee"), "person", cleo, START, END)

    def week(at: datetime, tz: ZoneInfo) -> str:
        day = at.astimezone(tz).date()
        return (day - timedelta(days=day.weekday())).isoformat()

    expected = Counter(week(at, ZoneInfo(zone)) for at in resolutions)
    shown = {p.bucket: p.figures.requests_handled for p in result.series}
    assert {b: n for b, n in shown.items() if n} == dict(expected)
    assert sum(shown.values()) == len(resolutions) == 4
    # The same history read in UTC splits the two edges differently from either zone.
    utc = {p.bucket: p.figures.requests_handled for p in in_utc.series}
    assert {b: n for b, n in utc.items() if n} == dict(
        Counter(week(at, ZoneInfo("UTC")) for at in resolutions)
    )
    assert utc != shown
