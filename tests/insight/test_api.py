"""Insight over real HTTP: the same figures and the same privacy as the services."""

from __future__ import annotations

import csv
import io

from followthrough.db import Database
from tests.conftest import T0, Clock, serving
from tests.factories import World
from tests.insight.conftest import Story

PERIOD = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-08T00:00:00Z"}


def test_insight_reports_answer_over_http_with_privacy_applied(
    db: Database, world: World, story: Story, tokens: dict[str, str]
) -> None:
    clock = Clock(T0.replace(day=8))
    with serving(db, clock) as live:
        lee, asha = live.client(tokens["lee"]), live.client(tokens["asha"])
        cleo_id = world.people["cleo"]
        mine = lee.get(f"/insight/scorecards/person/{cleo_id}", params=PERIOD)
        assert mine.status_code == 200
        assert mine.json()["figures"]["requests_handled"] == 2
        assert asha.get(f"/insight/scorecards/person/{cleo_id}", params=PERIOD).status_code == 404
        teams = {c["name"]: c for c in asha.get("/insight/scorecards", params=PERIOD).json()}
        assert teams["Policy Admin"]["withheld"] is True
        assert teams["Policy Admin"]["figures"] is None

        case = asha.get(f"/insight/ripple/cases/{story.case}").json()
        assert case["hours_by_team"]["Policy Admin"] == 5
        team = asha.get(f"/insight/ripple/teams/{world.teams['admin']}", params=PERIOD).json()
        assert team["customers_touched"] == 1

        silo = asha.get("/insight/silo", params=PERIOD).json()
        assert {d["name"] for d in silo["departments"]} >= {"Claims", "Policy Administration"}
        edges = asha.get("/insight/silo/network.csv", params=PERIOD)
        assert edges.headers["content-type"].startswith("text/csv")
        assert len(list(csv.DictReader(io.StringIO(edges.text)))) == 3
        graphml = asha.get("/insight/silo/network.graphml", params=PERIOD)
        assert "<graphml" in graphml.text

        pairs = asha.get("/insight/health").json()
        assert {(p["experienced_by_name"], p["experience_of_name"]) for p in pairs} == {
            ("Claims", "Policy Admin"),
            ("Policy Admin", "Claims"),
        }
        review = asha.get(
            f"/insight/review/{world.teams['claims']}/{world.teams['admin']}", params=PERIOD
        ).json()
        assert review["accepted"] == 3
        assert review["scorecard"]["withheld"] is True

        assert asha.get("/insight/recognitions", params=PERIOD).json() == []
        # The story's people fall short of the default minimums: nothing to suggest.
        assert lee.get("/insight/recognitions", params=PERIOD).json() == []
        assert lee.get("/insight/digest").json()["recognitions"] == []
        bad = asha.get("/insight/scorecards", params={"level": "galaxy"})
        assert bad.status_code == 422
        assert bad.json()["field"] == "level"
