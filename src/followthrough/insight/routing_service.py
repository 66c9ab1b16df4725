"""Routing suggestions over the database: the resolved history, learnt once per process, and the
verdict of whether suggesting beats always choosing the busiest team.

A read never writes: what is learnt is kept in this process's memory, keyed by the database,
and learnt again when the resolved history has changed — at once while the history is small
(it costs milliseconds), at most every `REFRESH_SECONDS` once it is large. While one thread
learns, the others answer from what was learnt before.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followthrough.history.models import Event
from followthrough.history.payloads import (
    IMPORTED_FROM,
    SYNTHETIC,
    Accepted,
    Offered,
    Opened,
    Resumed,
)
from followthrough.insight.routing import (
    EVERYTHING,
    RAISE_TIME,
    Attribute,
    RequestToRoute,
    ResolvedExample,
    RoutingAccuracy,
    RoutingVerdict,
    TeamModel,
    TextIndex,
    baseline_accuracy,
    by_service,
    embedding_index,
    embeddings_available,
    held_out_accuracy,
    model_accuracy,
    routing_verdict,
    suggest,
    suggest_services,
    tfidf_index,
    time_ordered_split,
)
from followthrough.insight.sql import home_teams
from followthrough.org.actors import Actor
from followthrough.org.models import Person, Service, Team
from followthrough.requests.models import Offer, PathStep, Request

# The newest resolved requests are the relevant ones (teams and catalogues change).
INDEX_LIMIT = 5000
# The newest share of them held out to check the suggestions against the baseline.
TEST_SHARE = 0.2
# A history at least this large is learnt again at most every REFRESH_SECONDS.
LARGE_HISTORY = 1000
REFRESH_SECONDS = 600.0

# What an imported request's first events say about the import and the log's process rather
# than about the request: the activity and its status, and what the desk worked out itself.
IMPORT_BOOKKEEPING = frozenset(
    {
        IMPORTED_FROM,
        "case_id",
        "import_digest",
        SYNTHETIC,
        "activity",
        "lifecycle",
        "status",
        Opened.key("service_id"),
        Offered.key("offer_id"),
        Offered.key("intake"),
        Accepted.key("waited_seconds"),
        Accepted.key("bounce"),
        Resumed.key("paused_business_seconds"),
    }
)
# An imported request opens with events made up by the import (an "opened" and an intake offer,
# marked synthetic) when the log's first row is of another kind; the log's own attributes are on
# its first row, so that many first events are read.
FIRST_EVENTS = 3


def impact_band(customers: int) -> str:
    """Customers affected, in the bands that change how a request is handled."""
    if customers <= 0:
        return "none"
    if customers == 1:
        return "one"
    return "several" if customers < 10 else "many"


def source_attributes(payload: Any) -> tuple[Attribute, ...]:
    """A log's own attributes of an imported request (category, product, impact …), as the
    importer keeps them in the payload of the request's first event from the log; nothing for
    the desk's own requests, nor for an event the import made up.

    Ids of the other system (`source_…`) and the import's bookkeeping name no kind of request.
    """
    if not isinstance(payload, Mapping) or IMPORTED_FROM not in payload or payload.get(SYNTHETIC):
        return ()
    found: dict[str, str] = {}

    def add(name: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                add(f"{name}.{key}", inner)
        elif isinstance(value, str | int | float | bool) and str(value).strip():
            found[f"source {name}"] = str(value).strip()

    for key, value in payload.items():
        if key not in IMPORT_BOOKKEEPING and not str(key).startswith("source_"):
            add(str(key), value)
    return tuple(sorted(found.items()))


def resolved_examples(
    session: Session, limit: int | None = INDEX_LIMIT, confidential: bool = False
) -> list[ResolvedExample]:
    """Resolved requests, oldest opened first: their text and attributes, the team that resolved
    each and its owner then, and the teams it passed on.

    A team passed a request on if it declined an offer of it, or the request left that team for
    another before being resolved. Confidential requests are left out unless asked for:
    suggestions are shown to anyone raising a request.
    """
    home = home_teams()
    query = (
        select(
            Request.id,
            Request.title,
            Request.need,
            Request.team_id,
            Request.owner_id,
            Request.priority,
            Request.impact_customers,
            Request.service_id,
            home.c.team_id.label("requester_team"),
        )
        .outerjoin(home, home.c.person_id == Request.requester_id)
        .where(Request.resolved_at.is_not(None))
        .order_by(Request.opened_at.desc(), Request.id.desc())
    )
    if not confidential:
        query = query.where(Request.confidential.is_(False))
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    ids = [row.id for row in rows]
    passed: dict[int, set[int]] = defaultdict(set)
    source: dict[int, tuple[Attribute, ...]] = {}
    for chunk in range(0, len(ids), 2000):
        part = ids[chunk : chunk + 2000]
        for request_id, team_id in session.execute(
            select(Offer.request_id, Offer.to_team_id).where(
                Offer.request_id.in_(part), Offer.state == "declined"
            )
        ):
            passed[request_id].add(team_id)
        for request_id, team_id in session.execute(
            select(PathStep.request_id, PathStep.team_id).where(PathStep.request_id.in_(part))
        ):
            passed[request_id].add(team_id)
        first = (
            select(
                Event.request_id,
                Event.payload,
                func.row_number()
                .over(partition_by=Event.request_id, order_by=(Event.at, Event.id))
                .label("n"),
            )
            .where(Event.request_id.in_(part))
            .subquery()
        )
        for request_id, payload in session.execute(
            select(first.c.request_id, first.c.payload)
            .where(first.c.n <= FIRST_EVENTS)
            .order_by(first.c.request_id, first.c.n)
        ):
            if request_id not in source:
                found = source_attributes(payload)
                if found:
                    source[request_id] = found
    return [
        ResolvedExample(
            text=f"{row.title} {row.need}",
            team_id=row.team_id,
            resolver_id=row.owner_id,
            passed_on_by=tuple(sorted(passed[row.id] - {row.team_id})),
            attributes=desk_attributes(row.priority, row.impact_customers, row.requester_team)
            + ((("service", str(row.service_id)),) if row.service_id is not None else ())
            + source.get(row.id, ()),
            service_id=row.service_id,
        )
        for row in reversed(rows)
    ]


def desk_attributes(
    priority: str, impact_customers: int, requester_team_id: int | None
) -> tuple[Attribute, ...]:
    """The attributes a request has on the desk as it is raised (see RAISE_TIME_ATTRIBUTES)."""
    found: list[Attribute] = [("priority", priority), ("impact", impact_band(impact_customers))]
    if requester_team_id is not None:
        found.append(("requester team", str(requester_team_id)))
    return tuple(found)


def request_to_route(
    actor: Actor, text: str, priority: str = "normal", impact_customers: int = 0
) -> RequestToRoute:
    """A request `actor` is raising, as the routing model sees it: the requester's team is
    their home team (the lowest-numbered team they belong to or lead, as in Insight)."""
    teams = actor.team_ids | actor.lead_of
    return RequestToRoute(
        text, desk_attributes(priority, impact_customers, min(teams) if teams else None)
    )


# --- the verdict and the model, learnt once per process ---------------------------------------


@dataclass(frozen=True)
class _Learnt:
    history: tuple[int, int, str]
    learnt_at: float
    verdict: RoutingVerdict
    busiest_team_name: str | None
    model: TeamModel | None
    # The same, naming catalog services: learnt from the resolved requests that had one, and
    # shown only when it too beats always naming the busiest service.
    service_verdict: RoutingVerdict
    service_model: TeamModel | None


_learnt: dict[str, _Learnt] = {}
_learning: dict[str, threading.Lock] = defaultdict(threading.Lock)
_guard = threading.Lock()


def forget_learnt() -> None:
    """Drop what this process learnt (tests that rebuild a database under the same URL)."""
    with _guard:
        _learnt.clear()


def _history_key(session: Session) -> tuple[int, int, str]:
    """What changes when a request is resolved (or a database is rebuilt under the same URL)."""
    count, newest, latest = session.execute(
        select(func.count(), func.max(Request.id), func.max(Request.resolved_at)).where(
            Request.resolved_at.is_not(None), Request.confidential.is_(False)
        )
    ).one()
    return int(count), int(newest or 0), str(latest)


def _team_name(session: Session, team_id: int | None) -> str | None:
    if team_id is None:
        return None
    return session.scalar(select(Team.name).where(Team.id == team_id))


def _learn(session: Session, history: tuple[int, int, str]) -> _Learnt:
    examples = resolved_examples(session)
    train, test = time_ordered_split(examples, TEST_SHARE)
    baseline, busiest = baseline_accuracy(train, test)
    verdict = routing_verdict(model_accuracy(train, test, RAISE_TIME), baseline, busiest)
    with_service = [e for e in examples if e.service_id is not None]
    train, test = time_ordered_split(with_service, TEST_SHARE)
    baseline, busiest_service = baseline_accuracy(train, test, by_service)
    service_verdict = routing_verdict(
        model_accuracy(train, test, RAISE_TIME, by_service), baseline, busiest_service
    )
    return _Learnt(
        history,
        time.monotonic(),
        verdict,
        _team_name(session, busiest),
        TeamModel(examples, RAISE_TIME) if verdict.on else None,
        service_verdict,
        TeamModel(with_service, RAISE_TIME, by_service) if service_verdict.on else None,
    )


def _current(session: Session) -> _Learnt:
    """What this process learnt from the database's resolved history, learnt again if stale."""
    url = str(session.get_bind().engine.url)
    with _guard:
        known = _learnt.get(url)
        lock = _learning[url]
    if (
        known is not None
        and known.history[0] >= LARGE_HISTORY
        and time.monotonic() - known.learnt_at < REFRESH_SECONDS
    ):
        # Fresh enough without asking: reading the history's key counts every resolved request
        # (300 ms of CPU at a million, on every request page); a history this large was not
        # going to be learnt again before REFRESH_SECONDS anyway.
        return known
    history = _history_key(session)
    if known is not None and known.history == history:
        return known
    if known is not None and not lock.acquire(blocking=False):
        return known  # another thread is learning; answer from what was learnt before
    if known is None:
        lock.acquire()
    try:
        with _guard:
            latest = _learnt.get(url)
        if latest is not None and latest is not known and latest.history == history:
            return latest  # learnt by the thread this one waited for
        learnt = _learn(session, history)
        with _guard:
            _learnt[url] = learnt
        return learnt
    finally:
        lock.release()


def verdict_text(verdict: RoutingVerdict, busiest_team: str | None) -> str:
    """The verdict in the words shown beside the suggestions (or instead of them)."""
    right, baseline = f"{verdict.right:.0%}", f"{verdict.baseline_right:.0%}"
    last = f"on the last {verdict.evaluated} resolved requests"
    if verdict.why == "no history":
        return (
            "Suggestions are off: too few resolved requests yet to check them against always "
            "choosing the busiest team."
        )
    if verdict.why == "not better":
        return (
            f"Suggestions are off: {last} they were right {right} of the time, "
            f"always choosing {busiest_team} was right {baseline}."
        )
    if verdict.why == "not sure":
        return (
            f"Suggestions are off: {last} they were right {right} of the time and always "
            f"choosing {busiest_team} {baseline}, too few requests to tell that from luck."
        )
    return (
        f"Suggestions were right {right} of the time {last}; "
        f"always choosing {busiest_team} was right {baseline}."
    )


@dataclass(frozen=True)
class SuggestedPerson:
    person_id: int
    name: str
    share: float


@dataclass(frozen=True)
class TeamSuggestion:
    """A team to send the request to, how strongly, and who there resolved similar ones."""

    team_id: int
    team_name: str
    score: float
    similar_requests: int
    people: tuple[SuggestedPerson, ...]


@dataclass(frozen=True)
class ServiceSuggestion:
    """A catalog service that fits the request, how strongly, and the team that gives it."""

    service_id: int
    service_name: str
    team_id: int
    team_name: str
    score: float
    similar_requests: int


@dataclass(frozen=True)
class RoutingAnswer:
    """The suggested teams, or none and why; and the hold-out figures either way (top-1 on the
    newest resolved requests, against always choosing the busiest team)."""

    on: bool
    reason: str
    evaluated: int
    right: float
    busiest_team_right: float
    busiest_team_id: int | None
    busiest_team_name: str | None
    teams: tuple[TeamSuggestion, ...]
    services: tuple[ServiceSuggestion, ...] = ()


def routing_answer(session: Session, request: RequestToRoute, limit: int = 3) -> RoutingAnswer:
    """The teams most likely to resolve `request`, best first — none when suggesting did not
    beat always choosing the busiest team on the newest resolved requests, or the text is blank;
    and, the same way, the catalog services that fit it (the service says the team)."""
    learnt = _current(session)
    verdict = learnt.verdict
    teams: tuple[TeamSuggestion, ...] = ()
    services: tuple[ServiceSuggestion, ...] = ()
    if learnt.model is not None and request.text.strip():
        teams = _named(session, suggest(learnt.model, request, limit))
    if learnt.service_model is not None and request.text.strip():
        services = _services(session, suggest_services(learnt.service_model, request, limit))
    return RoutingAnswer(
        on=verdict.on,
        reason=verdict_text(verdict, learnt.busiest_team_name),
        evaluated=verdict.evaluated,
        right=round(verdict.right, 3),
        busiest_team_right=round(verdict.baseline_right, 3),
        busiest_team_id=verdict.baseline_team_id,
        busiest_team_name=learnt.busiest_team_name,
        teams=teams,
        services=services,
    )


def _services(session: Session, ranked: Sequence[Any]) -> tuple[ServiceSuggestion, ...]:
    """Named, and only services still offered (a service may have been retired since)."""
    ids = [s.service_id for s in ranked]
    rows = {
        row.id: row
        for row in session.execute(
            select(Service.id, Service.name, Team.id.label("team_id"), Team.name.label("team"))
            .join(Team, Team.id == Service.team_id)
            .where(Service.id.in_(ids), Service.active.is_(True))
        )
    }
    return tuple(
        ServiceSuggestion(
            service_id=s.service_id,
            service_name=str(rows[s.service_id].name),
            team_id=int(rows[s.service_id].team_id),
            team_name=str(rows[s.service_id].team),
            score=round(s.score, 3),
            similar_requests=s.similar,
        )
        for s in ranked
        if s.service_id in rows
    )


def _named(session: Session, ranked: Sequence[Any]) -> tuple[TeamSuggestion, ...]:
    team_ids = [t.team_id for t in ranked]
    person_ids = [p.person_id for t in ranked for p in t.people]
    teams = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())
    people = dict(
        session.execute(select(Person.id, Person.name).where(Person.id.in_(person_ids))).all()
    )
    return tuple(
        TeamSuggestion(
            team_id=t.team_id,
            team_name=str(teams[t.team_id]),
            score=round(t.score, 3),
            similar_requests=t.similar,
            people=tuple(
                SuggestedPerson(p.person_id, str(people[p.person_id]), round(p.score, 3))
                for p in t.people
                if p.person_id in people
            ),
        )
        for t in ranked
        if t.team_id in teams
    )


# --- the evaluation `insight routing-eval` prints -------------------------------------------


@dataclass(frozen=True)
class RoutingEvaluation:
    """Every way of ranking teams scored on the same hold-out, the baseline first, and the
    verdict on the one suggestions use."""

    results: tuple[RoutingAccuracy, ...]
    verdict: RoutingVerdict
    reason: str
    learnt_from: int


def routing_accuracy(
    session: Session, test_share: float = TEST_SHARE, embeddings: bool | None = None
) -> RoutingEvaluation:
    """Top-1/top-3 on the newest `test_share` of resolved requests (by opening), learnt from the
    older rest: the baseline, the model on what a new request has (which decides whether
    suggestions are on), the model on every attribute, and the text neighbours.

    Embeddings are measured too when installed (or when `embeddings` is True).
    """
    examples = resolved_examples(session, limit=None, confidential=True)
    train, test = time_ordered_split(examples, test_share)
    baseline, busiest = baseline_accuracy(train, test)
    suggested = model_accuracy(train, test, RAISE_TIME)
    results = [baseline, suggested, model_accuracy(train, test, EVERYTHING)]
    methods: list[tuple[str, Callable[[Sequence[ResolvedExample]], TextIndex]]] = [
        ("text neighbours (TF-IDF, transfer re-ranking)", tfidf_index)
    ]
    if embeddings if embeddings is not None else embeddings_available():
        methods.append(("text neighbours (sentence embeddings, all-MiniLM-L6-v2)", embedding_index))
    for name, index_of in methods:
        results.append(held_out_accuracy(train, test, index_of, name))
    verdict = routing_verdict(suggested, baseline, busiest)
    return RoutingEvaluation(
        tuple(results), verdict, verdict_text(verdict, _team_name(session, busiest)), len(train)
    )
