"""The training programme's pages and API over real HTTP (SQLite and PostgreSQL): a lead opens a
cohort, adds a session, enrols, records attendance and completion, plans and observes; the
person reads their plan and record; someone who leads no team is refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from followthrough.db import Database
from followthrough.learning import service
from followthrough.learning.models import LearningCohort, LearningSession
from tests.conftest import Clock, LiveServer, issue_tokens
from tests.factories import World
from tests.web.pages import Visitor


def visitor(live_server: LiveServer, handle: str) -> Visitor:
    person = Visitor(live_server.base_url)
    assert person.sign_in(handle).status_code == 303
    return person


def test_a_lead_runs_a_cohort_and_the_person_reads_their_record(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    # The clock starts on Monday 2 March 2026, 09:00 UTC; everyone's clock is UTC.
    with db.unit_of_work() as session:
        catalog = service.seed_catalog(session, clock.now)
    lee = visitor(live_server, "lee")
    cleo = visitor(live_server, "cleo")
    try:
        home = lee.get("/learning")
        assert home.status_code == 200
        assert "Emotional intelligence" in home.text
        refused = lee.post("/learning/cohorts", {"module": "", "name": "Spring"})
        assert refused.status_code == 422
        assert "choose a module" in refused.text.lower()
        module = str(catalog["Communication"])
        opened = lee.post("/learning/cohorts", {"module": module, "name": "Spring wave"})
        assert opened.status_code == 303
        with db.unit_of_work(readonly=True) as session:
            cohort = session.scalars(select(LearningCohort.id)).one()
        backwards = {"starts_at": "2026-03-02T08:00", "ends_at": "2026-03-02T07:00"}
        assert lee.post(f"/learning/cohorts/{cohort}/sessions", backwards).status_code == 422
        meeting = {"starts_at": "2026-03-02T07:00", "ends_at": "2026-03-02T08:30"}
        assert lee.post(f"/learning/cohorts/{cohort}/sessions", meeting).status_code == 303
        cleo_id = str(world.people["cleo"])
        assert (
            lee.post(f"/learning/cohorts/{cohort}/members", {"person": cleo_id}).status_code == 303
        )
        again = lee.post(f"/learning/cohorts/{cohort}/members", {"person": cleo_id})
        assert again.status_code == 409
        with db.unit_of_work(readonly=True) as session:
            session_id = session.scalars(select(LearningSession.id)).one()
        early = lee.post(f"/learning/cohorts/{cohort}/completions", {"person": cleo_id})
        assert early.status_code == 409  # not at the session yet
        attended = lee.post(
            f"/learning/sessions/{session_id}/attendance",
            {"cohort": str(cohort), "member": [cleo_id], "present": [cleo_id]},
        )
        assert attended.status_code == 303
        done = lee.post(f"/learning/cohorts/{cohort}/completions", {"person": cleo_id})
        assert done.status_code == 303
        detail = " ".join(lee.get(f"/learning?cohort={cohort}").text.split())
        assert "Cleo Clerk: at 1 of 1 sessions" in detail
        assert "Completed" in detail
        plan = {"module": str(catalog["Feedback"]), "for": f"person:{cleo_id}", "due_at": ""}
        assert lee.post("/learning/plans", plan).status_code == 303
        team_plan = {"module": module, "for": f"team:{world.teams['admin']}", "due_at": ""}
        assert lee.post("/learning/plans", team_plan).status_code == 303
        seen = {"person": cleo_id, "block": "own", "score": "4", "note": "Called back on time."}
        assert lee.post("/learning/evidence", seen).status_code == 303
        assert lee.post("/learning/evidence", {**seen, "score": "9"}).status_code == 422

        mine = cleo.get("/learning/mine")
        assert mine.status_code == 200
        words = " ".join(mine.text.split())
        assert "Feedback" in words
        assert "(for all of Policy Admin): completed" in words
        assert "by Lee Lead" in words
        assert "Called back on time." in words

        # Cleo leads no team: the programme's own pages are not hers to run.
        assert cleo.get("/learning").status_code == 403
        assert cleo.post("/learning/cohorts", {"module": module, "name": "X"}).status_code == 403
        assert cleo.get("/learning/effect").status_code == 403

        effect = lee.get(f"/learning/effect?module={module}&level=team")
        assert effect.status_code == 200
        assert "Too little data to tell" in effect.text
        assert lee.get("/learning/effect?module=999999").status_code == 404
    finally:
        lee.close()
        cleo.close()


def test_the_api_answers_leads_and_each_person(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    with db.unit_of_work() as session:
        catalog = service.seed_catalog(session, clock.now)
        cohort = service.open_cohort(session, catalog["Feedback"], "April", None, clock.now)
        service.enrol(session, cohort, world.people["cleo"], clock.now)
        service.add_evidence(
            session, world.people["cleo"], "serve", 3, "observer", world.people["lee"], clock.now
        )
    tokens = issue_tokens(db, world, clock)

    def api(handle: str) -> httpx.Client:
        return httpx.Client(
            base_url=live_server.base_url,
            headers={"Authorization": f"Bearer {tokens[handle]}"},
            timeout=30,
        )

    with api("lee") as lee, api("cleo") as cleo:
        modules = lee.get("/api/v1/learning/modules").json()
        assert {m["name"]: m["people"] for m in modules}["Feedback"] == 1
        (line,) = lee.get("/api/v1/learning/cohorts").json()
        assert (line["name"], line["people"], line["sessions"]) == ("April", 1, [])
        assert lee.get("/api/v1/learning/effects").json() == []
        (report,) = lee.get(
            "/api/v1/learning/effects", params={"module": catalog["Feedback"]}
        ).json()
        assert {o["verdict"] for o in report["outcomes"]} == {"too little data"}
        missing = lee.get("/api/v1/learning/effects", params={"module": 999999})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert cleo.get("/api/v1/learning/cohorts").status_code == 403
        mine = cleo.get("/api/v1/learning/mine").json()
        serve = next(b for b in mine["record"] if b["block"] == "serve")
        assert (serve["mean"], serve["observations"]) == (3.0, 1)
        assert mine["evidence"][0]["rated_by"] == "Lee Lead"


def test_the_practice_page_leads_to_the_programme(
    db: Database, world: World, live_server: LiveServer
) -> None:
    lee = visitor(live_server, "lee")
    cleo = visitor(live_server, "cleo")
    try:
        assert 'href="/learning"' in lee.get("/practice").text
        mine = cleo.get("/practice").text
        assert 'href="/learning/mine"' in mine
        assert 'href="/learning"' not in mine  # cleo leads no team
    finally:
        lee.close()
        cleo.close()


def test_a_refused_observation_or_cohort_keeps_what_the_lead_typed_and_chose(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    with db.unit_of_work() as session:
        catalog = service.seed_catalog(session, clock.now)
    lee = visitor(live_server, "lee")
    try:
        cleo = str(world.people["cleo"])
        seen = "Called the broker back before the promised time, twice this week"
        no_score = lee.post("/learning/evidence", {"person": cleo, "block": "own", "note": seen})
        assert no_score.status_code == 422
        assert f">{seen}</textarea>" in no_score.text
        assert f'<option value="{cleo}" selected>' in no_score.text
        assert '<option value="own" selected>' in no_score.text
        module = str(catalog["Communication"])
        too_long = lee.post("/learning/cohorts", {"module": module, "name": "Spring " * 100})
        assert too_long.status_code == 422
        assert 'value="' + "Spring " * 100 + '"' in too_long.text
        assert f'<option value="{module}" selected>' in too_long.text
    finally:
        lee.close()


def test_attendance_too_early_or_a_completion_too_soon_says_why_on_the_page(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    with db.unit_of_work() as session:
        module = service.seed_catalog(session, clock.now)["Communication"]
        cohort = service.open_cohort(session, module, "Spring", world.people["lee"], clock.now)
        service.enrol(session, cohort, world.people["cleo"], clock.now)
        tomorrow = clock.now + timedelta(days=1)
        held = service.add_session(session, cohort, tomorrow, tomorrow + timedelta(hours=2))
    lee = visitor(live_server, "lee")
    try:
        cleo = str(world.people["cleo"])
        early = lee.post(
            f"/learning/sessions/{held}/attendance",
            {"cohort": str(cohort), "member": [cleo], "present": [cleo]},
        )
        assert early.status_code == 422
        assert "Attendance is recorded once the session has started." in early.text
        soon = lee.post(f"/learning/cohorts/{cohort}/completions", {"person": cleo})
        assert soon.status_code == 409
        assert "Not complete yet: they missed a session, or the cohort has not met." in soon.text
    finally:
        lee.close()
