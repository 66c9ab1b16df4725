"""Insight pages: the scorecard, the ripple to customers, the silo map, relationship health,
recognitions, the weekly digest and the printable service review.

Routes only translate HTTP to the same service calls as the API (privacy included); charts are
Chart.js configurations built here and drawn by the browser, the silo map's network too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from followthrough.errors import InvalidInput
from followthrough.fields import EARLIEST, LATEST, Hours, Id, form_id, form_instant
from followthrough.insight import health, recognition, review, ripple, rules, scorecard, silo
from followthrough.insight.api import DEFAULT_PERIOD
from followthrough.org.local_time import Clock, local_date, start_of_day, start_of_week
from followthrough.org.models import Team
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, FormErrors, ReadPage, errors_from_domain

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/insight", include_in_schema=False)

PERCENT = ("ola_attainment", "promises_kept", "updates_on_time")
LABELS = {
    "requests_handled": "Requests handled",
    "mean_accept_hours": "Hours to accept (mean)",
    "mean_resolve_hours": "Hours to resolve (mean)",
    "ola_attainment": "Resolved within target",
    "promises_kept": "Promises kept",
    "updates_on_time": "Updates on time",
    "handoffs_accepted": "Offers accepted",
    "handoffs_declined": "Offers declined",
    "bounces_caused": "Bounces caused",
    "rating_understand": "Rating: Understand",
    "rating_own": "Rating: Own",
    "rating_serve": "Rating: Serve",
    "rating_communicate": "Rating: Communicate",
    "praise": "Praise received",
    "constructive": "Constructive feedback received",
}


def _minimum(page: ReadPage | ChangePage) -> int:
    return int(page.request.app.state.settings.insight_minimum_group_size)


def _day(value: str, name: str, clock: Clock) -> datetime | None:
    """The start of a typed day on the viewer's clock (a date carries no zone), in the years the
    desk plans in: the first or last day Python holds overflows on a clock either side of UTC,
    and a period of centuries is counted out week by week for minutes."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-11-01", field=name) from None
    if not EARLIEST.year <= day.year < LATEST.year:
        raise InvalidInput(
            f"{name} must be a date between {EARLIEST.year} and {LATEST.year - 1}", field=name
        )
    return start_of_day(day, clock)


@dataclass(frozen=True)
class Period:
    """The period a page shows, and what was wrong with the one asked for, if anything."""

    first: datetime
    last: datetime
    problem: FormErrors | None = None

    def page_args(self) -> dict[str, Any]:
        """For `page.render`: the status, the message beside the period's field (`errors`)
        and the same message for pages without the fields (`notice`)."""
        if self.problem is None:
            return {}
        fallback = f"Showing the last {DEFAULT_PERIOD.days} days instead."
        fields = {name: f"{message} {fallback}" for name, message in self.problem.fields.items()}
        return {
            "status": self.problem.status,
            "errors": replace(self.problem, fields=fields),
            "notice": next(iter(fields.values())),
        }


def _period(page: ReadPage, start: str, end: str) -> Period:
    """The period typed in the URL; a date that cannot be read, or an end not after the start,
    keeps the page (the default period shown) with the message beside the field."""
    try:
        last = _day(end, "end", page.viewer.clock) or page.now
        first = _day(start, "start", page.viewer.clock) or last - DEFAULT_PERIOD
        if last <= first:
            raise InvalidInput("end must be a later day than the start", field="end")
    except InvalidInput as refused:
        problem = errors_from_domain("period", refused, {})
        return Period(page.now - DEFAULT_PERIOD, page.now, problem)
    return Period(first, last)


def show(value: float | int | None, name: str) -> str:
    """A figure as the pages print it: percentages for rates, one decimal for means."""
    if value is None:
        return "—"
    if name in PERCENT:
        return f"{value:.0%}"
    if isinstance(value, int):
        return str(value)
    return f"{value:.1f}"


def _line_chart(labels: list[str], series: dict[str, list[float | None]], percent: bool) -> str:
    colours = ["#1d4ed8", "#146c2e", "#b45309", "#7c3aed", "#be123c"]
    config: dict[str, Any] = {
        "type": "line",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "label": name,
                    "data": [
                        None if v is None else round(v * (100 if percent else 1), 2) for v in values
                    ],
                    "borderColor": colours[i % len(colours)],
                    "backgroundColor": colours[i % len(colours)],
                    "spanGaps": True,
                }
                for i, (name, values) in enumerate(series.items())
            ],
        },
        "options": {
            "animation": False,
            "responsive": True,
            "plugins": {"legend": {"position": "bottom"}},
            "scales": {"y": {"min": 0, **({"max": 100} if percent else {})}},
        },
    }
    return json.dumps(config)


def _bar_chart(labels: list[str], values: list[float], label: str) -> str:
    return json.dumps(
        {
            "type": "bar",
            "data": {
                "labels": labels,
                "datasets": [
                    {
                        "label": label,
                        "data": [round(v, 2) for v in values],
                        "backgroundColor": "#1d4ed8",
                    }
                ],
            },
            "options": {
                "animation": False,
                "indexAxis": "y",
                "responsive": True,
                "plugins": {"legend": {"display": False}},
            },
        }
    )


@router.get("")
def insight_home(page: ReadPage) -> Response:
    teams = sorted(page.actor.team_ids)
    return page.render("insight/index.html", teams=teams)


@router.get("/scorecards")
def scorecards_page(
    page: ReadPage, level: str = "team", start: str = "", end: str = ""
) -> Response:
    period = _period(page, start, end)
    first, last = period.first, period.last
    chosen = scorecard.require_level(level)
    cards = scorecard.scorecards(
        page.session, page.actor, chosen, first, last, minimum_group_size=_minimum(page)
    )
    return page.render(
        "insight/scorecards.html",
        **period.page_args(),
        cards=cards,
        level=chosen,
        levels=scorecard.LEVELS,
        start=first,
        end=last,
        what=rules.WHAT,
        how=rules.HOW,
        labels=LABELS,
        show=show,
    )


@router.get("/scorecards/{level}/{subject_id}")
def scorecard_page(
    level: str, subject_id: Id, page: ReadPage, start: str = "", end: str = "", unit: str = "week"
) -> Response:
    if unit not in ("week", "month"):
        raise InvalidInput("unit must be week or month", field="unit")
    period = _period(page, start, end)
    first, last = period.first, period.last
    card = scorecard.scorecard(
        page.session,
        page.actor,
        scorecard.require_level(level),
        subject_id,
        first,
        last,
        unit=unit,
        minimum_group_size=_minimum(page),
        clock=page.viewer.clock,
    )
    labels = [p.bucket for p in card.series]
    what_chart = _line_chart(
        labels,
        {LABELS[n]: [getattr(p.figures, n) for p in card.series] for n in ("ola_attainment",)},
        percent=True,
    )
    how_chart = _line_chart(
        labels,
        {
            LABELS[n]: [getattr(p.figures, n) for p in card.series]
            for n in ("promises_kept", "updates_on_time")
        },
        percent=True,
    )
    volume_chart = _line_chart(
        labels,
        {LABELS["requests_handled"]: [float(p.figures.requests_handled) for p in card.series]},
        percent=False,
    )
    return page.render(
        "insight/scorecard.html",
        **period.page_args(),
        card=card,
        unit=unit,
        what=rules.WHAT,
        how=rules.HOW,
        labels=LABELS,
        show=show,
        what_chart=what_chart,
        how_chart=how_chart,
        volume_chart=volume_chart,
    )


def _team_choices(page: ReadPage) -> list[tuple[int, str]]:
    return [
        (t.id, t.name) for t in page.session.execute(select(Team.id, Team.name).order_by(Team.name))
    ]


@router.get("/ripple")
def ripple_home(page: ReadPage) -> Response:
    mine = sorted(page.actor.team_ids)
    if mine:
        return page.redirect(f"/insight/ripple/teams/{mine[0]}")
    return page.render(
        "insight/ripple_team.html", result=None, teams=_team_choices(page), chart="{}"
    )


@router.get("/ripple/teams/{team_id}")
def team_ripple_page(
    team_id: Id, page: ReadPage, start: str = "", end: str = "", threshold_hours: Hours = 8.0
) -> Response:
    if threshold_hours <= 0:
        raise InvalidInput("threshold_hours must be positive", field="threshold_hours")
    period = _period(page, start, end)
    first, last = period.first, period.last
    result = ripple.team_ripple(
        page.session,
        page.actor,
        team_id,
        first,
        last,
        page.now,
        threshold=timedelta(hours=threshold_hours),
    )
    top = result.lines[:15]
    chart = _bar_chart(
        [f"{line.customer} ({line.reference})" for line in top],
        [line.team_hours for line in top],
        "Hours in your queue",
    )
    return page.render(
        "insight/ripple_team.html",
        result=result,
        teams=_team_choices(page),
        chart=chart,
        **period.page_args(),
    )


@router.get("/ripple/cases/{case_id}")
def case_ripple_page(case_id: Id, page: ReadPage) -> Response:
    result = ripple.case_ripple(page.session, page.actor, case_id, page.now)
    chart = _bar_chart(
        list(result.hours_by_team), list(result.hours_by_team.values()), "Hours of the wait"
    )
    return page.render("insight/ripple_case.html", result=result, chart=chart)


@router.get("/silo")
def silo_page(page: ReadPage, start: str = "", end: str = "") -> Response:
    period = _period(page, start, end)
    first, last = period.first, period.last
    result = silo.silo_map(page.session, first, last)
    names = {d.department_id: d.name for d in result.departments}
    network = {
        "nodes": [
            {"id": d.department_id, "name": d.name, "ei": d.ei_outgoing, "internal": d.internal}
            for d in result.departments
        ],
        "edges": [
            {"source": a, "target": b, "weight": w}
            for a, b, w in result.department_edges
            if a != b and a in names and b in names
        ],
    }
    return page.render(
        "insight/silo.html",
        **period.page_args(),
        result=result,
        network=json.dumps(network),
        start=first,
        end=last,
        show=show,
    )


@router.get("/health")
def health_page(page: ReadPage, team_id: Id | None = None) -> Response:
    pairs = health.relationship_health(page.session, page.now, team_id=team_id)
    return page.render(
        "insight/health.html", pairs=pairs, teams=_team_choices(page), team_id=team_id
    )


@router.get("/recognitions")
def recognitions_page(page: ReadPage, start: str = "", end: str = "") -> Response:
    period = _period(page, start, end)
    first, last = period.first, period.last
    return page.render(
        "insight/recognitions.html",
        **period.page_args(),
        suggestions=recognition.suggestions_for(page.session, page.actor, first, last),
        leads=bool(page.actor.lead_of),
        start=first,
        end=last,
    )


def _moment(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date and time", field=name) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone", field=name)
    return form_instant(moment, name, name)


@router.post("/recognitions")
def decide_page(page: ChangePage) -> Response:
    confirm = page.form.get("decision") == "confirm"
    person_id = form_id(page.form.get("person_id"))
    if person_id is None:
        raise InvalidInput("choose a suggestion", field="person_id")
    view = recognition.decide(
        page.session,
        page.actor,
        person_id,
        page.form.get("reason"),
        _moment(page.form.get("period_start"), "period_start"),
        _moment(page.form.get("period_end"), "period_end"),
        confirm,
        page.now,
    )
    return page.redirect(
        "/insight/recognitions", f"{'Confirmed' if confirm else 'Dismissed'}: {view.person}."
    )


@router.get("/digest")
def digest_page(page: ReadPage, week: str = "") -> Response:
    # The week runs Monday to Sunday on the viewer's calendar.
    clock = page.viewer.clock
    refusal: dict[str, Any] = {}
    try:
        at = _day(week, "week", clock) or page.now
    except InvalidInput as refused:
        # As with a period: the page stays, on this week, and says why.
        problem = errors_from_domain("period", refused, {})
        message = next(iter(problem.fields.values()))
        refusal = {"status": problem.status, "notice": f"{message} Showing this week instead."}
        at = page.now
    result = recognition.digest(page.session, start_of_week(at, clock))
    return page.render(
        "insight/digest.html",
        digest=result,
        previous=local_date(result.week_start - timedelta(days=7), clock).isoformat(),
        following=local_date(result.week_end, clock).isoformat(),
        **refusal,
    )


@router.get("/review/{a}/{b}")
def review_page(a: Id, b: Id, page: ReadPage, start: str = "", end: str = "") -> Response:
    period = _period(page, start, end)
    first, last = period.first, period.last
    clock = page.viewer.clock
    result = review.pair_review(
        page.session,
        page.actor,
        a,
        b,
        first,
        last,
        page.now,
        clock,
        minimum_group_size=_minimum(page),
    )
    trust_chart = "{}"
    if result.health is not None:
        trust_chart = json.dumps(
            {
                "type": "line",
                "data": {
                    "labels": [local_date(at, clock).isoformat() for at, _ in result.health.series],
                    "datasets": [
                        {
                            "label": "Trust",
                            "data": [round(t.score, 3) for _, t in result.health.series],
                            "borderColor": "#1d4ed8",
                            "backgroundColor": "#1d4ed8",
                        },
                        {
                            "label": "90% low",
                            "data": [round(t.low, 3) for _, t in result.health.series],
                            "borderColor": "#94a3b8",
                            "borderDash": [4, 4],
                            "pointRadius": 0,
                        },
                        {
                            "label": "90% high",
                            "data": [round(t.high, 3) for _, t in result.health.series],
                            "borderColor": "#94a3b8",
                            "borderDash": [4, 4],
                            "pointRadius": 0,
                        },
                    ],
                },
                "options": {
                    "animation": False,
                    "responsive": True,
                    "scales": {"y": {"min": 0, "max": 1}},
                    "plugins": {"legend": {"position": "bottom"}},
                },
            }
        )
    series = result.scorecard.series
    ola_chart = _line_chart(
        [p.bucket for p in series],
        {LABELS[n]: [getattr(p.figures, n) for p in series] for n in PERCENT},
        percent=True,
    )
    return page.render(
        "insight/review.html",
        **period.page_args(),
        review=result,
        trust_chart=trust_chart,
        ola_chart=ola_chart,
        what=rules.WHAT,
        how=rules.HOW,
        labels=LABELS,
        show=show,
    )
